"""The plan lifecycle, in one place: the only code that writes a plan's status.

submitted → approved | returned → (resubmitted → …) → evaluated → continued | closed.
A plan carried over from the last semester starts as a draft until the school submits it.
A corrected evaluation may turn continued ↔ closed, until the plan is carried over.

Every write checks the allowed moves first: `move` for a loaded plan, `move_one` for one plan
by id (a prepared statement: the approval app's hot path), `move_many` and `move_all` for a
batch (one statement per few thousand plans), `insert_plans` for new plans. A test fails when
any other module writes the status.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from itertools import pairwise
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from pumpurs.errors import IllegalTransition
from pumpurs.store.inserts import insert_ids
from pumpurs.store.models import Plan, PlanStatus

S = PlanStatus
PLAN = cast(Table, Plan.__table__)
CHUNK = 5000  # ids per IN (...) list: well below SQLite's limit on bound parameters

ALLOWED: dict[PlanStatus | None, frozenset[PlanStatus]] = {
    None: frozenset({S.DRAFT, S.SUBMITTED}),
    S.DRAFT: frozenset({S.SUBMITTED}),
    # A submitted plan may be replaced by a newer revision before anyone decides.
    S.SUBMITTED: frozenset({S.SUBMITTED, S.APPROVED, S.RETURNED}),
    S.RETURNED: frozenset({S.SUBMITTED}),
    S.APPROVED: frozenset({S.EVALUATED}),
    S.EVALUATED: frozenset({S.CONTINUED, S.CLOSED}),
    # A school's corrected evaluation file replaces the evaluation, and the plan follows its
    # new "continue" answer. Only `pumpurs.evaluation.store` makes these moves, and only while no
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


def check_moves(currents: Iterable[PlanStatus | str | None], target: PlanStatus) -> None:
    """Raise IllegalTransition if any of the statuses may not move to `target` (bulk moves)."""
    bad = sorted({str(c) for c in currents if not can_move(c, target)})
    if bad:
        raise IllegalTransition(f"{', '.join(bad)} → {target} is not allowed")


def _sources(target: PlanStatus, via: Sequence[PlanStatus]) -> list[str]:
    """Return the statuses from which `target` may be reached through the statuses `via`."""
    path = [*via, target]
    if not all(can_move(a, b) for a, b in pairwise(path)):
        return []
    return sorted(s.value for s in S if can_move(s, path[0]))


# Built once: the decision path moves one plan per request (see `pumpurs.approvals.decide`).
_MOVE_ONE = (
    update(PLAN)
    .where(PLAN.c.id == bindparam("b_plan"), PLAN.c.status == bindparam("b_from"))
    .values(status=bindparam("b_to"))
)


def move_one(session: Session, plan_id: int, current: PlanStatus | str, target: PlanStatus) -> None:
    """Move one plan, whose status the caller has read (and locked), from `current` to `target`.

    Raise IllegalTransition if the lifecycle forbids the move or the status is no longer
    `current`.
    """
    if not can_move(current, target):
        raise IllegalTransition(f"plan {plan_id}: {current} → {target} is not allowed")
    params = {"b_plan": plan_id, "b_from": str(current), "b_to": target.value}
    if session.execute(_MOVE_ONE, params).rowcount != 1:  # type: ignore[attr-defined]
        raise IllegalTransition(f"plan {plan_id}: no longer {current}, not moved to {target}")


def move_many(
    session: Session,
    plan_ids: Collection[int],
    target: PlanStatus,
    *,
    via: Sequence[PlanStatus] = (),
) -> int:
    """Move these plans to `target`, through the statuses `via` (which are not written).

    One UPDATE per few thousand plans, touching only plans whose status may go there; if any
    may not, raise IllegalTransition (the caller's transaction, rolled back, keeps nothing).
    Return how many plans moved.
    """
    ids = sorted(set(plan_ids))
    sources = _sources(target, via)
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        statement = (
            update(Plan)
            .where(Plan.id.in_(chunk), Plan.status.in_(sources))
            .values(status=target.value)
            .returning(Plan.id)
        )
        moved = set(session.scalars(statement))
        if len(moved) != len(chunk):
            _refuse(session, [p for p in chunk if p not in moved], target)
    return len(ids)


def move_all(
    session: Session,
    current: PlanStatus,
    target: PlanStatus,
    *,
    semester_id: int | None = None,
) -> int:
    """Move every plan (of a semester) whose status is `current` to `target`; return how many."""
    check_moves([current], target)
    statement = update(Plan).where(Plan.status == current.value).values(status=target.value)
    if semester_id is not None:
        statement = statement.where(Plan.semester_id == semester_id)
    return int(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def insert_plans(
    session: Session, rows: Sequence[Mapping[str, Any]], status: PlanStatus = S.SUBMITTED
) -> list[int]:
    """Insert new plans (plan rows without a status) as `status`; return their ids in order."""
    check_moves([None], status)
    if not rows:
        return []
    assert all("status" not in row for row in rows), "the lifecycle sets a new plan's status"
    rows = [{**row, "status": status.value} for row in rows]
    return insert_ids(session, PLAN, rows, ["pupil_id", "semester_id"])


def _refuse(session: Session, plan_ids: Sequence[int], target: PlanStatus) -> None:
    """Raise IllegalTransition naming the statuses of plans that could not move (or 'missing')."""
    query = select(Plan.id, Plan.status).where(Plan.id.in_(plan_ids))
    found = dict(session.execute(query).tuples().all())
    bad = sorted({str(found.get(i, "missing")) for i in plan_ids})
    raise IllegalTransition(f"{', '.join(bad)} → {target} is not allowed")
