"""Stored evaluations read back as typed values (corrections: see test_evaluate)."""

from __future__ import annotations

from pumpurs.evaluation.evaluate import evaluate
from pumpurs.evaluation.store import stored_evaluations
from pumpurs.store.context import Context
from pumpurs.store.reference import stored_semester
from tests.evaluation.factory import SEMESTER, eur, hours, put_evaluation, store_plan


def test_a_stored_evaluation_comes_back_with_its_measures_in_order(ctx: Context) -> None:
    plan = store_plan(ctx, "P-001", [hours("psychologist", 2), eur("meals", 50)])
    store_plan(ctx, "P-002", [hours("psychologist", 2)])  # not evaluated
    put_evaluation(
        ctx,
        "a.csv",
        "LV-LIE-006;P-001;psychologist;;8;;improved;no;Regulāri apmeklēja",
        "LV-LIE-006;P-001;meals;;;200;improved;no;",
    )
    with ctx.sessions.begin() as session:
        evaluate(session, ctx.config, ctx.settings, stored_semester(session, SEMESTER))
        found = stored_evaluations(session, [plan, plan + 1])
    assert list(found) == [plan]
    stored = found[plan]
    assert (stored.outcome, stored.continue_plan, stored.status) == ("improved", False, "closed")
    assert stored.comment == "Regulāri apmeklēja" and stored.submission_id is not None
    assert [(m["measure"], m["delivered_hours"], m["spent_eur"]) for m in stored.measures] == [
        ("meals", None, 200.0),
        ("psychologist", 8.0, None),
    ]
