"""Approval steps in the store: each submitted plan's pending step, by the chain's rule, with
the approver the roster names (a step moves when the roster changes)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Hashable, Mapping
from dataclasses import astuple, dataclass
from typing import Any, cast

import pandas as pd
from sqlalchemy import ColumnElement, Table, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from pumpurs.approvals.chain import ROLE_COLUMN, NextStep, StepState, approver_for, next_step
from pumpurs.clock import utcnow
from pumpurs.config import Config, Role
from pumpurs.store import lifecycle
from pumpurs.store.db import Executor
from pumpurs.store.frames import read_frame
from pumpurs.store.models import (
    ApprovalStep,
    AuditEntry,
    Municipality,
    Plan,
    PlanStatus,
    Region,
    School,
    StepStatus,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepChanges:
    created: int
    superseded: int
    completed: int  # plans whose (shortened) chain had no step left: approved without a new step
    moved: int = 0  # pending steps moved to the approver the roster names now


def approver_table(
    session: Session,
    *,
    semester_id: int | None = None,
    plan_ids: Collection[int] | None = None,
) -> pd.DataFrame:
    """Return, per submitted plan, its revision and the approver address of every role."""
    query = (
        select(
            Plan.id.label("plan_id"),
            Plan.revision,
            School.director_email,
            Municipality.coordinator_email.label("municipal_email"),
            Region.coordinator_email.label("regional_email"),
        )
        .join(School, School.id == Plan.school_id)
        .join(Municipality, Municipality.id == School.municipality_id)
        .join(Region, Region.id == Municipality.region_id)
        .where(Plan.status == PlanStatus.SUBMITTED)
        .order_by(Plan.id)
    )
    if semester_id is not None:
        query = query.where(Plan.semester_id == semester_id)
    if plan_ids is not None:
        query = query.where(Plan.id.in_(list(plan_ids)))
    columns = ["plan_id", "revision", "director_email", "municipal_email", "regional_email"]
    return read_frame(session, query, columns)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None  # None, or NaN from pandas


def approvers(table: pd.DataFrame) -> pd.Series:
    """Return the address deciding each row's `role` (see `approver_for`)."""
    columns = list(ROLE_COLUMN.values())
    chosen = [
        approver_for(_text(role), {c: _text(v) for c, v in zip(columns, emails, strict=True)})
        for role, *emails in zip(table["role"], *(table[c] for c in columns), strict=True)
    ]
    return pd.Series(chosen, index=table.index, dtype="object")


