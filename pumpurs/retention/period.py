"""How long a semester's pupil data is kept: a pure rule over dates, and the semesters past it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpurs.semester import SemesterCode
from pumpurs.store.models import Semester


def kept_until(evaluation_deadline: dt.date, years: int) -> dt.date:
    """Return the last day a semester's pupil data is kept: 31 December of the year its
    evaluation deadline falls in, `years` years on (the ESF rule counts whole years from a 31
    December; the evaluation deadline is the semester's last use of the data)."""
    return dt.date(evaluation_deadline.year + years, 12, 31)


def views_kept_from(today: dt.date, years: int) -> dt.date:
    """Return the first day whose page views are still kept: views of the years whose
    semesters are erased (the same whole-year rule) go with them."""
    return dt.date(today.year - years, 1, 1)


@dataclass(frozen=True)
class DueSemester:
    """A semester whose pupil data is past its keeping period."""

    id: int
    code: SemesterCode
    kept_until: dt.date


def due_semesters(session: Session, today: dt.date, years: int) -> list[DueSemester]:
    """Return the semesters whose pupil data was kept until a day before `today`, oldest first."""
    rows = session.execute(
        select(Semester.id, Semester.code, Semester.evaluation_deadline).order_by(
            Semester.starts_on
        )
    ).all()
    return [
        DueSemester(int(sid), SemesterCode.parse(code), kept_until(deadline, years))
        for sid, code, deadline in rows
        if kept_until(deadline, years) < today
    ]
