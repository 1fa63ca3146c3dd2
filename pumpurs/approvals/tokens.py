"""Approval links: a random nonce kept server side, carried in the URL signed with the app key.

A link is bound to one step (so one plan, one approver and one revision), expires, and is
consumed by the decision. A link sent to a substitute (`pumpurs.approvals.substitutes`) works
only while they stand in for the step's approver; a link of a step that moved to another
approver (the roster changed) no longer works. The pending-plans page link is a signed
approver token with nothing stored: it only lists what the approver may decide anyway. Both
kinds expire by one rule: at the end (in Latvia) of the last day the email says they are valid,
the moment fixed when they are issued (stored with a plan link, signed into a pending link), so
a later change of `token_lifetime_days` moves no link's expiry.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from pumpurs.approvals.steps import moved_from
from pumpurs.approvals.substitutes import desks
from pumpurs.clock import RIGA, day_end, today_riga, utcnow
from pumpurs.config import Config
from pumpurs.settings import Settings
from pumpurs.signing import canonical_signature
from pumpurs.store.context import cached_config
from pumpurs.store.db import Executor
from pumpurs.store.models import ApprovalStep, ApprovalToken, Decision, Plan, PlanStatus, StepStatus

APPROVAL_SALT = "pumpurs.approval-link"
PENDING_SALT = "pumpurs.pending-page"
_SHAPE = re.compile(r"^\.?[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+){1,2}$")  # a dot first: compressed
_MAX_LENGTH = 512


class LinkProblem(StrEnum):
    MALFORMED = "malformed"  # not a link of ours at all, e.g. cut short by a mail program
    FORGED = "forged"  # the signature does not match: made up or altered
    UNKNOWN = "unknown"  # signed by us, but not in this database
    OTHER_APPROVER = "other_approver"
    DECIDED = "decided"
    USED = "used"
    SUPERSEDED = "superseded"  # a newer revision of the plan arrived
    EXPIRED = "expired"
    MOVED = "moved"  # the roster changed: the step is on another approver's desk now
    SUBSTITUTION_ENDED = "substitution_ended"  # the substitute's dates are over


HTTP_STATUS = {
    LinkProblem.MALFORMED: 400,
    LinkProblem.FORGED: 403,
    LinkProblem.UNKNOWN: 404,
    LinkProblem.OTHER_APPROVER: 403,
    LinkProblem.DECIDED: 409,
    LinkProblem.USED: 409,
    LinkProblem.SUPERSEDED: 410,
    LinkProblem.EXPIRED: 410,
    LinkProblem.MOVED: 410,
    LinkProblem.SUBSTITUTION_ENDED: 410,
}


@dataclass(frozen=True)
class PriorDecision:
    outcome: str
    approver_email: str
    decided_at: dt.datetime
    substitute_email: str | None = None  # who decided, when a substitute did
    role: str | None = None  # the decided step's role: what the refusal page names


class LinkRefused(Exception):
    """A link (or a step picked on the pending page) cannot be used; `problem` says why.

    `role` is the step's role where the page names whose desk the plan is on now.
    """

    def __init__(
        self, problem: LinkProblem, decided: PriorDecision | None = None, role: str | None = None
    ) -> None:
        super().__init__(problem.value)
        self.problem, self.decided, self.role = problem, decided, role

    @property
    def status(self) -> int:
        """Return the HTTP status this refusal is shown with."""
        return HTTP_STATUS[self.problem]


@dataclass(frozen=True)
class Verified:
    token_id: int
    nonce: str
    step_id: int
    plan_id: int
    revision: int
    step_index: int
    role: str
    approver_email: str  # whose step it is
    expires_at: dt.datetime
    holder: str  # who the link was sent to: the approver, or their substitute
    substitute: str | None  # set when the holder decides on the approver's behalf


def _approval_signer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.signing_key(), salt=APPROVAL_SALT)


def _pending_signer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.signing_key(), salt=PENDING_SALT)


def approval_url(settings: Settings, nonce: str) -> str:
    """Return the link that opens one plan for its approver."""
    return f"{settings.base_url.rstrip('/')}/a/{_approval_signer(settings).dumps(nonce)}"


def pending_url(
    settings: Settings, approver_email: str, expires_at: dt.datetime | None = None
) -> str:
    """Return the link to an approver's page of pending plans, working until `expires_at`
    (by default when plan links issued now expire); the expiry is signed into the link."""
    if expires_at is None:
        expires_at = link_expiry(cached_config(settings.config_dir), utcnow())
    payload = {"a": approver_email.lower(), "x": int(expires_at.timestamp())}
    signed = _pending_signer(settings).dumps(payload)
    return f"{settings.base_url.rstrip('/')}/p/{signed}"


def _check_shape(value: str) -> None:
    if len(value) > _MAX_LENGTH or not _SHAPE.match(value):
        raise LinkRefused(LinkProblem.MALFORMED)
    if not canonical_signature(value):
        raise LinkRefused(LinkProblem.FORGED)


def read_link(settings: Settings, value: str) -> str:
    """Return the nonce a plan link carries, or raise LinkRefused (malformed or forged)."""
    _check_shape(value)
    try:
        nonce: Any = _approval_signer(settings).loads(value)
    except BadSignature:
        raise LinkRefused(LinkProblem.FORGED) from None
    if not isinstance(nonce, str):
        raise LinkRefused(LinkProblem.FORGED)
    return nonce


def read_pending_link(settings: Settings, config: Config, value: str) -> str:
    """Return the approver a pending-page link was made for, or raise LinkRefused."""
    _check_shape(value)
    try:
        payload: Any
        payload, issued = _pending_signer(settings).loads(value, return_timestamp=True)
    except BadSignature:
        raise LinkRefused(LinkProblem.FORGED) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("a"), str):
        raise LinkRefused(LinkProblem.FORGED)
    expires = payload.get("x")
    if isinstance(expires, int):
        expires_at = dt.datetime.fromtimestamp(expires, dt.UTC)
    else:  # a link made before its expiry was signed into it: the same rule from its issue
        expires_at = link_expiry(config, issued)
    if expires_at <= utcnow():
        raise LinkRefused(LinkProblem.EXPIRED)
    return str(payload["a"])


def link_expiry(config: Config, now: dt.datetime) -> dt.datetime:
    """Return when links issued now expire: the end of the last day (in Latvia) they are valid."""
    last_day = (now + dt.timedelta(days=config.programme.token_lifetime_days)).astimezone(RIGA)
    return day_end(last_day.date())


def issue_tokens(
    session: Session,
    config: Config,
    steps: Iterable[tuple[int, str, int]],
    on_behalf: Mapping[int, str] | None = None,
) -> dict[int, str]:
    """Store a fresh link for each (step id, recipient, revision); return the nonce per step.

    `on_behalf` names, by step id, the approver a recipient substitute stands in for.
    """
    now = utcnow()
    expires = link_expiry(config, now)
    behalf = on_behalf or {}
    rows: list[dict[str, Any]] = [
        {
            "nonce": secrets.token_urlsafe(24),
            "step_id": step_id,
            "approver_email": approver,
            "on_behalf_of": behalf.get(step_id),
            "revision": revision,
            "created_at": now,
            "expires_at": expires,
        }
        for step_id, approver, revision in steps
    ]
    if rows:
        session.execute(insert(ApprovalToken), rows)
    return {int(row["step_id"]): str(row["nonce"]) for row in rows}


_PRIOR = (
    select(
        Decision.outcome,
        Decision.approver_email,
        Decision.decided_at,
        Decision.substitute_email,
        ApprovalStep.role,
    )
    .join(ApprovalStep, ApprovalStep.id == Decision.step_id)
    .where(Decision.step_id == bindparam("step_id"))
)


def prior_decision(session: Executor, step_id: int) -> PriorDecision | None:
    """Return who decided this step and when, if anyone did."""
    found = session.execute(_PRIOR, {"step_id": step_id}).one_or_none()
    return None if found is None else PriorDecision(*found)


def check_step(
    session: Executor,
    step_id: int,
    step_status: str,
    step_revision: int,
    plan_revision: int,
    plan_status: str,
) -> None:
    """Raise LinkRefused unless the step still awaits its approver's decision."""
    if step_status in (StepStatus.APPROVED, StepStatus.RETURNED):
        raise LinkRefused(LinkProblem.DECIDED, prior_decision(session, step_id))
    if (
        step_status == StepStatus.SUPERSEDED
        or step_revision != plan_revision
        or plan_status != PlanStatus.SUBMITTED
    ):
        raise LinkRefused(LinkProblem.SUPERSEDED)


