"""Approved plans built straight in the store, and evaluation files written into the inbox."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select

from pumpurs.semester import SemesterCode
from pumpurs.store import lifecycle
from pumpurs.store.context import Context
from pumpurs.store.models import (
    Plan,
    PlanMeasure,
    PlanRevision,
    PlanRisk,
    PlanStatus,
    Pupil,
    School,
)
from pumpurs.store.reference import ensure_semester

SEMESTER = SemesterCode.parse("2026/2027-1")  # 1 September–22 December 2026: 4 months
SCHOOL = "LV-LIE-006"
RAINA = "iaps@raina6.liepaja.example"  # its coordinator
HEADER = "school_code;pupil_ref;measure;subject;delivered_hours;spent_eur;outcome;continue;comment"


def hours(
    measure: str, per_month: float, subject: str | None = None, provider: str = "T-1"
) -> PlanMeasure:
    """Return an hour-based measure of a plan."""
    return PlanMeasure(
        measure=measure, subject=subject, provider_ref=provider, hours_per_month=per_month
    )


def eur(measure: str, per_month: float) -> PlanMeasure:
    """Return a compensation (EUR-based) measure of a plan."""
    return PlanMeasure(measure=measure, eur_per_month=per_month)


def store_plan(
    ctx: Context,
    ref: str,
    measures: Sequence[PlanMeasure],
    *,
    school: str = SCHOOL,
    status: PlanStatus = PlanStatus.APPROVED,
    risks: Sequence[str] = ("learning",),
    semester: SemesterCode = SEMESTER,
) -> int:
    """Store a plan (revision 1) moved through the lifecycle to `status`; return its id."""
    with ctx.sessions.begin() as session:
        found, _ = ensure_semester(session, ctx.config, semester)
        school_id = session.scalars(select(School.id).where(School.code == school)).one()
        pupil = Pupil(school_id=school_id, ref=ref)
        session.add(pupil)
        session.flush()
        plan = Plan(semester_id=found.id, school_id=school_id, pupil_id=pupil.id, revision=1)
        lifecycle.move(plan, PlanStatus.SUBMITTED)
        if status != PlanStatus.SUBMITTED:
            lifecycle.move(plan, status)
        plan.revisions.append(
            PlanRevision(
                number=1,
                grade=7,
                goal="Uzlabot sekmes",
                risks=[PlanRisk(category=c) for c in risks],
                measures=list(measures),
            )
        )
        session.add(plan)
        session.flush()
        return plan.id


def put_evaluation(
    ctx: Context,
    name: str,
    *rows: str,
    school: str = SCHOOL,
    semester: SemesterCode = SEMESTER,
) -> Path:
    """Write an evaluation CSV (rows after the header) into the school's inbox folder."""
    folder = ctx.settings.effective_inbox_dir / semester.folder / school / "evaluation"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path
