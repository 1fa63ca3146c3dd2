"""Retention: pupil data is kept for the programme's period (`retention_years`), then erased;
the aggregate figures stay, and every erasure is in the audit log (never the erased values).

`erase` erases whole semesters past the period (the monthly `retention` flow); `pupil` answers
a school's or a parent's question about one pupil reference and erases it on request.
"""

from __future__ import annotations

from pumpurs.retention.erase import Erased, RetentionReport, apply_retention
from pumpurs.retention.period import DueSemester, due_semesters, kept_until
from pumpurs.retention.pupil import ErasedPupil, PupilReport, erase_pupil, pupil_report

__all__ = [
    "DueSemester",
    "Erased",
    "ErasedPupil",
    "PupilReport",
    "RetentionReport",
    "apply_retention",
    "due_semesters",
    "erase_pupil",
    "kept_until",
    "pupil_report",
]
