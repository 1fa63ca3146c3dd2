"""The semester's live view: where it stands in time, which schools have sent what, the plans
waiting for a decision, how far the evaluation is, and the figures a manager asks first.

Plain functions over a Session, computed from the store whenever asked (a flow publishes them
as the Prefect UI's artifacts; `pumpurs status` prints them). It reads every phase, so it sits
after the last one.
"""

from __future__ import annotations

from pumpurs.status.headline import counts, headline, headline_markdown, headline_title
from pumpurs.status.tables import PARTS, Table, status_tables
from pumpurs.status.timeline import Stage, Upcoming
from pumpurs.status.view import SemesterStatus, semester_status

__all__ = [
    "PARTS",
    "SemesterStatus",
    "Stage",
    "Table",
    "Upcoming",
    "counts",
    "headline",
    "headline_markdown",
    "headline_title",
    "semester_status",
    "status_tables",
]
