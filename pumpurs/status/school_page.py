"""What a school's own page shows: its plans with their status, and the files it uploaded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpurs.i18n.catalogue import N_, texts
from pumpurs.store.models import Decision, Plan, PlanStatus, Pupil, School, SchoolLink, SchoolUpload

STATUS_NAMES = {
    PlanStatus.DRAFT: N_("continues, awaiting your file"),
    PlanStatus.SUBMITTED: N_("submitted"),
    PlanStatus.APPROVED: N_("approved"),
    PlanStatus.RETURNED: N_("returned for revision"),
    PlanStatus.EVALUATED: N_("evaluated"),
    PlanStatus.CONTINUED: N_("evaluated, continues"),
    PlanStatus.CLOSED: N_("evaluated, closed"),
}
OUTCOME_NAMES = {
    "kept": N_("received"),
    "duplicate": N_("received already"),
    "too_large": N_("refused: too large"),
    "zip_bomb": N_("refused: not a table"),
    "wrong_type": N_("refused: not XLSX or CSV"),
    "empty": N_("refused: empty"),
    "unreadable": N_("refused: cannot be read"),
    "late": N_("refused: after the deadline"),
    "evaluation_not_open": N_("refused: evaluation not open yet"),
}


@dataclass(frozen=True)
class PlanLine:
    plan_id: int
    pupil_ref: str
    revision: int
    status: str  # the PlanStatus value
    status_name: str
    reason: str | None  # the approver's reason of a returned plan


@dataclass(frozen=True)
class UploadLine:
    id: int
    at: dt.datetime
    kind: str
    name: str
    outcome: str
    outcome_name: str
    late: bool
    rows_read: int
    rows_rejected: int


def school_plans(
    session: Session, semester_id: int, school_code: str, language: str
) -> list[PlanLine]:
    """Return the school's plans of the semester with their status (a returned one with the
    reason), by pupil reference."""
    t = texts(language)
    rows = session.execute(
        select(Plan.id, Pupil.ref, Plan.revision, Plan.status)
        .join(School, School.id == Plan.school_id)
        .join(Pupil, Pupil.id == Plan.pupil_id)
        .where(Plan.semester_id == semester_id, School.code == school_code)
        .order_by(Pupil.ref)
    ).all()
    returned = [plan_id for plan_id, _, _, status in rows if status == PlanStatus.RETURNED]
    reasons: dict[int, str | None] = {}
    if returned:
        for plan_id, reason in session.execute(
            select(Decision.plan_id, Decision.reason)
            .where(Decision.plan_id.in_(returned), Decision.outcome == "returned")
            .order_by(Decision.decided_at, Decision.id)
        ).tuples():
            reasons[plan_id] = reason  # the latest wins
    return [
        PlanLine(
            plan_id,
            ref,
            revision,
            status,
            t.gettext(STATUS_NAMES[PlanStatus(status)]),
            reasons.get(plan_id),
        )
        for plan_id, ref, revision, status in rows
    ]


def school_uploads(
    session: Session, school_code: str, semester_code: str, language: str
) -> list[UploadLine]:
    """Return the files the school uploaded for the semester (through any of its links),
    newest first."""
    t = texts(language)
    rows = session.execute(
        select(SchoolUpload)
        .join(SchoolLink, SchoolLink.id == SchoolUpload.link_id)
        .where(SchoolLink.school_code == school_code, SchoolLink.semester_code == semester_code)
        .order_by(SchoolUpload.at.desc(), SchoolUpload.id.desc())
    ).scalars()
    return [
        UploadLine(
            u.id,
            u.at,
            u.kind,
            u.original_name,
            u.outcome,
            t.gettext(OUTCOME_NAMES.get(u.outcome, N_("refused"))),
            u.late,
            u.rows_read,
            u.rows_rejected,
        )
        for u in rows
    ]


def upload_of(
    session: Session, upload_id: int, link_school: str, semester_code: str
) -> SchoolUpload | None:
    """Return one upload of the school for the semester, or None (another school's, or none)."""
    return session.scalars(
        select(SchoolUpload)
        .join(SchoolLink, SchoolLink.id == SchoolUpload.link_id)
        .where(
            SchoolUpload.id == upload_id,
            SchoolLink.school_code == link_school,
            SchoolLink.semester_code == semester_code,
        )
    ).one_or_none()
