"""Plans waiting for a decision now: per approver (and so per region), how long, and how many
are past the reminder and the escalation days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pumpurs.approvals.due import days_since, pending_steps
from pumpurs.config import Config
from pumpurs.store.models import Plan, PlanStatus


@dataclass(frozen=True)
class Waiting:
    """The plans one approver has to decide, in one region."""

    region: str
    approver: str  # the name, where the configuration gives one; else the address
    approver_email: str
    role: str
    waiting: int
    oldest_days: int  # since the step was created (calendar days in Latvia)
    past_reminder: int  # waiting `reminder_days` or more
    past_escalation: int  # waiting `escalation_days` or more


def people(config: Config) -> dict[str, str]:
    """Return every configured person's name by their address (lowercase)."""
    found: dict[str, str] = {}
    for region in config.regions:
        for person in (region.coordinator, region.escalation):
            found[str(person.email).lower()] = person.name
        for municipality in region.municipalities:
            if municipality.coordinator:
                found[str(municipality.coordinator.email).lower()] = municipality.coordinator.name
    for school in config.schools:
        if school.director:
            found[str(school.director.email).lower()] = school.director.name
    return found


def waiting(session: Session, config: Config, semester_id: int, today: dt.date) -> list[Waiting]:
    """Return the pending steps of the semester's plans grouped by region and approver, the
    longest waiting first."""
    steps = pending_steps(session, semester_id)
    if steps.empty:
        return []
    programme = config.programme
    ages = days_since(steps["created_at"], today).fillna(0).astype(int)
    steps = steps.assign(
        age=ages,
        remind=ages >= programme.reminder_days,
        escalate=ages >= programme.escalation_days,
        email=steps["approver_email"].str.lower(),
    )
    grouped = steps.groupby(["region_name", "email", "role"], sort=False).agg(
        waiting=("step_id", "size"),
        oldest=("age", "max"),
        remind=("remind", "sum"),
        escalate=("escalate", "sum"),
        shown=("approver_email", "first"),
    )
    names = people(config)
    rows = [
        Waiting(
            region=str(region),
            approver=names.get(str(email), str(shown)),
            approver_email=str(shown),
            role=str(role),
            waiting=int(count),
            oldest_days=int(oldest),
            past_reminder=int(remind),
            past_escalation=int(escalate),
        )
        for (region, email, role), count, oldest, remind, escalate, shown in zip(
            grouped.index,
            grouped["waiting"],
            grouped["oldest"],
            grouped["remind"],
            grouped["escalate"],
            grouped["shown"],
            strict=True,
        )
    ]
    return sorted(rows, key=lambda w: (-w.oldest_days, -w.waiting, w.region, w.approver))


def submitted_plans(session: Session, semester_id: int) -> int:
    """Return how many of the semester's plans await a decision (routed to an approver or not)."""
    count = session.scalar(
        select(func.count()).where(
            Plan.semester_id == semester_id, Plan.status == PlanStatus.SUBMITTED
        )
    )
    return int(count or 0)