def supersede_stale(session: Session, plan_ids: Collection[int] | None = None) -> int:
    """Mark pending steps of an old revision, or of a plan no longer submitted, superseded."""
    current = select(Plan.revision).where(Plan.id == ApprovalStep.plan_id).scalar_subquery()
    status = select(Plan.status).where(Plan.id == ApprovalStep.plan_id).scalar_subquery()
    stale: ColumnElement[bool] = or_(
        ApprovalStep.revision != current, status != PlanStatus.SUBMITTED
    )
    statement = (
        update(ApprovalStep)
        .where(ApprovalStep.status == StepStatus.PENDING, stale)
        .values(status=StepStatus.SUPERSEDED)
        .execution_options(synchronize_session=False)
    )
    if plan_ids is not None:
        statement = statement.where(ApprovalStep.plan_id.in_(list(plan_ids)))
    return int(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def next_steps(plans: pd.DataFrame, steps: pd.DataFrame, chain: list[Role]) -> pd.DataFrame:
    """Return the step each plan needs now (plan_id, revision, step_index, role; role None: done).

    `steps` holds the steps of the plans' current revisions. A plan with a pending or returned
    step needs nothing; otherwise its next role is the first of the chain nobody approved yet.
    """
    seen: dict[int, list[StepState]] = defaultdict(list)
    for step in steps.to_dict("records"):
        seen[int(step["plan_id"])].append(_state(step))
    rows = []
    for plan in plans.to_dict("records"):
        wanted = next_step(seen[int(plan["plan_id"])], chain)
        if wanted is not None:
            rows.append((int(plan["plan_id"]), int(plan["revision"]), *astuple(wanted)))
    return pd.DataFrame(rows, columns=["plan_id", "revision", "step_index", "role"])


def _state(step: dict[Hashable, Any]) -> StepState:
    return StepState(int(step["step_index"]), str(step["role"]), str(step["status"]))


def ensure_steps(
    session: Session,
    config: Config,
    *,
    semester_id: int | None = None,
    plan_ids: Collection[int] | None = None,
) -> StepChanges:
    """Give every submitted plan (of a semester, or these plans) its next pending step, and
    move pending steps whose approver the roster no longer names to the one it does."""
    superseded = supersede_stale(session, plan_ids)
    moved = move_steps(session, semester_id=semester_id, plan_ids=plan_ids)
    wanted = wanted_steps(session, config, semester_id=semester_id, plan_ids=plan_ids)
    created = create_steps(session, wanted)
    done = [int(plan_id) for plan_id in wanted.loc[wanted["role"].isna(), "plan_id"]]
    complete(session, done)
    return StepChanges(created, superseded, len(done), moved)


_MOVE = (
    update(cast(Table, ApprovalStep.__table__))
    .where(
        ApprovalStep.id == bindparam("b_step"),
        ApprovalStep.status == StepStatus.PENDING,
        ApprovalStep.approver_email == bindparam("b_from"),
    )
    .values(approver_email=bindparam("b_to"), notified_at=None, notified_to=None, reminded_at=None)
)


def move_steps(
    session: Session,
    *,
    semester_id: int | None = None,
    plan_ids: Collection[int] | None = None,
) -> int:
    """Move each pending step whose approver is no longer the one the roster names for its
    role (a coordinator replaced, a school moved to another municipality or region) to the one
    it names; return how many moved.

    The step keeps its place and age; it is announced to the new approver by the next digest
    (its `notified_at` cleared), and the old approver's links no longer work (`tokens.verify`
    says the plan moved, naming the role). Each move is in the audit log. Decided steps stay
    as they are: a decision made before the move stands.
    """
    plans = approver_table(session, semester_id=semester_id, plan_ids=plan_ids)
    if plans.empty:
        return 0
    query = (
        select(
            ApprovalStep.id,
            ApprovalStep.plan_id,
            ApprovalStep.revision,
            ApprovalStep.step_index,
            ApprovalStep.role,
            ApprovalStep.approver_email,
        )
        .join(Plan, (Plan.id == ApprovalStep.plan_id) & (Plan.revision == ApprovalStep.revision))
        .where(ApprovalStep.status == StepStatus.PENDING, Plan.status == PlanStatus.SUBMITTED)
    )
    if semester_id is not None:
        query = query.where(Plan.semester_id == semester_id)
    if plan_ids is not None:
        query = query.where(Plan.id.in_(list(plan_ids)))
    columns = ["step_id", "plan_id", "revision", "step_index", "role", "approver_email"]
    steps = read_frame(session, query, columns)
    if steps.empty:
        return 0
    merged = steps.merge(plans.drop(columns="revision"), on="plan_id")
    merged["configured"] = approvers(merged)
    wrong = merged["configured"].notna() & (
        merged["configured"].str.lower() != merged["approver_email"].str.lower()
    )
    moves = merged[wrong]
    if moves.empty:
        return 0
    now = utcnow()
    done = []
    for row in moves.to_dict("records"):
        params = {
            "b_step": int(row["step_id"]),
            "b_from": row["approver_email"],
            "b_to": row["configured"],
        }
        if session.execute(_MOVE, params).rowcount == 1:  # type: ignore[attr-defined]
            done.append(row)
    if done:
        session.execute(insert(AuditEntry), [_moved(row, now) for row in done])
        log.info("%s pending approval steps moved to the approvers the roster names", len(done))
    return len(done)


MOVED = "approval.step.moved"
_MOVES = select(AuditEntry.details).where(
    AuditEntry.action == MOVED, AuditEntry.entity == "plan", AuditEntry.entity_id == bindparam("p")
)


def moved_from(session: Executor, plan_id: int, step_id: int, person: str) -> bool:
    """Return whether this step was moved away from `person` (the audit log keeps each move)."""
    return any(
        details.get("step_id") == step_id and str(details.get("from", "")).lower() == person.lower()
        for details in session.scalars(_MOVES, {"p": plan_id})
    )


def _moved(row: dict[Hashable, Any], at: Any) -> dict[str, Any]:
    """Return the audit entry of one step moved to another approver."""
    return {
        "at": at,
        "actor": "system",
        "action": MOVED,
        "entity": "plan",
        "entity_id": int(row["plan_id"]),
        "details": {
            "step_id": int(row["step_id"]),
            "revision": int(row["revision"]),
            "step_index": int(row["step_index"]),
            "role": str(row["role"]),
            "from": str(row["approver_email"]),
            "to": str(row["configured"]),
            "why": "the roster names another approver for this role",
        },
    }


def wanted_steps(
    session: Session,
    config: Config,
    *,
    semester_id: int | None = None,
    plan_ids: Collection[int] | None = None,
) -> pd.DataFrame:
    """Return the next step of each submitted plan that needs one, with its approver's address."""
    plans = approver_table(session, semester_id=semester_id, plan_ids=plan_ids)
    if plans.empty:
        return pd.DataFrame(columns=["plan_id", "revision", "step_index", "role", "approver"])
    query = (
        select(
            ApprovalStep.plan_id, ApprovalStep.step_index, ApprovalStep.role, ApprovalStep.status
        )
        .join(Plan, (Plan.id == ApprovalStep.plan_id) & (Plan.revision == ApprovalStep.revision))
        .where(Plan.status == PlanStatus.SUBMITTED)
    )
    if semester_id is not None:
        query = query.where(Plan.semester_id == semester_id)
    if plan_ids is not None:
        query = query.where(Plan.id.in_(list(plan_ids)))
    steps = pd.DataFrame(
        session.execute(query).all(), columns=["plan_id", "step_index", "role", "status"]
    )
    wanted = next_steps(plans, steps, config.programme.approval_chain)
    merged = wanted.merge(plans, on=["plan_id", "revision"])
    merged["approver"] = approvers(merged)
    return merged[["plan_id", "revision", "step_index", "role", "approver"]]


_PLAN_STEPS = select(ApprovalStep.step_index, ApprovalStep.role, ApprovalStep.status).where(
    ApprovalStep.plan_id == bindparam("plan_id"), ApprovalStep.revision == bindparam("revision")
)
_INSERT_STEP = insert(cast(Table, ApprovalStep.__table__))


def plan_next_step(
    session: Session,
    config: Config,
    plan_id: int,
    revision: int,
    emails: Mapping[str, str | None],
) -> tuple[NextStep, str | None] | None:
    """Return one submitted plan's next step and its approver, without a DataFrame.

    The same rule as `wanted_steps` (`next_step`, `approver_for`) for the one plan a decision
    moved on: one query for the steps of the plan's current revision. `emails` holds the
    plan's addresses by the columns of `approver_table`.
    """
    rows = session.execute(_PLAN_STEPS, {"plan_id": plan_id, "revision": revision})
    own = [StepState(int(index), str(role), str(status)) for index, role, status in rows]
    wanted = next_step(own, config.programme.approval_chain)
    if wanted is None:
        return None
    return wanted, approver_for(wanted.role, emails)


def create_step(
    session: Session, plan_id: int, revision: int, wanted: NextStep, approver: str
) -> None:
    """Insert one pending step `plan_next_step` asked for."""
    assert wanted.role is not None
    session.execute(
        _INSERT_STEP,
        {
            "plan_id": plan_id,
            "revision": revision,
            "step_index": wanted.step_index,
            "role": wanted.role,
            "approver_email": approver,
            "status": StepStatus.PENDING,
            "created_at": utcnow(),
        },
    )


def create_steps(session: Session, wanted: pd.DataFrame) -> int:
    """Insert the pending steps `wanted_steps` asked for; return how many."""
    todo = wanted[wanted["role"].notna()]
    if todo.empty:
        return 0
    now = utcnow()
    session.execute(
        insert(cast(Table, ApprovalStep.__table__)),
        [
            {
                "plan_id": int(row["plan_id"]),
                "revision": int(row["revision"]),
                "step_index": int(row["step_index"]),
                "role": str(row["role"]),
                "approver_email": str(row["approver"]),
                "status": StepStatus.PENDING,
                "created_at": now,
            }
            for row in todo.to_dict("records")
        ],
    )
    return len(todo)


def complete(session: Session, plan_ids: list[int]) -> None:
    """Approve plans whose whole chain has approved (after the chain in config got shorter)."""
    if not plan_ids:
        return
    for plan in session.scalars(select(Plan).where(Plan.id.in_(plan_ids))):
        lifecycle.move(plan, PlanStatus.APPROVED)
        session.add(
            AuditEntry(
                actor="system",
                action="plan.approved",
                entity="plan",
                entity_id=plan.id,
                details={"revision": plan.revision, "why": "every step of the chain approved"},
            )
        )
        log.info("plan %s approved: every step of the configured chain has approved", plan.id)
