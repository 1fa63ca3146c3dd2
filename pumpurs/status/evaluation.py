"""How far the semester's evaluation is: per school, plans evaluated and plans still awaiting
their evaluation (approved, with no evaluation stored yet)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pumpurs.store.models import Plan, PlanStatus, School, Submission

EVALUATED = (PlanStatus.EVALUATED, PlanStatus.CONTINUED, PlanStatus.CLOSED)
EVALUATION = "evaluation"  # the kind of submission that carries evaluations


@dataclass(frozen=True)
class SchoolEvaluation:
    """One school's plans as the evaluation sees them."""

    code: str
    awaiting: int  # approved plans without an evaluation
    evaluated: int
    files: int  # evaluation files received, read or not

    @property
    def missing(self) -> bool:
        """Return whether some of the school's approved plans still lack their evaluation."""
        return self.awaiting > 0


def school_evaluations(session: Session, semester_id: int) -> dict[str, SchoolEvaluation]:
    """Return every school with approved or evaluated plans (or evaluation files), by code."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"awaiting": 0, "evaluated": 0})
    rows = session.execute(
        select(School.code, Plan.status, func.count())
        .join(Plan, Plan.school_id == School.id)
        .where(Plan.semester_id == semester_id, Plan.status.in_([PlanStatus.APPROVED, *EVALUATED]))
        .group_by(School.code, Plan.status)
    ).all()
    for code, status, count in rows:
        counts[code]["awaiting" if status == PlanStatus.APPROVED else "evaluated"] += int(count)
    files: dict[str, int] = {
        folder: int(count)
        for folder, count in session.execute(
            select(Submission.school_folder, func.count())
            .where(Submission.semester_id == semester_id, Submission.kind == EVALUATION)
            .group_by(Submission.school_folder)
        ).all()
    }
    return {
        code: SchoolEvaluation(
            code, counts[code]["awaiting"], counts[code]["evaluated"], int(files.get(code, 0))
        )
        for code in sorted({*counts, *files})
    }
