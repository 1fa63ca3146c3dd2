"""Evaluating a semester in the store: files in a real inbox, plans moved on, rows accounted for."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update

from pumpurs.evaluation.evaluate import EvaluationReport, evaluate
from pumpurs.generate import generate
from pumpurs.intake.collect import collect
from pumpurs.opening.carry import open_records
from pumpurs.settings import Settings
from pumpurs.store.context import Context, load_context, use_settings
from pumpurs.store.models import (
    AuditEntry,
    Evaluation,
    EvaluationMeasure,
    OutboxMessage,
    Plan,
    PlanStatus,
    Pupil,
    RowRejection,
    SemesterFigure,
    Submission,
)
from pumpurs.store.reference import StoredSemester, ensure_semester, stored_semester
from pumpurs.summaries.store import read_figures, refresh_figures
from tests.evaluation.factory import SEMESTER, eur, hours, put_evaluation, store_plan

REPO = Path(__file__).resolve().parents[2]


def run(ctx: Context) -> EvaluationReport:
    with ctx.sessions.begin() as session:
        return evaluate(session, ctx.config, ctx.settings, stored_semester(session, SEMESTER))


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
    assert "kļūdas ir šī skolēna rindā 3." in text[2]
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


def test_a_rerun_reads_nothing_and_a_later_file_corrects_the_evaluation(ctx: Context) -> None:
    store_plan(ctx, "P-001", [hours("psychologist", 2)])
    put_evaluation(ctx, "a.csv", "LV-LIE-006;P-001;psychologist;;8;;improved;no;")
    assert run(ctx).plans_evaluated == 1
    again = run(ctx)
    assert (again.files, again.skipped, again.rows_read) == (0, 1, 0)
    put_evaluation(ctx, "b.csv", "LV-LIE-006;P-001;psychologist;;2;;worse;yes;")
    late = run(ctx)
    assert (late.files, late.plans_evaluated, late.plans_corrected, late.rows_rejected) == (
        1,
        1,
        1,
        0,
    )
    assert rejected(ctx) == {}
    with ctx.sessions() as session:
        assert session.scalars(select(Evaluation.outcome)).all() == ["worse"]
        assert session.scalars(select(Plan.status)).all() == ["continued"]


def two_evaluated_plans(ctx: Context) -> tuple[int, int]:
    """Store and evaluate P-001 (continue) and P-002 (close) from a.csv; return their ids."""
    first = store_plan(ctx, "P-001", [hours("psychologist", 2), eur("meals", 50)])
    second = store_plan(ctx, "P-002", [hours("subject_consultation", 4, "mathematics")])
    put_evaluation(
        ctx,
        "a.csv",
        "LV-LIE-006;P-001;psychologist;;8;;improved;yes;Regulāri apmeklēja",
        "LV-LIE-006;P-001;meals;;;200;improved;yes;",
        "LV-LIE-006;P-002;subject_consultation;mathematics;16;;improved;no;",
    )
    report = run(ctx)
    assert (report.plans_evaluated, report.plans_continued, report.plans_corrected) == (2, 1, 0)
    return first, second


def evaluations(ctx: Context) -> dict[int, Evaluation]:
    with ctx.sessions() as session:
        return {e.plan_id: e for e in session.scalars(select(Evaluation))}


def statuses(ctx: Context) -> dict[int, str]:
    with ctx.sessions() as session:
        return dict(session.execute(select(Plan.id, Plan.status)).tuples().all())


def audit(ctx: Context) -> list[AuditEntry]:
    with ctx.sessions() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.entity_id)))


def test_a_corrected_file_replaces_the_evaluation_and_flips_continue(ctx: Context) -> None:
    first, second = two_evaluated_plans(ctx)
    before = evaluations(ctx)
    assert statuses(ctx) == {first: "continued", second: "closed"}
    put_evaluation(
        ctx,
        "labots.csv",
        "LV-LIE-006;P-001;psychologist;;4;;no_change;no;Pārcēlās uz citu skolu",
        "LV-LIE-006;P-001;meals;;;100;no_change;no;",
        "LV-LIE-006;P-002;subject_consultation;mathematics;8;;worse;yes;",
    )
    report = run(ctx)
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (3, 3, 0)
    assert (report.plans_evaluated, report.plans_corrected, report.plans_unchanged) == (2, 2, 0)
    assert (report.plans_continued, report.plans_closed) == (1, 1)
    assert report.schools[0]["plans_corrected"] == 2
    assert statuses(ctx) == {first: "closed", second: "continued"}
    after = evaluations(ctx)
    one, two = after[first], after[second]
    assert (one.outcome, one.continue_plan, one.comment) == (
        "no_change",
        False,
        "Pārcēlās uz citu skolu",
    )
    assert (one.fidelity, one.weighted_ratio) == (0.0, 0.5)
    assert (two.outcome, two.continue_plan, two.weighted_ratio) == ("worse", True, 0.5)
    assert two.flags == {"outcome_worse": True}
    assert one.submission_id != before[first].submission_id
    with ctx.sessions() as session:
        rows = session.execute(
            select(EvaluationMeasure.evaluation_id, EvaluationMeasure.measure,
                   EvaluationMeasure.delivered_hours, EvaluationMeasure.spent_eur)
        ).all()  # fmt: skip
    assert sorted(rows, key=str) == sorted(
        [
            (one.id, "meals", None, 100.0),
            (one.id, "psychologist", 4.0, None),
            (two.id, "subject_consultation", 8.0, None),
        ],
        key=str,
    )  # the old measures are gone, not kept beside the new ones

    entries = audit(ctx)
    assert [(e.action, e.entity, e.entity_id) for e in entries] == [
        ("evaluation.corrected", "plan", first),
        ("evaluation.corrected", "plan", second),
    ]
    assert entries[0].actor == "iaps@raina6.liepaja.example"  # the school's coordinator
    details = entries[0].details
    assert details["submission"] == {
        "old": before[first].submission_id,
        "new": one.submission_id,
    }
    assert details["status"] == {"old": "continued", "new": "closed"}
    assert {
        k: details["old"][k] for k in ("outcome", "continue", "fidelity", "weighted_ratio")
    } == {
        "outcome": "improved",
        "continue": True,
        "fidelity": 1.0,
        "weighted_ratio": 1.0,
    }
    assert details["old"]["comment"] == "Regulāri apmeklēja"
    assert [(m["measure"], m["delivered_hours"], m["spent_eur"])
            for m in details["old"]["measures"]] == [
        ("meals", None, 200.0),
        ("psychologist", 8.0, None),
    ]  # fmt: skip
    assert details["new"]["outcome"] == "no_change" and details["new"]["continue"] is False
    assert entries[1].details["status"] == {"old": "closed", "new": "continued"}
    assert "P-00" not in json.dumps([e.details for e in entries])  # no pupil reference


def test_a_plan_carried_into_the_next_semester_can_no_longer_be_corrected(
    ctx: Context,
) -> None:
    first, second = two_evaluated_plans(ctx)
    with ctx.sessions.begin() as session:
        assert open_records(session, ctx.config, SEMESTER.next()).plans_carried == 1
    before = evaluations(ctx)
    put_evaluation(
        ctx,
        "labots.csv",
        "LV-LIE-006;P-001;psychologist;;4;;no_change;no;",
        "LV-LIE-006;P-001;meals;;;100;no_change;no;",
        "LV-LIE-006;P-002;subject_consultation;mathematics;8;;worse;no;",
    )
    report = run(ctx)
    assert (report.plans_corrected, report.rows_accepted, report.rows_rejected) == (1, 1, 2)
    assert rejected(ctx) == {2: "plan_already_carried", 3: "plan_already_carried"}
    assert messages(ctx)[2] == (
        "Skolēna “P-001” plāns jau ir pārnests uz nākamo semestri, tāpēc tā izvērtējumu vairs "
        "nevar labot ar jaunu failu. Ja izvērtējumā ir kļūda, sazinieties ar programmas "
        "koordinatoru; ja jāmaina skolēna atbalsts, labojiet nākamā semestra plānu."
    )
    after = evaluations(ctx)
    assert after[first].id == before[first].id and after[first].outcome == "improved"
    assert after[second].outcome == "worse"
    assert statuses(ctx)[first] == "continued"
    assert [e.entity_id for e in audit(ctx)] == [second]


def test_a_correction_with_an_error_is_rejected_whole(ctx: Context) -> None:
    first, _ = two_evaluated_plans(ctx)
    before = evaluations(ctx)
    put_evaluation(
        ctx,
        "labots.csv",
        "LV-LIE-006;P-001;psychologist;;4;;no_change;no;",  # 2: fine, but P-001's row 3 is not
        "LV-LIE-006;P-001;meals;;;-100;no_change;no;",
    )
    report = run(ctx)
    assert (report.plans_evaluated, report.plans_corrected, report.rows_rejected) == (0, 0, 2)
    assert rejected(ctx) == {2: "plan_rejected", 3: "negative_value"}
    assert evaluations(ctx)[first].id == before[first].id
    assert evaluations(ctx)[first].weighted_ratio == 1.0
    assert statuses(ctx)[first] == "continued" and audit(ctx) == []


def test_a_correction_leaving_out_a_measure_is_rejected_whole(ctx: Context) -> None:
    first, _ = two_evaluated_plans(ctx)
    put_evaluation(ctx, "labots.csv", "LV-LIE-006;P-001;psychologist;;4;;no_change;no;")
    report = run(ctx)
    assert (report.plans_corrected, report.rows_rejected) == (0, 1)
    assert rejected(ctx) == {2: "correction_incomplete"}
    assert "Trūkst: ēdināšanas izdevumu kompensācija." in messages(ctx)[2]
    assert evaluations(ctx)[first].weighted_ratio == 1.0 and audit(ctx) == []
    put_evaluation(  # every measure: the correction is taken
        ctx,
        "labots2.csv",
        "LV-LIE-006;P-001;psychologist;;4;;no_change;no;",
        "LV-LIE-006;P-001;meals;;;200;no_change;no;",
    )
    assert run(ctx).plans_corrected == 1
    assert evaluations(ctx)[first].weighted_ratio == 0.75


def test_the_same_correction_twice_changes_nothing_the_second_time(ctx: Context) -> None:
    first, _ = two_evaluated_plans(ctx)
    rows = (
        "LV-LIE-006;P-001;psychologist;;4;;no_change;no;",
        "LV-LIE-006;P-001;meals;;;100;no_change;no;",
    )
    put_evaluation(ctx, "labots.csv", *rows)
    assert run(ctx).plans_corrected == 1
    corrected, entries = evaluations(ctx), len(audit(ctx))
    put_evaluation(ctx, "labots.csv", *rows)  # the same file again: known, not read
    again = run(ctx)
    assert (again.files, again.skipped) == (0, 2)
    put_evaluation(ctx, "labots_atkal.csv", *reversed(rows))  # other bytes, the same values
    same = run(ctx)
    assert (same.files, same.rows_accepted, same.rows_rejected) == (1, 2, 0)
    assert (same.plans_evaluated, same.plans_corrected, same.plans_unchanged) == (0, 0, 1)
    assert same.schools[0]["plans_unchanged"] == 1
    after = evaluations(ctx)
    assert after[first].id == corrected[first].id
    assert after[first].submission_id == corrected[first].submission_id
    assert len(audit(ctx)) == entries and statuses(ctx)[first] == "closed"


def test_two_files_correcting_one_plan_in_a_run_take_the_first(ctx: Context) -> None:
    first, _ = two_evaluated_plans(ctx)
    put_evaluation(
        ctx,
        "b.csv",
        "LV-LIE-006;P-001;psychologist;;4;;no_change;no;",
        "LV-LIE-006;P-001;meals;;;100;no_change;no;",
    )
    put_evaluation(
        ctx,
        "c.csv",
        "LV-LIE-006;P-001;psychologist;;0;;worse;yes;",
        "LV-LIE-006;P-001;meals;;;0;worse;yes;",
    )
    report = run(ctx)
    assert (report.plans_corrected, report.rows_rejected) == (1, 2)
    assert set(rejected(ctx).values()) == {"pupil_in_two_files"}
    assert evaluations(ctx)[first].outcome == "no_change"
    assert statuses(ctx)[first] == "closed"


def test_an_evaluated_plan_without_a_stored_evaluation_is_still_refused(ctx: Context) -> None:
    plan = store_plan(ctx, "P-001", [hours("psychologist", 2)])
    with ctx.sessions.begin() as session:  # closed some other way: nothing to correct
        session.execute(update(Plan).where(Plan.id == plan).values(status=PlanStatus.CLOSED))
    put_evaluation(ctx, "a.csv", "LV-LIE-006;P-001;psychologist;;8;;improved;yes;")
    report = run(ctx)
    assert (report.plans_evaluated, report.rows_rejected) == (0, 1)
    assert rejected(ctx) == {2: "plan_already_evaluated"}


def test_the_carried_plan_message_follows_the_language_setting(settings: Settings) -> None:
    english = settings.model_copy(update={"language": "en"})
    with use_settings(english):
        ctx = load_context(english)
        two_evaluated_plans(ctx)
        with ctx.sessions.begin() as session:
            open_records(session, ctx.config, SEMESTER.next())
        put_evaluation(ctx, "b.csv", "LV-LIE-006;P-001;psychologist;;4;;no_change;no;")
        run(ctx)
    assert messages(ctx)[2].startswith(
        "The plan of pupil “P-001” has already been carried into the next semester, so its "
        "evaluation can no longer be corrected"
    )


def test_figures_after_a_correction_equal_figures_from_the_corrected_data(ctx: Context) -> None:
    two_evaluated_plans(ctx)
    corrected = (
        "LV-LIE-006;P-001;psychologist;;4;;no_change;no;",
        "LV-LIE-006;P-001;meals;;;100;worse;no;",
    )

    def figures() -> dict[tuple[str, str], Any]:
        with ctx.sessions.begin() as session:
            semester = stored_semester(session, SEMESTER)
            refresh_figures(session, ctx.config, semester)
            return read_figures(session, semester.id)

    original = figures()
    put_evaluation(ctx, "labots.csv", *corrected)
    assert run(ctx).plans_corrected == 1
    after_correction = figures()
    assert after_correction != original

    # From scratch: the same plans, never evaluated, and the corrected rows as the first file.
    with ctx.sessions.begin() as session:
        for table in (EvaluationMeasure, Evaluation, AuditEntry, RowRejection, OutboxMessage,
                      Submission, SemesterFigure):  # fmt: skip
            session.execute(delete(table))
        session.execute(update(Plan).values(status=PlanStatus.APPROVED))
    for path in (ctx.settings.effective_inbox_dir / SEMESTER.folder).glob("*/evaluation/*"):
        path.unlink()
    put_evaluation(
        ctx,
        "a.csv",
        *corrected,
        "LV-LIE-006;P-002;subject_consultation;mathematics;16;;improved;no;",
    )
    assert run(ctx).plans_evaluated == 2
    assert figures() == after_correction


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
            found, _ = ensure_semester(session, ctx.config, SEMESTER)
            collect(session, ctx.config, local, StoredSemester.of(found))
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
