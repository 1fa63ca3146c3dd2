"""Missing evaluations: approved plans of the semester that no accepted evaluation row covers.

They are listed per school in every run (for operations), and once the evaluation deadline
has passed each school gets one reminder naming its pupils, with a pre-filled evaluation file
attached. The reminder is keyed per school and semester, so it goes out once; the plans stay
approved, and a later run evaluates them as soon as their file arrives.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpurs.columns import EVALUATION_COLUMNS
from pumpurs.config import Config
from pumpurs.evaluation.plans import planned_measures, semester_plans
from pumpurs.i18n.catalogue import N_, texts
from pumpurs.i18n.templates import render_email
from pumpurs.mail.outbox import Attachment, Outgoing, queue_many
from pumpurs.opening.links import school_page_urls
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store.models import OutboxMessage, PlanStatus
from pumpurs.store.reference import StoredSemester

PUPILS_LISTED = 20
KIND = "evaluation_reminder"
REMINDER_STATES = {  # what became of a school's reminder, as the run's table says
    "sent": N_("sent"),
    "earlier": N_("sent earlier"),
    "not_due": N_("deadline not passed yet"),
}
# Translators: the start of a file name: ASCII letters and underscores only.
FILE_NAME = N_("evaluation")


@dataclass(frozen=True)
class MissingReport:
    plans_missing: int = 0
    schools_missing: int = 0
    reminders_queued: int = 0
    overdue: bool = False
    table: list[dict[str, Any]] = field(default_factory=list)


def reminder_key(code: SemesterCode, school_code: str) -> str:
    """Return the dedupe key of a school's one reminder for the semester."""
    return f"evaluation-reminder:{code.code}:{school_code}"


def remind_missing(
    session: Session,
    config: Config,
    language: str,
    semester: StoredSemester,
    today: dt.date,
    settings: Settings | None = None,
) -> MissingReport:
    """List the approved plans still without evaluation; remind their schools once overdue
    (with the link to each school's page when `settings` say where the pages are)."""
    code = semester.code
    plans = semester_plans(session, semester.id)
    missing = plans[plans["status"].eq(PlanStatus.APPROVED)].sort_values(
        ["school_code", "pupil_ref"]
    )
    report = MissingReport(plans_missing=len(missing), overdue=today > semester.evaluation_deadline)
    keys = [reminder_key(code, str(s)) for s in missing["school_code"].unique()]
    sent_before = set(
        session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys)))
    )
    outgoing: list[tuple[int, Outgoing]] = []  # (row of the table, its reminder)
    for school_code, group in missing.groupby("school_code", sort=True):
        key, school = reminder_key(code, str(school_code)), config.school(str(school_code))
        state = "not_due"
        if key in sent_before:
            state = "earlier"
        elif report.overdue and school is not None:
            refs = group["pupil_ref"].tolist()
            page = None
            if settings is not None:
                page = school_page_urls(session, settings, semester, [school.code])[school.code]
            email = render_email(
                KIND,
                language,
                school=school,
                semester=semester,
                pupils=refs,
                inbox_path=f"{code.folder}/{school_code}/evaluation/",
                page_url=page,
                shared_folder=bool(settings and settings.schools_shared_folder),
            )
            name = texts(language).gettext(FILE_NAME)
            template = Attachment(
                f"{name}_{school_code}_{code.folder}.csv",
                "text/csv",
                prefilled_csv(session, group, language),
            )
            outgoing.append(
                (
                    len(report.table),
                    Outgoing(key, KIND, school.coordinator.email, email, [template]),
                )
            )
            state = "sent"
        refs = group["pupil_ref"].tolist()
        shown = ", ".join(refs[:PUPILS_LISTED]) + (
            f" … (+{len(refs) - PUPILS_LISTED})" if len(refs) > PUPILS_LISTED else ""
        )
        report.table.append(
            {
                "school": school_code,
                "plans_missing": len(refs),
                "pupils": shown,
                "deadline": semester.evaluation_deadline.isoformat(),
                "reminder": texts(language).gettext(REMINDER_STATES[state]),
            }
        )
    queued = queue_many(session, [message for _, message in outgoing])
    for row, message in outgoing:
        if message.key not in queued:  # another run queued it meanwhile
            report.table[row]["reminder"] = texts(language).gettext(REMINDER_STATES["earlier"])
    reminded = sum(1 for _, message in outgoing if message.key in queued)
    return replace(report, schools_missing=len(report.table), reminders_queued=reminded)


def prefilled_csv(session: Session, plans: pd.DataFrame, language: str) -> bytes:
    """Return an evaluation file with these plans' measures filled in, amounts left empty."""
    measures = planned_measures(session, plans["plan_id"].astype(int).tolist())
    rows = measures.merge(plans[["plan_id", "school_code", "pupil_ref"]], on="plan_id")
    rows = rows.sort_values(["pupil_ref", "measure", "subject"], na_position="first")
    out = pd.DataFrame({c.key: "" for c in EVALUATION_COLUMNS}, index=rows.index)
    for key in ("school_code", "pupil_ref", "measure", "subject"):
        out[key] = rows[key].fillna("")
    out.columns = [c.lv if language == "lv" else c.en for c in EVALUATION_COLUMNS]
    buffer = io.StringIO()
    out.to_csv(buffer, sep=";", index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
