"""Deciding a plan: consume the link, record the decision and move the plan in one transaction.

Of two concurrent decisions on one step exactly one wins: the step and its plan are locked
(`SELECT … FOR UPDATE` on PostgreSQL; SQLite has one writer at a time) and checked, the link is
consumed with `UPDATE … WHERE used_at IS NULL`, the step with `UPDATE … WHERE status =
'pending'`, and the unique `decision.step_id` is the last guard. The loser learns who decided
and when. The path runs a handful of prepared Core statements and no DataFrame: it is the
approval app's hot path. What a decision records and returns is `pumpurs.approvals.decided`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from pumpurs.approvals.decided import (
    Decided,
    Origin,
    Outcome,
    PlanFacts,
    audit_row,
    check_reason,
    decision_row,
    plan_facts,
)
from pumpurs.approvals.returned import queue_returned
from pumpurs.approvals.steps import create_step, moved_from, plan_next_step
from pumpurs.approvals.substitutes import desks
from pumpurs.approvals.tokens import (
    LinkProblem,
    LinkRefused,
    check_step,
    held_before,
    prior_decision,
    verify,
)
from pumpurs.clock import today_riga, utcnow
from pumpurs.config import Config
from pumpurs.settings import Settings
from pumpurs.store import lifecycle
from pumpurs.store.models import (
    ApprovalStep,
    ApprovalToken,
    AuditEntry,
    Decision,
    Plan,
    PlanStatus,
    StepStatus,
)


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
    verified = verify(session, nonce, config)
    check_reason(outcome, reason)
    return _record(
        session,
        config,
        settings,
        verified.step_id,
        outcome,
        reason,
        origin,
        via="link",
        approver=verified.approver_email,
        substitute=verified.substitute,
        token_id=verified.token_id,
        nonce=nonce,
    )


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
    """Decide a step picked on the pending-plans page of `approver_email`: the step's approver,
    or their substitute while they stand in."""
    step = session.get(ApprovalStep, step_id)
    if step is None:
        raise LinkRefused(LinkProblem.UNKNOWN)
    substitute = may_decide(
        session, config, step_id, step.approver_email, step.role, approver_email
    )
    check_reason(outcome, reason)
    return _record(
        session,
        config,
        settings,
        step_id,
        outcome,
        reason,
        origin,
        via="pending-page",
        approver=step.approver_email,
        substitute=substitute,
    )


def may_decide(
    session: Session, config: Config, step_id: int, approver: str, role: str, person: str
) -> str | None:
    """Return None if `person` is the step's approver, `person` if they stand in for the
    approver today; else raise LinkRefused: the step moved away from them, their substitution
    ended, or it was never theirs."""
    if approver.lower() == person.lower():
        return None
    if desks(config).stands_in(person, approver, today_riga()):
        return person
    plan_id = session.scalar(select(ApprovalStep.plan_id).where(ApprovalStep.id == step_id))
    if plan_id is not None and moved_from(session, plan_id, step_id, person):
        raise LinkRefused(LinkProblem.MOVED, role=role)
    if held_before(session, [step_id], person).get(step_id):  # sent to them as a substitute
        raise LinkRefused(LinkProblem.SUBSTITUTION_ENDED, role=role)
    raise LinkRefused(LinkProblem.OTHER_APPROVER)


# Built once: a statement made per request costs more to build and key than to run. They are
# Core statements on the tables, so the ORM adds nothing between them and the database.
_step, _plan, _token = (cast(Table, m.__table__) for m in (ApprovalStep, Plan, ApprovalToken))
_decision, _audit = cast(Table, Decision.__table__), cast(Table, AuditEntry.__table__)
_LOCK = (
    select(
        _step.c.plan_id,
        _step.c.status,
        _step.c.revision,
        _step.c.step_index,
        _step.c.role,
        _step.c.approver_email,
        _plan.c.revision,
        _plan.c.status,
    )
    .join(_plan, _plan.c.id == _step.c.plan_id)
    .where(_step.c.id == bindparam("step_id"))
    .with_for_update()
)
_CONSUME = (
    update(_token)
    .where(_token.c.step_id == bindparam("b_step"), _token.c.used_at.is_(None))
    .values(used_at=bindparam("now"))
    .returning(_token.c.id)
)
_CLAIM = (
    update(_step)
    .where(_step.c.id == bindparam("b_step"), _step.c.status == StepStatus.PENDING)
    .values(status=bindparam("outcome"), decided_at=bindparam("now"))
)
# The unique step_id is the last guard: a second decision of a step inserts nothing. Written
# out because SQLAlchemy does not cache its dialects' ON CONFLICT statements; SQLite (3.35+)
# and PostgreSQL read it alike.
_DECISION_COLUMNS = (
    "step_id",
    "plan_id",
    "revision",
    "outcome",
    "reason",
    "approver_email",
    "substitute_email",
    "decided_at",
    "ip",
    "user_agent",
)
_INSERT_DECISION = (
    text(
        f"INSERT INTO {_decision.name} ({', '.join(_DECISION_COLUMNS)}) "
        f"VALUES ({', '.join(':' + name for name in _DECISION_COLUMNS)}) "
        "ON CONFLICT (step_id) DO NOTHING RETURNING id"
    )
    .bindparams(*(bindparam(name, type_=_decision.c[name].type) for name in _DECISION_COLUMNS))
    .columns(_decision.c.id)
)
_AUDIT = insert(_audit)


@dataclass(frozen=True)
class _Step:
    """The locked step and its plan, as the decision reads them."""

    id: int
    plan_id: int
    status: str
    revision: int
    step_index: int
    role: str
    approver_email: str
    plan_revision: int
    plan_status: str


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
    approver: str,
    substitute: str | None,
    token_id: int | None = None,
    nonce: str | None = None,
) -> Decided:
    now = utcnow()
    # Lock and re-read (the step, then its plan): on PostgreSQL a concurrent decision, or a
    # route run moving the step to another approver, may have committed meanwhile. Both paths
    # lock the step before its links, so they cannot deadlock.
    step = _Step(step_id, *session.execute(_LOCK, {"step_id": step_id}).one())
    if step.approver_email.lower() != approver.lower():
        raise LinkRefused(LinkProblem.MOVED, role=step.role)
    check_step(session, step.id, step.status, step.revision, step.plan_revision, step.plan_status)
    # The link is consumed here, and the step's other links (a reminder's, the digest's) die
    # with it: all in the decision's transaction.
    consumed = session.scalars(_CONSUME, {"b_step": step.id, "now": now}).all()
    if token_id is not None and token_id not in consumed:
        assert nonce is not None
        verify(session, nonce, config)  # someone decided in between: this raises saying who, when
        raise LinkRefused(LinkProblem.USED)
    claimed = session.execute(_CLAIM, {"b_step": step.id, "outcome": outcome.value, "now": now})
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise LinkRefused(LinkProblem.DECIDED, prior_decision(session, step.id))
    values = decision_row(
        step_id=step.id,
        plan_id=step.plan_id,
        revision=step.revision,
        outcome=outcome,
        reason=reason,
        approver_email=step.approver_email,
        substitute_email=substitute,
        decided_at=now,
        origin=origin,
    )
    decision_id = _insert_decision(session, values)
    if decision_id is None:  # the unique step_id: the last guard
        raise LinkRefused(LinkProblem.DECIDED, prior_decision(session, step.id))
    decision = Decision(id=decision_id, **values)  # transient: what follows only reads it
    session.execute(_AUDIT, audit_row(values, decision_id, step.step_index, step.role, via))
    about = plan_facts(session, step.plan_id)
    plan_status, next_approver, next_role = _after(session, config, settings, step, decision, about)
    return Decided(
        decision_id=decision_id,
        plan_id=step.plan_id,
        step_id=step.id,
        revision=step.revision,
        step_index=step.step_index,
        role=step.role,
        outcome=outcome,
        approver_email=step.approver_email,
        substitute_email=substitute,
        decided_at=now,
        plan_status=plan_status,
        next_approver=next_approver,
        next_role=next_role,
        school_code=about.school_code,
        semester=about.semester,
        school_name=about.school_name,
        pupil_ref=about.pupil_ref,
        grade=about.grade,
    )


def _insert_decision(session: Session, values: dict[str, Any]) -> int | None:
    """Insert the decision; return its id, or None if the step has one already."""
    found: int | None = session.scalar(_INSERT_DECISION, values)
    return found


def _move(session: Session, step: _Step, target: PlanStatus) -> str:
    lifecycle.move_one(session, step.plan_id, step.plan_status, target)
    return target.value


def _after(
    session: Session,
    config: Config,
    settings: Settings,
    step: _Step,
    decision: Decision,
    about: PlanFacts,
) -> tuple[str, str | None, str | None]:
    """Apply the decision to the plan; return its status, and the next approver and role."""
    if decision.outcome == Outcome.RETURNED:
        status = _move(session, step, PlanStatus.RETURNED)
        queue_returned(session, config, settings, step.plan_id, decision)
        return status, None, None
    found = plan_next_step(session, config, step.plan_id, step.plan_revision, about.emails)
    if found is None or found[0].role is None:
        return _move(session, step, PlanStatus.APPROVED), None, None  # the plan is active
    wanted, approver = found
    create_step(session, step.plan_id, step.plan_revision, wanted, str(approver))
    return step.plan_status, str(approver), wanted.role
