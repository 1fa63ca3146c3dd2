"""Intake of school files: read plan and evaluation files and validate their rows (pure).

`read_file`/`read_bytes` turn a file into a frame of text cells keyed by spreadsheet row number,
or name the file's problem; `validate_plans`/`validate_evaluations` check a whole batch of such
frames at once and split it into accepted rows and rejections with messages for the school.
"""

from __future__ import annotations

from pumpurs.intake.outcome import REJECTION_COLUMNS, Validation, row_accounting
from pumpurs.intake.read import ReadResult, read_bytes, read_file
from pumpurs.intake.validate_evaluations import ACCEPTED_EVALUATION_COLUMNS, validate_evaluations
from pumpurs.intake.validate_plans import ACCEPTED_PLAN_COLUMNS, validate_plans

__all__ = [
    "ACCEPTED_EVALUATION_COLUMNS",
    "ACCEPTED_PLAN_COLUMNS",
    "REJECTION_COLUMNS",
    "ReadResult",
    "Validation",
    "read_bytes",
    "read_file",
    "row_accounting",
    "validate_evaluations",
    "validate_plans",
]
