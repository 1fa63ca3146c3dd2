"""Evaluating a semester: match evaluation rows to plans, fulfilment, storing, reminders."""
