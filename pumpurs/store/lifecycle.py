"""The plan lifecycle, in one place: every status change of a plan goes through `move`.

submitted → approved | returned → (resubmitted → …) → evaluated → continued | closed.
A plan carried over from the last semester starts as a draft until the school submits it.
A corrected evaluation may turn continued ↔ closed, until the plan is carried over.
"""

from __future__ import annotations

from collections.abc import Iterable

from pumpurs.errors import IllegalTransition
from pumpurs.store.models import Plan, PlanStatus

S = PlanStatus

ALLOWED: dict[PlanStatus | None, frozenset[PlanStatus]] = {
    None: frozenset({S.DRAFT, S.SUBMITTED}),
    S.DRAFT: frozenset({S.SUBMITTED}),
    # A submitted plan may be replaced by a newer revision before anyone decides.
    S.SUBMITTED: frozenset({S.SUBMITTED, S.APPROVED, S.RETURNED}),
    S.RETURNED: frozenset({S.SUBMITTED}),
    S.APPROVED: frozenset({S.EVALUATED}),
    S.EVALUATED: frozenset({S.CONTINUED, S.CLOSED}),
    # A school's corrected evaluation file replaces the evaluation, and the plan follows its
    # new "continue" answer. Only `pumpurs.evaluation.evaluate` makes these moves, and only while no
    # plan of a later semester has been carried over from this one (checked there, since a
    # status alone cannot tell): after that, continued and closed are final.
    S.CONTINUED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset({S.CONTINUED}),
}

PENDING = frozenset({S.DRAFT, S.SUBMITTED, S.RETURNED})
"""Statuses a school's new file may still replace: nobody has approved the plan."""


def can_move(current: PlanStatus | str | None, target: PlanStatus) -> bool:
    """Return whether the lifecycle allows going from `current` to `target`."""
    key = None if current is None else PlanStatus(current)
    return target in ALLOWED[key]


def move(plan: Plan, target: PlanStatus) -> None:
    """Set the plan's status, or raise IllegalTransition if the lifecycle forbids it."""
    current = plan.status if plan.status is not None else None
    if not can_move(current, target):
        raise IllegalTransition(f"plan {plan.id}: {current} → {target} is not allowed")
    plan.status = target


def first_status() -> PlanStatus:
    """Return the status a plan submitted for the first time gets."""
    assert can_move(None, S.SUBMITTED)
    return S.SUBMITTED


def check_moves(currents: Iterable[PlanStatus | str | None], target: PlanStatus) -> None:
    """Raise IllegalTransition if any of the statuses may not move to `target` (bulk moves)."""
    bad = sorted({str(c) for c in currents if not can_move(c, target)})
    if bad:
        raise IllegalTransition(f"{', '.join(bad)} → {target} is not allowed")