# Built once: a statement made per request costs more to build and key than to run.
_VERIFY = (
    select(
        ApprovalToken.id,
        ApprovalToken.approver_email,
        ApprovalToken.revision,
        ApprovalToken.used_at,
        ApprovalToken.expires_at,
        ApprovalToken.on_behalf_of,
        ApprovalStep.id,
        ApprovalStep.plan_id,
        ApprovalStep.revision,
        ApprovalStep.step_index,
        ApprovalStep.role,
        ApprovalStep.approver_email,
        ApprovalStep.status,
        Plan.revision,
        Plan.status,
    )
    .join(ApprovalStep, ApprovalStep.id == ApprovalToken.step_id)
    .join(Plan, Plan.id == ApprovalStep.plan_id)
    .where(ApprovalToken.nonce == bindparam("nonce"))
)


def verify(session: Executor, nonce: str, config: Config | None = None) -> Verified:
    """Return what a link may decide, or raise LinkRefused saying why it may not.

    `config` tells who stands in for whom today: without it a substitute's link is refused.
    """
    row = session.execute(_VERIFY, {"nonce": nonce}).one_or_none()
    if row is None:
        raise LinkRefused(LinkProblem.UNKNOWN)
    token_id, holder, token_revision, used_at, expires_at, on_behalf = row[:6]
    step_id, plan_id, step_revision, step_index, role, approver, step_status = row[6:13]
    plan_revision, plan_status = row[13:]
    substitute = _acting(session, step_id, plan_id, holder, on_behalf, approver, role, config)
    check_step(session, step_id, step_status, step_revision, plan_revision, plan_status)
    if token_revision != plan_revision:
        raise LinkRefused(LinkProblem.SUPERSEDED)
    if used_at is not None:
        raise LinkRefused(LinkProblem.USED)
    if expires_at <= utcnow():
        raise LinkRefused(LinkProblem.EXPIRED)
    return Verified(
        token_id=token_id,
        nonce=nonce,
        step_id=step_id,
        plan_id=plan_id,
        revision=step_revision,
        step_index=step_index,
        role=role,
        approver_email=approver,
        expires_at=expires_at,
        holder=holder,
        substitute=substitute,
    )


