"""Plan approvals: steps by the configured chain, signed single-use links, decisions, digests.

Pure functions over a Session: they never commit, and the caller owns the transaction.
"""

from __future__ import annotations

from pumpurs.approvals.decide import decide_link, decide_step, may_decide
from pumpurs.approvals.decided import (
    MAX_REASON,
    Decided,
    Origin,
    Outcome,
    ReasonRequired,
    ReasonTooLong,
    clean_reason,
)
from pumpurs.approvals.digest import RouteMail, queue_fresh_digest, queue_route_mail
from pumpurs.approvals.due import classify
from pumpurs.approvals.overview import age_band, decided_on, pending_tables
from pumpurs.approvals.pending import PendingStep, pending_for, step_owners
from pumpurs.approvals.steps import StepChanges, ensure_steps, move_steps, supersede_stale
from pumpurs.approvals.substitutes import Desks, desks
from pumpurs.approvals.tokens import (
    HTTP_STATUS,
    LinkProblem,
    LinkRefused,
    PriorDecision,
    Verified,
    approval_url,
    held_before,
    issue_tokens,
    live_nonces,
    pending_url,
    plan_link,
    read_link,
    read_pending_link,
    verify,
)
from pumpurs.approvals.views import (
    MeasureLine,
    PastDecision,
    PlanView,
    outcome_name,
    past_decisions,
    plan_views,
    role_name,
)

__all__ = [
    "HTTP_STATUS",
    "MAX_REASON",
    "Decided",
    "Desks",
    "LinkProblem",
    "LinkRefused",
    "MeasureLine",
    "Origin",
    "Outcome",
    "PastDecision",
    "PendingStep",
    "PlanView",
    "PriorDecision",
    "ReasonRequired",
    "ReasonTooLong",
    "RouteMail",
    "StepChanges",
    "Verified",
    "age_band",
    "approval_url",
    "classify",
    "clean_reason",
    "decide_link",
    "decide_step",
    "decided_on",
    "desks",
    "ensure_steps",
    "held_before",
    "issue_tokens",
    "live_nonces",
    "may_decide",
    "move_steps",
    "outcome_name",
    "past_decisions",
    "pending_for",
    "pending_tables",
    "pending_url",
    "plan_link",
    "plan_views",
    "queue_fresh_digest",
    "queue_route_mail",
    "read_link",
    "read_pending_link",
    "role_name",
    "step_owners",
    "supersede_stale",
    "verify",
]
