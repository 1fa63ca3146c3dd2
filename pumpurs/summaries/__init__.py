"""Semester summaries: figures per unit, their content, charts, workbooks, and the emails."""
