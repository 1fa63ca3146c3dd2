from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import delete, select

from pumpurs.approvals import Origin, Outcome, decide_step, ensure_steps
from pumpurs.approvals.chain import NextStep, StepState, approver_for, next_step
from pumpurs.approvals.steps import approvers, create_step, next_steps, plan_next_step
from pumpurs.config import Config, Role
from pumpurs.store.context import Context
from pumpurs.store.models import ApprovalStep, Plan, PlanStatus, StepStatus
from tests.approvals.factory import KURZEME, RIGA_REGION, resubmit, submitted_plan

ORIGIN = Origin(ip="127.0.0.1", user_agent="pytest")


def _with_chain(config: Config, chain: list[Role]) -> Config:
    programme = config.programme.model_copy(update={"approval_chain": chain})
    return config.model_copy(update={"programme": programme})


def _steps(ctx: Context) -> list[tuple[int, int, int, str, str, str]]:
    with ctx.sessions() as session:
        rows = session.execute(
            select(
                ApprovalStep.plan_id,
                ApprovalStep.revision,
                ApprovalStep.step_index,
                ApprovalStep.role,
                ApprovalStep.approver_email,
                ApprovalStep.status,
            ).order_by(ApprovalStep.id)
        ).all()
    return [tuple(row) for row in rows]


def test_each_submitted_plan_gets_one_step_for_its_regional_coordinator(context: Context) -> None:
    liepaja = submitted_plan(context, "LV-LIE-006", "P-0001")
    riga = submitted_plan(context, "LV-RIG-T01", "P-0002")
    with context.sessions.begin() as session:
        changes = ensure_steps(session, context.config)
    assert (changes.created, changes.superseded, changes.completed) == (2, 0, 0)
    with context.sessions.begin() as session:
        assert ensure_steps(session, context.config).created == 0  # a re-run adds nothing
    assert _steps(context) == [
        (liepaja, 1, 0, "regional_coordinator", KURZEME, "pending"),
        (riga, 1, 0, "regional_coordinator", RIGA_REGION, "pending"),
    ]


def test_a_new_revision_supersedes_the_pending_step(context: Context) -> None:
    plan_id = submitted_plan(context)
    with context.sessions.begin() as session:
        ensure_steps(session, context.config)
    resubmit(context, plan_id)
    with context.sessions.begin() as session:
        changes = ensure_steps(session, context.config)
    assert (changes.created, changes.superseded) == (1, 1)
    assert [(r[1], r[5]) for r in _steps(context)] == [(1, "superseded"), (2, "pending")]


def test_a_longer_chain_goes_step_by_step_to_the_last_approver(context: Context) -> None:
    config = _with_chain(context.config, [Role.MUNICIPAL_COORDINATOR, Role.REGIONAL_COORDINATOR])
    plan_id = submitted_plan(context)
    with context.sessions.begin() as session:
        ensure_steps(session, config)
    first = _steps(context)[0]
    assert first[3:5] == ("municipal_coordinator", "koordinators@liepaja.example")
    with context.sessions.begin() as session:
        step_id = session.scalars(select(ApprovalStep.id)).one()
        decided = decide_step(
            session, config, context.settings, step_id, first[4], Outcome.APPROVED,
            reason=None, origin=ORIGIN,
        )  # fmt: skip
    assert (decided.next_approver, decided.next_role) == (KURZEME, "regional_coordinator")
    assert decided.plan_status == PlanStatus.SUBMITTED
    with context.sessions.begin() as session:
        second = session.scalars(
            select(ApprovalStep).where(ApprovalStep.status == StepStatus.PENDING)
        ).one()
        final = decide_step(
            session, config, context.settings, second.id, KURZEME, Outcome.APPROVED,
            reason=None, origin=ORIGIN,
        )  # fmt: skip
    assert final.next_approver is None and final.plan_status == PlanStatus.APPROVED
    with context.sessions() as session:
        assert session.get(Plan, plan_id).status == PlanStatus.APPROVED  # type: ignore[union-attr]


def test_a_shortened_chain_completes_plans_whose_remaining_roles_all_approved(
    context: Context,
) -> None:
    long = _with_chain(context.config, [Role.MUNICIPAL_COORDINATOR, Role.REGIONAL_COORDINATOR])
    plan_id = submitted_plan(context)
    with context.sessions.begin() as session:
        ensure_steps(session, long)
        step_id = session.scalars(select(ApprovalStep.id)).one()
        decide_step(
            session, long, context.settings, step_id, "koordinators@liepaja.example",
            Outcome.APPROVED, reason=None, origin=ORIGIN,
        )  # fmt: skip
    # The chain shrinks to the municipal role, and the regional step is retired meanwhile.
    short = _with_chain(context.config, [Role.MUNICIPAL_COORDINATOR])
    with context.sessions.begin() as session:
        pending = session.scalars(
            select(ApprovalStep).where(ApprovalStep.status == StepStatus.PENDING)
        ).one()
        pending.status = StepStatus.SUPERSEDED
        changes = ensure_steps(session, short)
    assert changes.completed == 1
    with context.sessions() as session:
        assert session.get(Plan, plan_id).status == PlanStatus.APPROVED  # type: ignore[union-attr]


