"""The semester invitation: one email per school with its pre-filled plan template (XLSX)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpurs.config import Config
from pumpurs.i18n.templates import render_email
from pumpurs.mail.outbox import Attachment, Outgoing, queue_many, queued_keys
from pumpurs.opening.links import school_page_urls
from pumpurs.opening.template import build_plan_template, template_filename
from pumpurs.settings import Settings
from pumpurs.store.models import Plan, PlanStatus, Pupil, School
from pumpurs.store.plans import current_rows
from pumpurs.store.reference import StoredSemester

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTINUING_COLUMNS = [
    "school_code",
    "pupil_ref",
    "grade",
    "risk_categories",
    "goal",
    "measure",
    "subject",
    "provider_ref",
    "hours_per_month",
    "eur_per_month",
]


def continuing_rows(session: Session, semester_id: int) -> pd.DataFrame:
    """Return the draft plans of a semester as template rows, one per measure."""
    drafts = pd.DataFrame(
        session.execute(
            select(
                Plan.id.label("plan_id"),
                School.code.label("school_code"),
                Pupil.ref.label("pupil_ref"),
            )
            .join(School, School.id == Plan.school_id)
            .join(Pupil, Pupil.id == Plan.pupil_id)
            .where(Plan.semester_id == semester_id, Plan.status == PlanStatus.DRAFT)
        ).all(),
        columns=["plan_id", "school_code", "pupil_ref"],
    )
    if drafts.empty:
        return pd.DataFrame(columns=CONTINUING_COLUMNS)
    rows = current_rows(session, drafts["plan_id"].tolist()).merge(drafts, on="plan_id")
    return rows.sort_values(["school_code", "pupil_ref"], kind="stable")[CONTINUING_COLUMNS]


def school_template_rows(session: Session, semester_id: int, school_code: str) -> pd.DataFrame:
    """Return the template rows of one school's page: its continuing pupils (draft plans) and
    its returned plans as they stand now, one row per measure."""
    plans = pd.DataFrame(
        session.execute(
            select(
                Plan.id.label("plan_id"),
                School.code.label("school_code"),
                Pupil.ref.label("pupil_ref"),
            )
            .join(School, School.id == Plan.school_id)
            .join(Pupil, Pupil.id == Plan.pupil_id)
            .where(
                Plan.semester_id == semester_id,
                School.code == school_code,
                Plan.status.in_([PlanStatus.DRAFT, PlanStatus.RETURNED]),
            )
        ).all(),
        columns=["plan_id", "school_code", "pupil_ref"],
    )
    if plans.empty:
        return pd.DataFrame(columns=CONTINUING_COLUMNS)
    rows = current_rows(session, plans["plan_id"].tolist()).merge(plans, on="plan_id")
    return rows.sort_values(["pupil_ref"], kind="stable")[CONTINUING_COLUMNS]


def queue_invitations(
    session: Session, config: Config, settings: Settings, semester: StoredSemester
) -> int:
    """Queue one invitation per participating school; return how many were new."""
    code = semester.code
    language = str(settings.language)
    continuing = continuing_rows(session, semester.id)
    by_school = dict(tuple(continuing.groupby("school_code"))) if not continuing.empty else {}
    keys = {school.code: f"invitation:{code.code}:{school.code}" for school in config.schools}
    sent = queued_keys(session, list(keys.values()))  # a re-run builds no workbook again
    outgoing: list[Outgoing] = []
    waiting = [school.code for school in config.schools if keys[school.code] not in sent]
    pages = school_page_urls(session, settings, semester, waiting)
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
            page_url=pages[school.code],
            shared_folder=settings.schools_shared_folder,
            continuing=int(rows["pupil_ref"].nunique()),
        )
        workbook = build_plan_template(
            config, school.code, code, rows, language, semester.submission_deadline
        )
        outgoing.append(
            Outgoing(
                key,
                "invitation",
                school.coordinator.email,
                email,
                [Attachment(filename, XLSX, workbook)],
            )
        )
    return len(queue_many(session, outgoing))
