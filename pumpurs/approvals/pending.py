"""An approver's pending plans, for the page their digest links to."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pumpurs.store.models import ApprovalStep, Plan, PlanStatus, StepStatus


@dataclass(frozen=True)
class PendingStep:
    step_id: int
    plan_id: int
    revision: int
    role: str
    since: dt.datetime


def pending_for(
    session: Session, approver_email: str, stands_in_for: Collection[str] = ()
) -> list[PendingStep]:
    """Return the steps awaiting this approver on current revisions, oldest first, with those
    of the approvers they stand in for today (see `pumpurs.approvals.substitutes`)."""
    emails = sorted({approver_email.lower(), *(e.lower() for e in stands_in_for)})
    rows = session.execute(
        select(
            ApprovalStep.id,
            ApprovalStep.plan_id,
            ApprovalStep.revision,
            ApprovalStep.role,
            ApprovalStep.created_at,
        )
        .join(Plan, (Plan.id == ApprovalStep.plan_id) & (Plan.revision == ApprovalStep.revision))
        .where(
            func.lower(ApprovalStep.approver_email).in_(emails),
            ApprovalStep.status == StepStatus.PENDING,
            Plan.status == PlanStatus.SUBMITTED,
        )
        .order_by(ApprovalStep.created_at, ApprovalStep.id)
    ).all()
    return [PendingStep(*row) for row in rows]


def step_owners(session: Session, step_ids: Collection[int]) -> dict[int, tuple[str, int]]:
    """Return the approver and plan of each of these steps that exists."""
    rows = session.execute(
        select(ApprovalStep.id, ApprovalStep.approver_email, ApprovalStep.plan_id).where(
            ApprovalStep.id.in_(list(step_ids))
        )
    ).all()
    return {int(step_id): (str(email), int(plan_id)) for step_id, email, plan_id in rows}
