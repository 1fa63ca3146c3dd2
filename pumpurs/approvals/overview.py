"""Figures for the route-approvals dashboard: what waits, for how long, and what was decided."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpurs.approvals.due import days_since, pending_steps
from pumpurs.clock import RIGA
from pumpurs.store.models import Decision, Municipality, Plan, Region, School

AGE_BANDS = [(0, 2, "0–2"), (3, 6, "3–6"), (7, 13, "7–13"), (14, None, "14+")]


def age_band(days: int) -> str:
    """Return the age band label of a number of days pending."""
    for low, high, label in AGE_BANDS:
        if days >= low and (high is None or days <= high):
            return label
    return AGE_BANDS[0][2]


def pending_tables(
    session: Session, semester_id: int, today: dt.date
) -> dict[str, list[dict[str, Any]]]:
    """Return pending plans per region and per age band (days since the step was created)."""
    steps = pending_steps(session, semester_id)
    ages = days_since(steps["created_at"], today).fillna(0).astype(int)
    steps = steps.assign(age_days=ages, band=[age_band(int(days)) for days in ages])
    by_region = (
        steps.groupby("region_name")
        .agg(pending=("step_id", "size"), oldest_days=("age_days", "max"))
        .reset_index()
        .rename(columns={"region_name": "region"})
    )
    bands = steps["band"].value_counts()
    return {
        "pending-by-region": [
            {
                "region": str(r["region"]),
                "pending": int(r["pending"]),
                "oldest_days": int(r["oldest_days"]),
            }
            for r in by_region.to_dict("records")
        ],
        "pending-by-age": [
            {"days": label, "pending": int(bands.get(label, 0))} for _, _, label in AGE_BANDS
        ],
    }


def decided_on(session: Session, semester_id: int, day: dt.date) -> list[dict[str, Any]]:
    """Return the decisions taken on `day` (in Latvia) on the semester's plans."""
    start = dt.datetime.combine(day, dt.time(), RIGA).astimezone(dt.UTC)
    rows = session.execute(
        select(
            Decision.decided_at,
            Region.name,
            School.code,
            Decision.plan_id,
            Decision.revision,
            Decision.outcome,
            Decision.approver_email,
        )
        .join(Plan, Plan.id == Decision.plan_id)
        .join(School, School.id == Plan.school_id)
        .join(Municipality, Municipality.id == School.municipality_id)
        .join(Region, Region.id == Municipality.region_id)
        .where(
            Plan.semester_id == semester_id,
            Decision.decided_at >= start,
            Decision.decided_at < start + dt.timedelta(days=1),
        )
        .order_by(Decision.decided_at)
    ).all()
    return [
        {
            "at": decided_at.astimezone(RIGA).strftime("%H:%M"),
            "region": region,
            "school": school,
            "plan": plan_id,
            "revision": revision,
            "outcome": outcome,
            "approver": approver,
        }
        for decided_at, region, school, plan_id, revision, outcome, approver in rows
    ]