def _acting(
    session: Executor,
    step_id: int,
    plan_id: int,
    holder: str,
    on_behalf: str | None,
    approver: str,
    role: str,
    config: Config | None,
) -> str | None:
    """Return the substitute a link lets decide (None: the approver's own link), or raise
    LinkRefused: the step moved to another approver (the audit log has the move), the
    substitute's dates are over, or the link was never this approver's."""
    owner = holder if on_behalf is None else on_behalf
    if owner.lower() != approver.lower():
        if moved_from(session, plan_id, step_id, owner):
            raise LinkRefused(LinkProblem.MOVED, role=role)
        raise LinkRefused(LinkProblem.OTHER_APPROVER)
    if on_behalf is None:
        return None
    if config is None or not desks(config).stands_in(holder, approver, today_riga()):
        raise LinkRefused(LinkProblem.SUBSTITUTION_ENDED, role=role)
    return holder


def live_nonces(
    session: Session, step_ids: Collection[int], holder: str | None = None
) -> dict[int, str]:
    """Return the newest unused, unexpired link nonce of each step that has one (sent to
    `holder`, when given: a link sent to someone else would not work for them)."""
    if not step_ids:
        return {}
    query = (
        select(ApprovalToken.step_id, ApprovalToken.nonce)
        .where(
            ApprovalToken.step_id.in_(list(step_ids)),
            ApprovalToken.used_at.is_(None),
            ApprovalToken.expires_at > utcnow(),
        )
        .order_by(ApprovalToken.expires_at, ApprovalToken.id)
    )
    if holder is not None:
        query = query.where(func.lower(ApprovalToken.approver_email) == holder.lower())
    rows = session.execute(query).all()
    return {int(step_id): str(nonce) for step_id, nonce in rows}  # the newest one wins


def held_before(session: Session, step_ids: Collection[int], holder: str) -> dict[int, bool]:
    """Return the steps `holder` was ever sent a link of, each with whether as a substitute."""
    if not step_ids:
        return {}
    rows = session.execute(
        select(ApprovalToken.step_id, ApprovalToken.on_behalf_of).where(
            ApprovalToken.step_id.in_(list(step_ids)),
            func.lower(ApprovalToken.approver_email) == holder.lower(),
        )
    ).all()
    held: dict[int, bool] = {}
    for step_id, on_behalf in rows:
        held[int(step_id)] = held.get(int(step_id), False) or on_behalf is not None
    return held


def plan_link(session: Session, settings: Settings, plan_id: int) -> str | None:
    """Return a working link to the plan's pending step, or None if none was issued yet."""
    step_ids = session.scalars(
        select(ApprovalStep.id)
        .join(Plan, (Plan.id == ApprovalStep.plan_id) & (Plan.revision == ApprovalStep.revision))
        .where(ApprovalStep.plan_id == plan_id, ApprovalStep.status == StepStatus.PENDING)
    ).all()
    nonces = live_nonces(session, step_ids)
    return approval_url(settings, next(iter(nonces.values()))) if nonces else None
