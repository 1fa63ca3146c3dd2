"""Opening a semester in the store: create it, and carry every plan marked "continue" over as a
draft (a grade up in a new school year) that the school submits again."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpurs.config import Config
from pumpurs.semester import SemesterCode
from pumpurs.store import lifecycle
from pumpurs.store.models import Plan, PlanMeasure, PlanRevision, PlanRisk, PlanStatus, Semester
from pumpurs.store.reference import StoredSemester, ensure_semester, find_semester


@dataclass(frozen=True)
class Opened:
    semester: StoredSemester
    semester_created: bool
    plans_carried: int


def open_records(session: Session, config: Config, code: SemesterCode) -> Opened:
    """Create the semester and a draft plan for every pupil whose plan was marked "continue"."""
    semester, created = ensure_semester(session, config, code)
    previous = find_semester(session, code.previous())
    if previous is None:
        return Opened(StoredSemester.of(semester, code), created, 0)
    already = set(session.scalars(select(Plan.pupil_id).where(Plan.semester_id == semester.id)))
    carried = 0
    continuing = session.scalars(
        select(Plan).where(Plan.semester_id == previous.id, Plan.status == PlanStatus.CONTINUED)
    )
    for old in continuing:
        if old.pupil_id in already:
            continue
        session.add(_draft_from(old, semester, config, new_school_year=code.term == 1))
        carried += 1
    session.flush()
    return Opened(StoredSemester.of(semester, code), created, carried)


def _draft_from(old: Plan, semester: Semester, config: Config, new_school_year: bool) -> Plan:
    source = old.revisions[-1]
    grade = min(source.grade + 1, config.programme.grade_max) if new_school_year else source.grade
    plan = Plan(
        semester_id=semester.id,
        school_id=old.school_id,
        pupil_id=old.pupil_id,
        revision=1,
        continued_from_id=old.id,
    )
    lifecycle.move(plan, PlanStatus.DRAFT)
    plan.revisions.append(
        PlanRevision(
            number=1,
            grade=grade,
            goal=source.goal,
            risks=[PlanRisk(category=r.category) for r in source.risks],
            measures=[
                PlanMeasure(
                    measure=m.measure,
                    subject=m.subject,
                    provider_ref=m.provider_ref,
                    hours_per_month=m.hours_per_month,
                    eur_per_month=m.eur_per_month,
                )
                for m in source.measures
            ],
        )
    )
    return plan
