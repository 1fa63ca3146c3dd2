"""Texts people read: the message catalogue, number and date formats, and templates."""
