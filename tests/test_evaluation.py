"""Evaluating a semester in the store: files in a real inbox, plans moved on, rows accounted for."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from pumpurs.collect import collect
from pumpurs.context import Context, load_context, use_settings
from pumpurs.evaluation import EvaluationReport, evaluate
from pumpurs.generate import generate
from pumpurs.models import Evaluation, EvaluationMeasure, Plan, PlanStatus, Pupil, RowRejection
from pumpurs.settings import Settings
from pumpurs.store import ensure_semester
from tests.evaluation_factory import SEMESTER, eur, hours, put_evaluation, store_plan

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    with use_settings(settings):
        yield load_context(settings)


def run(ctx: Context) -> EvaluationReport:
    with ctx.sessions.begin() as session:
        return evaluate(session, ctx.config, ctx.settings, SEMESTER)


def rejected(ctx: Context) -> dict[int, str]:
    with ctx.sessions() as session:
        rows = session.execute(select(RowRejection.row_number, RowRejection.rule)).all()
    return {number: rule for number, rule in rows}


def messages(ctx: Context) -> dict[int, str]:
    with ctx.sessions() as session:
        rows = session.execute(select(RowRejection.row_number, RowRejection.message)).all()
    return {number: message for number, message in rows}


def test_a_file_evaluates_its_plans_and_moves_them_on(ctx: Context) -> None:
    first = store_plan(
        ctx,
        "P-001",
        [
            hours("subject_consultation", 4, "mathematics"),
            hours("psychologist", 2),
            eur("meals", 50),
        ],
    )
    second = store_plan(ctx, "P-002", [eur("transport", 25)])
    put_evaluation(
        ctx,
        "izvertejums.csv",
        "LV-LIE-006;P-001;subject_consultation;mathematics;12,8;;improved;yes;Sekmes uzlabojās",
        "LV-LIE-006;P-001;psychologist;;4;;no_change;yes;",
        "LV-LIE-006;P-001;meals;;;150;improved;yes;",
        "LV-LIE-006;P-002;transport;;;0;worse;no;Kompensācija netika pieprasīta",
    )
    report = run(ctx)
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (4, 4, 0)
    assert (report.plans_evaluated, report.plans_continued, report.plans_closed) == (2, 1, 1)
    with ctx.sessions() as session:
        assert session.get(Plan, first).status == PlanStatus.CONTINUED  # type: ignore[union-attr]
        assert session.get(Plan, second).status == PlanStatus.CLOSED  # type: ignore[union-attr]
        done = {e.plan_id: e for e in session.scalars(select(Evaluation))}
        measures = session.scalars(
            select(EvaluationMeasure).where(EvaluationMeasure.evaluation_id == done[first].id)
        ).all()
    one, two = done[first], done[second]
    assert (one.outcome, one.continue_plan, one.comment) == ("no_change", True, "Sekmes uzlabojās")
    assert one.fidelity == 1 / 3 and one.weighted_ratio == (16.8 / 24 + 0.75) / 2
    assert one.flags == {} and one.submission_id is not None
    assert sorted(
        (m.measure, m.subject, m.planned, m.delivered_hours, m.spent_eur, m.ratio) for m in measures
    ) == [
        ("meals", None, 200.0, None, 150.0, 0.75),
        ("psychologist", None, 8.0, 4.0, None, 0.5),
        ("subject_consultation", "mathematics", 16.0, 12.8, None, 0.8),
    ]
    assert (two.outcome, two.continue_plan, two.weighted_ratio, two.fidelity) == (
        "worse",
        False,
        0.0,
        0.0,
    )
    assert two.flags == {"no_delivery": True, "outcome_worse": True}


def test_rows_that_match_no_approved_plan_are_rejected_with_reasons(ctx: Context) -> None:
    store_plan(ctx, "P-001", [hours("psychologist", 2), eur("meals", 50)])
    store_plan(ctx, "P-002", [hours("psychologist", 2)], status=PlanStatus.SUBMITTED)
    store_plan(ctx, "P-003", [hours("psychologist", 2)])
    store_plan(ctx, "P-005", [hours("psychologist", 2)])
    store_plan(ctx, "P-006", [hours("psychologist", 2)])
    put_evaluation(
        ctx,
        "izvertejums.csv",
        "LV-LIE-006;P-001;psychologist;;8;;improved;yes;",  # 2: the rest of P-001's rows
        "LV-LIE-006;P-001;speech_therapist;;3;;improved;yes;",  # 3: not in the plan
        "LV-LIE-006;P-001;meals;;;200;improved;yes;",  # 4
        "LV-LIE-006;P-002;psychologist;;4;;improved;no;",  # 5: not approved yet
        "LV-LIE-006;P-404;psychologist;;4;;improved;no;",  # 6: no such plan
        "LV-LIE-006;P-003;psychologist;;8;;improved;no;",  # 7
        "LV-LIE-006;P-003;psychologist;;6;;improved;no;",  # 8: the same measure again
        "LV-LIE-006;P-005;psychologist;;8;;improved;no;",  # 9: fine
        "LV-LIE-006;P-006;psychologist;;daudz;;improved;no;",  # 10: not a number
    )
    report = run(ctx)
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (9, 1, 8)
    assert report.plans_evaluated == 1
    assert rejected(ctx) == {
        2: "plan_rejected",
        3: "measure_not_in_plan",
        4: "plan_rejected",
        5: "plan_not_approved",
        6: "no_plan",
        7: "plan_rejected",
        8: "measure_repeated",
        10: "delivered_not_number",
    }
    text = messages(ctx)
    assert text[3] == (
        "Pasākums “logopēda nodarbības” nav skolēna “P-001” apstiprinātajā plānā. Plānā ir: "
        "psihologa konsultācijas; ēdināšanas izdevumu kompensācija. Izlabojiet pasākumu vai "
        "priekšmetu vai izdzēsiet šo rindu."
    )
    assert "kļūdas ir šī skolēna rindās: 3." in text[2]
    assert "(tā statuss: iesniegts, gaida apstiprinājumu)" in text[5]
    assert "jau ir izvērtēts rindā 7." in text[8]
    with ctx.sessions() as session:
        statuses = dict(session.execute(select(Plan.id, Plan.status)).tuples().all())
    assert sorted(statuses.values()) == ["approved", "approved", "approved", "closed", "submitted"]


def test_a_plan_missing_a_measure_is_evaluated_and_flagged(ctx: Context) -> None:
    store_plan(ctx, "P-001", [hours("psychologist", 2), eur("meals", 50)])
    put_evaluation(ctx, "izvertejums.csv", "LV-LIE-006;P-001;psychologist;;8;;improved;no;")
    assert run(ctx).plans_evaluated == 1
    with ctx.sessions() as session:
        evaluation = session.scalars(select(Evaluation)).one()
        meals = session.scalars(
            select(EvaluationMeasure).where(EvaluationMeasure.measure == "meals")
        ).one()
    assert evaluation.flags == {"missing_measures": ["meals"]}
    assert evaluation.fidelity == 0.5 and evaluation.weighted_ratio == (1.0 + 0.0) / 2
    assert (meals.planned, meals.spent_eur, meals.ratio) == (200.0, None, 0.0)


def test_a_pupil_in_two_files_is_evaluated_from_the_first(ctx: Context) -> None:
    store_plan(ctx, "P-001", [hours("psychologist", 2)])
    put_evaluation(ctx, "a.csv", "LV-LIE-006;P-001;psychologist;;8;;improved;no;")
    put_evaluation(ctx, "b.csv", "LV-LIE-006;P-001;psychologist;;2;;worse;yes;")
    report = run(ctx)
    assert (report.plans_evaluated, report.rows_rejected) == (1, 1)
    assert rejected(ctx) == {2: "pupil_in_two_files"}
    assert "jau ir failā “a.csv”" in messages(ctx)[2]
    with ctx.sessions() as session:
        assert session.scalars(select(Evaluation.weighted_ratio)).one() == 1.0


def test_a_second_file_cannot_evaluate_a_plan_again_and_a_rerun_reads_nothing(
    ctx: Context,
) -> None:
    store_plan(ctx, "P-001", [hours("psychologist", 2)])
    put_evaluation(ctx, "a.csv", "LV-LIE-006;P-001;psychologist;;8;;improved;no;")
    assert run(ctx).plans_evaluated == 1
    again = run(ctx)
    assert (again.files, again.skipped, again.rows_read) == (0, 1, 0)
    put_evaluation(ctx, "b.csv", "LV-LIE-006;P-001;psychologist;;2;;worse;yes;")
    late = run(ctx)
    assert (late.files, late.plans_evaluated, late.rows_rejected) == (1, 0, 1)
    assert rejected(ctx) == {2: "plan_already_evaluated"}
    with ctx.sessions() as session:
        assert session.scalars(select(Evaluation.outcome)).all() == ["improved"]
        assert session.scalars(select(Plan.status)).all() == ["closed"]


def test_partial_acceptance_evaluates_the_rows_without_errors(
    settings: Settings, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    programme = config / "programme.yaml"
    text = programme.read_text().replace("partial_acceptance: false", "partial_acceptance: true")
    programme.write_text(text)
    local = settings.model_copy(update={"config_dir": config})
    with use_settings(local):
        ctx = load_context(local)
        store_plan(ctx, "P-001", [hours("psychologist", 2), eur("meals", 50)])
        put_evaluation(
            ctx,
            "a.csv",
            "LV-LIE-006;P-001;psychologist;;8;;improved;no;",
            "LV-LIE-006;P-001;meals;;;-5;improved;no;",
        )
        report = run(ctx)
    assert (report.plans_evaluated, report.rows_rejected) == (1, 1)
    assert rejected(ctx) == {3: "negative_value"}
    with ctx.sessions() as session:
        assert session.scalars(select(Evaluation.flags)).one() == {"missing_measures": ["meals"]}


def test_messages_follow_the_language_setting(settings: Settings) -> None:
    english = settings.model_copy(update={"language": "en"})
    with use_settings(english):
        ctx = load_context(english)
        put_evaluation(ctx, "a.csv", "LV-LIE-006;P-404;psychologist;;8;;improved;no;")
        with ctx.sessions.begin() as session:
            ensure_semester(session, ctx.config, SEMESTER)
        run(ctx)
    assert messages(ctx)[2].startswith("Pupil “P-404” has no support plan this semester")


def test_a_generated_semester_is_evaluated_as_its_manifest_says(
    settings: Settings, tmp_path: Path
) -> None:
    generate("small", 5, tmp_path / "data", SEMESTER)
    manifest = json.loads((tmp_path / "data" / "manifest.json").read_text())
    files = [f for f in manifest["files"] if f["kind"] == "evaluation"]
    local = settings.model_copy(
        update={
            "config_dir": tmp_path / "data" / "config",
            "inbox_dir": tmp_path / "data" / "inbox",
        }
    )
    with use_settings(local):
        ctx = load_context(local)
        with ctx.sessions.begin() as session:
            ensure_semester(session, ctx.config, SEMESTER)
            collect(session, ctx.config, local, SEMESTER)
            session.execute(update(Plan).values(status=PlanStatus.APPROVED))
        report = run(ctx)
    assert report.rows_read == report.rows_accepted == sum(f["rows"] for f in files)
    missing = sum(len(f["missing_pupils"]) for f in files)
    assert report.plans_evaluated == manifest["valid"]["plans"] - missing
    with ctx.sessions() as session:
        zero, over_hours, over_eur = session.execute(
            select(
                func.count().filter(
                    func.coalesce(EvaluationMeasure.delivered_hours, EvaluationMeasure.spent_eur)
                    == 0
                ),
                func.count().filter(
                    EvaluationMeasure.delivered_hours.is_not(None), EvaluationMeasure.ratio > 1
                ),
                func.count().filter(
                    EvaluationMeasure.spent_eur.is_not(None), EvaluationMeasure.ratio > 1
                ),
            )
        ).one()
        waiting = session.scalars(
            select(Pupil.ref)
            .join(Plan, Plan.pupil_id == Pupil.id)
            .where(Plan.status == PlanStatus.APPROVED)
        ).all()
    assert zero == sum(f["zero_delivered"] for f in files)
    assert over_hours == sum(f["over_delivered"] for f in files)
    assert over_eur == sum(f["overspent"] for f in files)
    assert sorted(waiting) == sorted(ref for f in files for ref in f["missing_pupils"])