CHAIN = [Role.SCHOOL_DIRECTOR, Role.REGIONAL_COORDINATOR]


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([], (0, "school_director")),
        ([(0, "school_director", "approved")], (1, "regional_coordinator")),
        ([(0, "school_director", "pending")], None),
        ([(0, "school_director", "returned")], None),
        ([(0, "school_director", "superseded")], (1, "school_director")),
        ([(0, "school_director", "approved"), (1, "regional_coordinator", "approved")], (2, None)),
    ],
)
def test_next_steps_follows_the_chain(
    steps: list[tuple[int, str, str]], expected: tuple[int, str | None] | None
) -> None:
    plans = pd.DataFrame({"plan_id": [7], "revision": [2]})
    frame = pd.DataFrame(
        [(7, *step) for step in steps], columns=["plan_id", "step_index", "role", "status"]
    )
    wanted = next_steps(plans, frame, CHAIN)
    if expected is None:
        assert wanted.empty
    else:
        row = wanted.iloc[0]
        assert (int(row["step_index"]), row["role"]) == expected
        assert int(row["revision"]) == 2


def test_approvers_fall_back_to_the_regional_coordinator() -> None:
    table = pd.DataFrame(
        {
            "role": ["school_director", "school_director", "municipal_coordinator", None],
            "director_email": ["dir@school.example", None, None, None],
            "municipal_email": [None, None, "mun@city.example", None],
            "regional_email": ["reg@region.example"] * 4,
        }
    )
    chosen = approvers(table)
    assert chosen[:3].tolist() == ["dir@school.example", "reg@region.example", "mun@city.example"]
    assert pd.isna(chosen[3])  # no role left: nobody to ask


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([], NextStep(0, "school_director")),
        ([StepState(0, "school_director", "approved")], NextStep(1, "regional_coordinator")),
        ([StepState(0, "school_director", "pending")], None),
        ([StepState(0, "school_director", "returned")], None),
        ([StepState(0, "school_director", "superseded")], NextStep(1, "school_director")),
        (
            [
                StepState(0, "school_director", "approved"),
                StepState(1, "regional_coordinator", "approved"),
            ],
            NextStep(2, None),
        ),
        # Out of order and with a gap: the index follows the last step whatever came before.
        ([StepState(3, "regional_coordinator", "approved")], NextStep(4, "school_director")),
    ],
)
def test_next_step_is_the_one_rule_for_one_plan(
    steps: list[StepState], expected: NextStep | None
) -> None:
    assert next_step(steps, CHAIN) == expected


def test_the_bulk_and_the_single_plan_paths_agree() -> None:
    cases = [
        [],
        [(0, "school_director", "approved")],
        [(0, "school_director", "pending")],
        [(0, "school_director", "superseded"), (1, "school_director", "approved")],
        [(0, "school_director", "approved"), (1, "regional_coordinator", "approved")],
    ]
    plans = pd.DataFrame({"plan_id": range(len(cases)), "revision": [1] * len(cases)})
    frame = pd.DataFrame(
        [(plan_id, *step) for plan_id, steps in enumerate(cases) for step in steps],
        columns=["plan_id", "step_index", "role", "status"],
    )
    bulk = {
        int(str(row.plan_id)): NextStep(
            int(str(row.step_index)), row.role if isinstance(row.role, str) else None
        )
        for row in next_steps(plans, frame, CHAIN).itertuples()
    }
    single = {
        plan_id: next_step([StepState(*step) for step in steps], CHAIN)
        for plan_id, steps in enumerate(cases)
    }
    assert bulk == {plan_id: found for plan_id, found in single.items() if found is not None}


def test_approver_for_falls_back_to_the_regional_coordinator() -> None:
    emails = {
        "director_email": "dir@school.example",
        "municipal_email": "",
        "regional_email": "reg@region.example",
    }
    assert approver_for("school_director", emails) == "dir@school.example"
    assert approver_for("municipal_coordinator", emails) == "reg@region.example"
    assert approver_for("regional_coordinator", emails) == "reg@region.example"
    assert approver_for("school_director", emails | {"director_email": None}) == (
        "reg@region.example"
    )
    assert approver_for(None, emails) is None
    assert approver_for("janitor", emails) is None


def test_plan_next_step_reads_one_plan_as_ensure_steps_does(context: Context) -> None:
    chain = _with_chain(context.config, CHAIN)
    plan_id = submitted_plan(context)
    emails = {"director_email": "dir@school.example", "municipal_email": None,
              "regional_email": KURZEME}  # fmt: skip
    with context.sessions.begin() as session:
        plan = session.get(Plan, plan_id)
        assert plan is not None
        revision = plan.revision
        session.execute(delete(ApprovalStep).where(ApprovalStep.plan_id == plan_id))
        found = plan_next_step(session, chain, plan_id, revision, emails)
        assert found == (NextStep(0, "school_director"), "dir@school.example")
        create_step(session, plan_id, revision, *found)
        assert plan_next_step(session, chain, plan_id, revision, emails) is None  # pending
        step = session.scalars(select(ApprovalStep).where(ApprovalStep.plan_id == plan_id)).one()
        assert (step.role, step.approver_email, step.status) == (
            "school_director", "dir@school.example", StepStatus.PENDING)  # fmt: skip
        step.status = StepStatus.APPROVED
        session.flush()
        found = plan_next_step(session, chain, plan_id, revision, emails)
    assert found == (NextStep(1, "regional_coordinator"), KURZEME)
