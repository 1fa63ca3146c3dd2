"""The semester's plans as an evaluation reads them, from a real store."""

from __future__ import annotations

import pytest

import pumpurs.evaluation.plans
from pumpurs.evaluation.evaluate import evaluate
from pumpurs.evaluation.plans import PLAN_COLUMNS, PLANNED_COLUMNS, planned_measures, semester_plans
from pumpurs.opening.carry import open_records
from pumpurs.store.context import Context
from pumpurs.store.reference import stored_semester
from tests.evaluation.factory import SEMESTER, eur, hours, put_evaluation, store_plan


def test_the_plans_say_which_are_evaluated_and_which_were_carried_over(ctx: Context) -> None:
    store_plan(ctx, "P-001", [hours("psychologist", 2)])
    store_plan(ctx, "P-002", [hours("psychologist", 2)])
    put_evaluation(ctx, "a.csv", "LV-LIE-006;P-001;psychologist;;8;;improved;yes;")
    with ctx.sessions.begin() as session:
        semester = stored_semester(session, SEMESTER)
        evaluate(session, ctx.config, ctx.settings, semester)
        assert open_records(session, ctx.config, SEMESTER.next()).plans_carried == 1
    with ctx.sessions() as session:
        plans = semester_plans(session, semester.id)
    assert list(plans.columns) == PLAN_COLUMNS
    shown = plans.set_index("pupil_ref")[["status", "evaluated", "carried"]]
    assert shown.loc["P-001"].to_numpy().tolist() == ["continued", True, True]
    assert shown.loc["P-002"].to_numpy().tolist() == ["approved", False, False]


def test_planned_measures_are_read_a_chunk_of_plans_at_a_time(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [store_plan(ctx, f"P-00{i}", [hours("psychologist", 2), eur("meals", 50)])
           for i in range(3)]  # fmt: skip
    monkeypatch.setattr(pumpurs.evaluation.plans, "CHUNK", 2)
    with ctx.sessions() as session:
        planned = planned_measures(session, ids)
        none = planned_measures(session, [])
    assert list(planned.columns) == list(none.columns) == PLANNED_COLUMNS
    assert sorted(planned["plan_id"]) == sorted(ids * 2) and none.empty
    meals = planned[planned["measure"].eq("meals")]
    assert meals["eur_per_month"].tolist() == [50.0] * 3
