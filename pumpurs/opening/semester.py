"""Opening a semester: create it, carry the continuing plans over, queue the invitations."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpurs.config import Config
from pumpurs.i18n.templates import render_email
from pumpurs.intake.plans import current_rows
from pumpurs.mail.outbox import Attachment, Outgoing, queue_many, queued_keys
from pumpurs.opening.template import build_plan_template, template_filename
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store import lifecycle
from pumpurs.store.models import (
    Plan,
    PlanMeasure,
    PlanRevision,
    PlanRisk,
    PlanStatus,
    Pupil,
    School,
    Semester,
)
from pumpurs.store.reference import ensure_semester, find_semester

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTINUING_COLUMNS = [
    "school_code", "pupil_ref", "grade", "risk_categories", "goal",
    "measure", "subject", "provider_ref", "hours_per_month", "eur_per_month",
]  # fmt: skip


@dataclass(frozen=True)
class Opened:
    semester_created: bool
    plans_carried: int


def open_records(session: Session, config: Config, code: SemesterCode) -> Opened:
    """Create the semester and a draft plan for every pupil whose plan was marked "continue"."""
    semester, created = ensure_semester(session, config, code)
    previous = find_semester(session, code.previous())
    if previous is None:
        return Opened(created, 0)
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
    return Opened(created, carried)


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


def continuing_rows(session: Session, semester_id: int) -> pd.DataFrame:
    """Return the draft plans of a semester as template rows, one per measure."""
    drafts = pd.DataFrame(
        session.execute(
            select(Plan.id.label("plan_id"), School.code.label("school_code"),
                   Pupil.ref.label("pupil_ref"))
            .join(School, School.id == Plan.school_id)
            .join(Pupil, Pupil.id == Plan.pupil_id)
            .where(Plan.semester_id == semester_id, Plan.status == PlanStatus.DRAFT)
        ).all(),
        columns=["plan_id", "school_code", "pupil_ref"],
    )  # fmt: skip
    if drafts.empty:
        return pd.DataFrame(columns=CONTINUING_COLUMNS)
    rows = current_rows(session, drafts["plan_id"].tolist()).merge(drafts, on="plan_id")
    return rows.sort_values(["school_code", "pupil_ref"], kind="stable")[CONTINUING_COLUMNS]


def queue_invitations(
    session: Session, config: Config, settings: Settings, code: SemesterCode
) -> int:
    """Queue one invitation per participating school; return how many were new."""
    semester = find_semester(session, code)
    assert semester is not None, "open_records creates the semester first"
    language = str(settings.language)
    continuing = continuing_rows(session, semester.id)
    by_school = dict(tuple(continuing.groupby("school_code"))) if not continuing.empty else {}
    keys = {school.code: f"invitation:{code.code}:{school.code}" for school in config.schools}
    sent = queued_keys(session, list(keys.values()))  # a re-run builds no workbook again
    outgoing: list[Outgoing] = []
    for school in config.schools:
        key = keys[school.code]
        if key in sent:
            continue
        rows = by_school.get(school.code, continuing.iloc[0:0])
        filename = template_filename(school.code, code, language)
        email = render_email(
            "invitation",
            language,
            school=school,
            semester=semester,
            template_name=filename,
            cap=config.programme.monthly_cap_eur,
            max_hours=config.programme.max_hours_per_month,
            inbox_path=f"{code.folder}/{school.code}/plans/",
            continuing=int(rows["pupil_ref"].nunique()),
        )
        workbook = build_plan_template(
            config, school.code, code, rows, language, semester.submission_deadline
        )
        outgoing.append(
            Outgoing(
                key, "invitation", school.coordinator.email, email,
                [Attachment(filename, XLSX, workbook)],
            )
        )  # fmt: skip
    return len(queue_many(session, outgoing))
