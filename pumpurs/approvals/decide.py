"""Deciding a plan: consume the link, record the decision and move the plan in one transaction.

Of two concurrent decisions on one step exactly one wins: the link is consumed with
`UPDATE … WHERE used_at IS NULL`, the step with `UPDATE … WHERE status = 'pending'`, and the
unique `decision.step_id` is the last guard. The loser learns who decided and when.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pumpurs import lifecycle
from pumpurs.approvals.chain import create_steps, wanted_steps
from pumpurs.approvals.returned import queue_returned
from pumpurs.approvals.tokens import LinkProblem, LinkRefused, check_step, prior_decision, verify
from pumpurs.clock import utcnow
from pumpurs.config import Config
from pumpurs.models import (
    ApprovalStep,
    ApprovalToken,
    AuditEntry,
    Decision,
    Plan,
    PlanStatus,
    School,
    Semester,
    StepStatus,
)
from pumpurs.settings import Settings

MAX_REASON = 2000


class Outcome(StrEnum):
    APPROVED = "approved"
    RETURNED = "returned"


class ReasonRequired(ValueError):
    """A plan is returned only with a reason the school can act on."""


@dataclass(frozen=True)
class Origin:
    """Where a decision came from, for the audit log."""

    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class Decided:
    decision_id: int
    plan_id: int
    step_id: int
    revision: int
    step_index: int
    role: str
    outcome: Outcome
    approver_email: str
    decided_at: dt.datetime
    plan_status: str
    next_approver: str | None
    next_role: str | None
    school_code: str
    semester: str


def decide_link(
    session: Session,
    config: Config,
    settings: Settings,
    nonce: str,
    outcome: Outcome,
    *,
    reason: str | None,
    origin: Origin,
) -> Decided:
    """Decide the plan a link was issued for; raise LinkRefused when the link may not."""
    verified = verify(session, nonce)
    _check_reason(outcome, reason)
    consumed = session.execute(
        update(ApprovalToken)
        .where(ApprovalToken.id == verified.token_id, ApprovalToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if consumed.rowcount != 1:  # type: ignore[attr-defined]
        verify(session, nonce)  # someone decided in between: this raises saying who and when
        raise LinkRefused(LinkProblem.USED)
    return _record(session, config, settings, verified.step_id, outcome, reason, origin, via="link")


def decide_step(
    session: Session,
    config: Config,
    settings: Settings,
    step_id: int,
    approver_email: str,
    outcome: Outcome,
    *,
    reason: str | None,
    origin: Origin,
) -> Decided:
    """Decide a step picked on its approver's pending-plans page."""
    step = session.get(ApprovalStep, step_id)
    if step is None:
        raise LinkRefused(LinkProblem.UNKNOWN)
    if step.approver_email.lower() != approver_email.lower():
        raise LinkRefused(LinkProblem.OTHER_APPROVER)
    _check_reason(outcome, reason)
    return _record(session, config, settings, step_id, outcome, reason, origin, via="pending-page")


def _cut(value: str | None, length: int) -> str | None:
    return value[:length] if value else None


def _check_reason(outcome: Outcome, reason: str | None) -> None:
    if outcome == Outcome.RETURNED and not (reason or "").strip():
        raise ReasonRequired("a returned plan needs a reason")


def _record(
    session: Session,
    config: Config,
    settings: Settings,
    step_id: int,
    outcome: Outcome,
    reason: str | None,
    origin: Origin,
    *,
    via: str,
) -> Decided:
    now = utcnow()
    # Lock and re-read: on PostgreSQL a concurrent decision may have committed meanwhile.
    fresh = {"populate_existing": True}
    step = session.scalars(
        select(ApprovalStep).where(ApprovalStep.id == step_id).with_for_update(),
        execution_options=fresh,
    ).one()
    plan = session.scalars(
        select(Plan).where(Plan.id == step.plan_id).with_for_update(), execution_options=fresh
    ).one()
    check_step(session, step, plan.revision, plan.status)
    claimed = session.execute(
        update(ApprovalStep)
        .where(ApprovalStep.id == step.id, ApprovalStep.status == StepStatus.PENDING)
        .values(status=outcome.value, decided_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise LinkRefused(LinkProblem.DECIDED, prior_decision(session, step.id))
    # Other links of this step (a reminder's, the digest's) die with the decision.
    session.execute(
        update(ApprovalToken)
        .where(ApprovalToken.step_id == step.id, ApprovalToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    text = (reason or "").strip()[:MAX_REASON] or None
    decision = Decision(
        step_id=step.id,
        plan_id=plan.id,
        revision=step.revision,
        outcome=outcome.value,
        reason=text,
        approver_email=step.approver_email,
        decided_at=now,
        ip=_cut(origin.ip, 64),
        user_agent=_cut(origin.user_agent, 512),
    )
    try:
        with session.begin_nested():
            session.add(decision)
    except IntegrityError:
        raise LinkRefused(LinkProblem.DECIDED, prior_decision(session, step.id)) from None
    session.add(
        AuditEntry(
            at=now,
            actor=step.approver_email,
            action=f"plan.{outcome.value}",
            entity="plan",
            entity_id=plan.id,
            ip=decision.ip,
            user_agent=decision.user_agent,
            details={
                "decision_id": decision.id,
                "step_id": step.id,
                "step_index": step.step_index,
                "role": step.role,
                "revision": step.revision,
                "reason": text,
                "via": via,
            },
        )
    )
    next_approver, next_role = _after(session, config, settings, plan, decision)
    session.flush()
    school_code, semester = session.execute(
        select(School.code, Semester.code)
        .join(Plan, Plan.school_id == School.id)
        .join(Semester, Semester.id == Plan.semester_id)
        .where(Plan.id == plan.id)
    ).one()
    return Decided(
        decision_id=decision.id,
        plan_id=plan.id,
        step_id=step.id,
        revision=step.revision,
        step_index=step.step_index,
        role=step.role,
        outcome=outcome,
        approver_email=step.approver_email,
        decided_at=now,
        plan_status=plan.status,
        next_approver=next_approver,
        next_role=next_role,
        school_code=school_code,
        semester=semester,
    )


def _after(
    session: Session, config: Config, settings: Settings, plan: Plan, decision: Decision
) -> tuple[str | None, str | None]:
    """Apply the decision to the plan; return the next approver and role if the chain goes on."""
    if decision.outcome == Outcome.RETURNED:
        lifecycle.move(plan, PlanStatus.RETURNED)
        queue_returned(session, config, settings, plan.id, decision)
        return None, None
    wanted = wanted_steps(session, config, plan_ids=[plan.id])
    if wanted.empty or wanted["role"].isna().all():
        lifecycle.move(plan, PlanStatus.APPROVED)  # the last step: the plan is active
        return None, None
    create_steps(session, wanted)
    return str(wanted["approver"].iloc[0]), str(wanted["role"].iloc[0])
