from __future__ import annotations

import pytest
from sqlalchemy import select

from pumpurs.errors import IllegalTransition
from pumpurs.semester import SemesterCode
from pumpurs.store.context import Context
from pumpurs.store.lifecycle import (
    can_move,
    insert_plans,
    move,
    move_all,
    move_many,
    move_one,
)
from pumpurs.store.models import Plan, PlanStatus, Pupil, School
from pumpurs.store.reference import ensure_semester

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


def _plans(ctx: Context, *statuses: PlanStatus) -> list[int]:
    """Store one plan per status (pupils P-0, P-1, …) through the lifecycle; return their ids."""
    with ctx.sessions.begin() as session:
        semester, _ = ensure_semester(session, ctx.config, SemesterCode.parse("2026/2027-1"))
        school = session.scalars(select(School.id).where(School.code == "LV-LIE-006")).one()
        pupils = [Pupil(school_id=school, ref=f"P-{i}") for i in range(len(statuses))]
        session.add_all(pupils)
        session.flush()
        ids = []
        for pupil, status in zip(pupils, statuses, strict=True):
            row = {"semester_id": semester.id, "school_id": school, "pupil_id": pupil.id}
            first = S.DRAFT if status == S.DRAFT else S.SUBMITTED  # a draft is carried over
            ids += insert_plans(session, [row | {"revision": 1}], first)
            path = {S.APPROVED: [], S.RETURNED: [], S.CLOSED: [S.APPROVED, S.EVALUATED]}
            for step in [*path.get(status, []), status] if status != first else []:
                move(session.get_one(Plan, ids[-1]), step)
        return ids


def _statuses(ctx: Context, ids: list[int]) -> list[str]:
    with ctx.sessions() as session:
        rows = session.execute(select(Plan.id, Plan.status).where(Plan.id.in_(ids))).all()
    found = {plan_id: status for plan_id, status in rows}
    return [found[i] for i in ids]


def test_new_plans_get_their_first_status_from_the_lifecycle(context: Context) -> None:
    ids = _plans(context, S.SUBMITTED, S.SUBMITTED)
    assert _statuses(context, ids) == [S.SUBMITTED, S.SUBMITTED]
    with context.sessions.begin() as session, pytest.raises(IllegalTransition):
        insert_plans(session, [{"semester_id": 1}], S.APPROVED)
    with context.sessions.begin() as session, pytest.raises(AssertionError):
        insert_plans(session, [{"semester_id": 1, "status": "approved"}])


def test_a_batch_moves_together_or_not_at_all(context: Context) -> None:
    ids = _plans(context, S.SUBMITTED, S.RETURNED, S.DRAFT, S.APPROVED)
    with context.sessions.begin() as session:
        assert move_many(session, ids[:3], S.SUBMITTED) == 3  # a new revision of each
    with context.sessions.begin() as session:
        moved_before_refusal = move_many(session, ids[:2], S.APPROVED)
        assert moved_before_refusal == 2
        with pytest.raises(IllegalTransition, match="approved → returned"):
            move_many(session, [ids[2], ids[3]], S.RETURNED)
        session.rollback()
    assert _statuses(context, ids) == [S.SUBMITTED, S.SUBMITTED, S.SUBMITTED, S.APPROVED]


def test_a_batch_may_pass_through_statuses_it_does_not_keep(context: Context) -> None:
    ids = _plans(context, S.APPROVED, S.APPROVED, S.CLOSED)
    with context.sessions.begin() as session, pytest.raises(IllegalTransition):
        move_many(session, ids[:1], S.CONTINUED)  # approved → continued skips the evaluation
    with context.sessions.begin() as session:
        move_many(session, ids[:2], S.CONTINUED, via=[S.EVALUATED])
        with pytest.raises(IllegalTransition, match="closed → continued"):
            move_many(session, ids[2:], S.CONTINUED, via=[S.EVALUATED])
        move_many(session, ids[2:], S.CONTINUED)  # a corrected evaluation
    assert _statuses(context, ids) == [S.CONTINUED] * 3


def test_one_plan_moves_only_from_the_status_the_caller_read(context: Context) -> None:
    submitted, returned = _plans(context, S.SUBMITTED, S.RETURNED)
    with context.sessions.begin() as session:
        move_one(session, submitted, "submitted", S.APPROVED)
        with pytest.raises(IllegalTransition, match="not allowed"):
            move_one(session, returned, S.RETURNED, S.APPROVED)
        with pytest.raises(IllegalTransition, match="no longer submitted"):
            move_one(session, returned, S.SUBMITTED, S.APPROVED)  # someone returned it meanwhile
    assert _statuses(context, [submitted, returned]) == [S.APPROVED, S.RETURNED]


def test_every_plan_of_a_status_moves_at_once(context: Context) -> None:
    ids = _plans(context, S.SUBMITTED, S.SUBMITTED, S.RETURNED)
    with context.sessions.begin() as session:
        with pytest.raises(IllegalTransition):
            move_all(session, S.SUBMITTED, S.CLOSED)
        semester = session.get_one(Plan, ids[0]).semester_id
        assert move_all(session, S.SUBMITTED, S.APPROVED, semester_id=semester + 1) == 0
        assert move_all(session, S.SUBMITTED, S.APPROVED, semester_id=semester) == 2
    assert _statuses(context, ids) == [S.APPROVED, S.APPROVED, S.RETURNED]
