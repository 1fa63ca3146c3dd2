from __future__ import annotations

import pytest

from pumpurs.errors import IllegalTransition
from pumpurs.store.lifecycle import can_move, move
from pumpurs.store.models import Plan, PlanStatus

S = PlanStatus

LEGAL = [
    (None, S.SUBMITTED),
    (None, S.DRAFT),
    (S.DRAFT, S.SUBMITTED),
    (S.SUBMITTED, S.APPROVED),
    (S.SUBMITTED, S.RETURNED),
    (S.SUBMITTED, S.SUBMITTED),
    (S.RETURNED, S.SUBMITTED),
    (S.APPROVED, S.EVALUATED),
    (S.EVALUATED, S.CONTINUED),
    (S.EVALUATED, S.CLOSED),
    (S.CONTINUED, S.CLOSED),  # a corrected evaluation, before the plan is carried over
    (S.CLOSED, S.CONTINUED),
]


@pytest.mark.parametrize(("current", "target"), LEGAL)
def test_legal_moves_set_the_status(current: PlanStatus | None, target: PlanStatus) -> None:
    plan = Plan(status=current)
    move(plan, target)
    assert plan.status == target


@pytest.mark.parametrize(
    ("current", "target"),
    [(current, target) for current in [None, *S] for target in S if (current, target) not in LEGAL],
)
def test_every_other_move_raises(current: PlanStatus | None, target: PlanStatus) -> None:
    plan = Plan(id=7, status=current)
    assert not can_move(current, target)
    with pytest.raises(IllegalTransition):
        move(plan, target)
    assert plan.status == current
