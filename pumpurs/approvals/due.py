"""Which pending steps are due for what: a first notice, a reminder, an escalation.

Ages are counted in calendar days in Latvia, so a daily run fires on the same day whatever
its minute.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpurs.store.frames import read_frame
from pumpurs.store.models import (
    ApprovalStep,
    Municipality,
    Plan,
    PlanStatus,
    Region,
    School,
    StepStatus,
)

STEP_COLUMNS = [
    "step_id", "plan_id", "revision", "step_index", "role", "approver_email",
    "created_at", "notified_at", "notified_to", "reminded_at", "escalated_at",
    "school_code", "school_name", "region_code", "region_name", "escalation_email",
]  # fmt: skip
RIGA_ZONE = "Europe/Riga"


def pending_steps(session: Session, semester_id: int) -> pd.DataFrame:
    """Return every pending step of the semester's submitted plans, with school and region."""
    query = (
        select(
            ApprovalStep.id.label("step_id"),
            ApprovalStep.plan_id,
            ApprovalStep.revision,
            ApprovalStep.step_index,
            ApprovalStep.role,
            ApprovalStep.approver_email,
            ApprovalStep.created_at,
            ApprovalStep.notified_at,
            ApprovalStep.notified_to,
            ApprovalStep.reminded_at,
            ApprovalStep.escalated_at,
            School.code.label("school_code"),
            School.name.label("school_name"),
            Region.code.label("region_code"),
            Region.name.label("region_name"),
            Region.escalation_email,
        )
        .join(Plan, (Plan.id == ApprovalStep.plan_id) & (Plan.revision == ApprovalStep.revision))
        .join(School, School.id == Plan.school_id)
        .join(Municipality, Municipality.id == School.municipality_id)
        .join(Region, Region.id == Municipality.region_id)
        .where(
            Plan.semester_id == semester_id,
            Plan.status == PlanStatus.SUBMITTED,
            ApprovalStep.status == StepStatus.PENDING,
        )
        .order_by(ApprovalStep.id)
    )
    return read_frame(session, query, STEP_COLUMNS)


def _riga_day(column: pd.Series) -> pd.Series:
    local = pd.to_datetime(column, utc=True).dt.tz_convert(RIGA_ZONE).dt.tz_localize(None)
    return local.dt.normalize()


def days_since(column: pd.Series, today: dt.date) -> pd.Series:
    """Return whole calendar days (in Latvia) from each moment to `today`; NaN where none."""
    days: pd.Series = (pd.Timestamp(today) - _riga_day(column)).dt.days
    return days


def classify(
    steps: pd.DataFrame, today: dt.date, reminder_days: int, escalation_days: int
) -> pd.DataFrame:
    """Add `age_days` and the flags `new`, `remind` and `escalate` to pending steps.

    New: the approver was never told. Remind: told at least `reminder_days` ago and not
    reminded within the last `reminder_days`. Escalate: waiting `escalation_days` or more
    since the step was created, told, and never escalated before.
    """
    out = steps.copy()
    age = days_since(out["created_at"], today)
    since_told = days_since(out["notified_at"], today)
    since_reminded = days_since(out["reminded_at"], today)
    out["age_days"] = age.fillna(0).astype(int)
    out["new"] = out["notified_at"].isna()
    out["remind"] = (
        ~out["new"]
        & (since_told >= reminder_days)
        & (out["reminded_at"].isna() | (since_reminded >= reminder_days))
    )
    out["escalate"] = ~out["new"] & (age >= escalation_days) & out["escalated_at"].isna()
    return out
