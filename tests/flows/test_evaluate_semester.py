"""Evaluate a semester end to end: real inbox files, real DB, real SMTP server, Prefect runs."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from flows.evaluate_semester import evaluate_semester
from flows.open_semester import open_semester
from pumpurs.mail.sink import SmtpSink
from pumpurs.store.context import Context
from pumpurs.store.models import (
    AuditEntry,
    Evaluation,
    EvaluationMeasure,
    OutboxMessage,
    Plan,
    PlanStatus,
    RowRejection,
    SemesterFigure,
)
from tasks.common import MailNotDelivered
from tests.conftest import latest_artifact
from tests.counts import count
from tests.evaluation.factory import RAINA, SEMESTER, eur, hours, put_evaluation, store_plan

pytestmark = pytest.mark.usefixtures("prefect_harness")
KALPAKA = "iaps@kalpaka15.liepaja.example"
BEFORE_DEADLINE = dt.datetime(2026, 12, 28, 8, tzinfo=dt.UTC)  # ended 22.12., deadline 05.01.
AFTER_DEADLINE = dt.datetime(2027, 1, 10, 8, tzinfo=dt.UTC)


@pytest.fixture
def after_deadline() -> Iterator[None]:
    with time_machine.travel(AFTER_DEADLINE, tick=True):
        yield


def mail_to(smtp: SmtpSink, address: str) -> list[Any]:
    return [r.message() for r in smtp.received if r.recipients == [address]]


def text_of(message: Any) -> str:
    return str(message.get_body(("plain",)).get_content())


def three_plans(ctx: Context) -> None:
    store_plan(ctx, "P-001", [hours("psychologist", 2), eur("meals", 50)])
    store_plan(ctx, "P-002", [hours("subject_consultation", 4, "mathematics")])
    store_plan(ctx, "P-003", [hours("psychologist", 2)], school="LV-LIE-015")


def snapshot(ctx: Context) -> dict[str, Any]:
    """Return everything an evaluation run may write."""
    with ctx.sessions() as session:
        return {
            "plans": session.execute(select(Plan.id, Plan.status, Plan.updated_at)).all(),
            "evaluations": session.execute(select(Evaluation.__table__)).all(),
            "measures": session.execute(select(EvaluationMeasure.__table__)).all(),
            "figures": session.execute(select(SemesterFigure.__table__)).all(),
            "rejections": session.execute(select(RowRejection.__table__)).all(),
            "outbox": session.execute(select(OutboxMessage.id, OutboxMessage.status)).all(),
            "audit": session.execute(select(AuditEntry.__table__)).all(),
        }


def test_a_run_evaluates_reports_row_errors_and_publishes_artifacts(
    context: Context, smtp: SmtpSink
) -> None:
    three_plans(context)
    put_evaluation(
        context,
        "izvertejums.csv",
        "LV-LIE-006;P-001;psychologist;;8;;improved;jā;Regulāri apmeklēja",
        "LV-LIE-006;P-001;meals;;;150;improved;jā;",
        "LV-LIE-006;P-002;subject_consultation;mathematics;10;;labāk;nē;",
    )
    with time_machine.travel(BEFORE_DEADLINE, tick=True):
        result = evaluate_semester(SEMESTER.code)
    assert {
        k: result[k]
        for k in (
            "rows_read",
            "rows_accepted",
            "rows_rejected",
            "plans_evaluated",
            "plans_continued",
            "plans_missing",
            "reminders_queued",
            "mail_sent",
            "figures_changed",
        )
    } == {
        "rows_read": 3,
        "rows_accepted": 2,
        "rows_rejected": 1,
        "plans_evaluated": 1,
        "plans_continued": 1,
        "plans_missing": 2,
        "reminders_queued": 0,
        "mail_sent": 1,
        "figures_changed": 21,
    }
    (report,) = mail_to(smtp, RAINA)
    assert (
        report["Subject"]
        == "PuMPuRS 2026/2027-1: izvērtējuma faili apstrādāti — noraidīto rindu: 1"
    )
    body = text_of(report)
    assert "iesniegtie izvērtējuma faili semestrim 2026/2027-1 ir apstrādāti" in body
    assert "izvertejums.csv: 3 rindas, pieņemtas 2, noraidīta 1" in body
    assert "Izvērtēti plāni: 1 (turpināsies nākamajā semestrī: 1, noslēgti: 0)." in body
    assert "Vēl nav saņemts izvērtējums 1 apstiprinātam plānam." in body
    assert (
        "- izvertejums.csv, 4. rinda, kolonna “Rezultāts”: Rezultāts “labāk” nav atļauts." in body
    )
    attachment = next(report.iter_attachments())
    assert attachment.get_filename() == "noraiditas_izvertejuma_rindas_LV-LIE-006_2026-2027-1.csv"
    lines = attachment.get_content().lstrip("\ufeff").splitlines()
    assert lines[0].startswith(
        "Fails;Rinda;Izglītības iestādes kods;Skolēna identifikators;Atbalsta"
    )
    assert lines[1].startswith(
        "izvertejums.csv;4;LV-LIE-006;P-002;subject_consultation;mathematics"
    )
    assert mail_to(smtp, KALPAKA) == []  # no file, and the deadline has not passed
    artifacts = {
        part: latest_artifact(f"evaluate-2026-2027-1-{part}")
        for part in ("summary", "schools", "missing-evaluations", "flags", "progress")
    }
    assert "plans_evaluated" in str(artifacts["summary"]["data"])
    missing = json.loads(str(artifacts["missing-evaluations"]["data"]))
    assert [(row["school"], row["pupils"], row["reminder"]) for row in missing] == [
        ("LV-LIE-006", "P-002", "termiņš vēl nav beidzies"),
        ("LV-LIE-015", "P-003", "termiņš vēl nav beidzies"),
    ]
    school, nation = json.loads(str(artifacts["flags"]["data"]))
    assert (school["unit"], school["evaluated"], nation["unit"]) == ("LV-LIE-006", 1, "LV")
    assert artifacts["progress"]["data"] == 100.0


def test_missing_evaluations_are_reminded_once_and_a_later_file_is_evaluated(
    context: Context, smtp: SmtpSink, after_deadline: None
) -> None:
    three_plans(context)
    put_evaluation(
        context,
        "a.csv",
        "LV-LIE-006;P-001;psychologist;;8;;improved;no;",
        "LV-LIE-006;P-001;meals;;;200;improved;no;",
    )
    first = evaluate_semester()  # the calendar's latest ended semester: 2026/2027-1
    assert first["semester"] == SEMESTER.code
    assert (first["plans_evaluated"], first["plans_missing"], first["reminders_queued"]) == (
        1,
        2,
        2,
    )
    reminders = [m for m in (r.message() for r in smtp.received) if "nav saņemts" in m["Subject"]]
    assert sorted(m["To"] for m in reminders) == sorted([RAINA, KALPAKA])
    raina = next(m for m in reminders if m["To"] == RAINA)
    assert raina["Subject"] == "PuMPuRS 2026/2027-1: nav saņemts izvērtējums 1 atbalsta plānam"
    assert "termiņš bija 05.01.2027." in text_of(raina) and "- P-002\r\n" in text_of(raina)
    template = next(raina.iter_attachments())
    assert template.get_filename() == "izvertejums_LV-LIE-006_2026-2027-1.csv"
    assert template.get_content().lstrip("\ufeff").splitlines()[1:] == [
        "LV-LIE-006;P-002;subject_consultation;mathematics;;;;;"
    ]
    sent = len(smtp.received)

    second = evaluate_semester(SEMESTER.code)
    assert (second["files"], second["reminders_queued"], second["plans_missing"]) == (0, 0, 2)
    assert len(smtp.received) == sent

    put_evaluation(
        context, "b.csv", "LV-LIE-006;P-002;subject_consultation;mathematics;12;;no_change;yes;"
    )
    third = evaluate_semester(SEMESTER.code)
    assert (third["plans_evaluated"], third["plans_missing"], third["reminders_queued"]) == (
        1,
        1,
        0,
    )
    assert len(smtp.received) == sent + 1  # the report on b.csv; no second reminder
    assert "Vēl nav saņemts" not in text_of(smtp.received[-1].message())
    with context.sessions() as session:
        statuses = sorted(session.scalars(select(Plan.status)))
    assert statuses == ["approved", "closed", "continued"]  # P-003 still waits, never dropped


def test_rerunning_on_the_same_files_changes_nothing_and_sends_nothing(
    context: Context, smtp: SmtpSink, after_deadline: None
) -> None:
    three_plans(context)
    put_evaluation(
        context,
        "a.csv",
        "LV-LIE-006;P-001;psychologist;;8;;improved;no;",
        "LV-LIE-006;P-001;meals;;;200;worse;no;",
        "LV-LIE-006;P-404;meals;;;1;worse;no;",
    )
    evaluate_semester(SEMESTER.code)
    before, sent = snapshot(context), len(smtp.received)
    again = evaluate_semester(SEMESTER.code)
    assert snapshot(context) == before and len(smtp.received) == sent
    assert {
        k: again[k]
        for k in (
            "files",
            "skipped",
            "rows_read",
            "figures_changed",
            "reminders_queued",
            "reports_queued",
            "mail_sent",
        )
    } == {
        "files": 0,
        "skipped": 1,
        "rows_read": 0,
        "figures_changed": 0,
        "reminders_queued": 0,
        "reports_queued": 0,
        "mail_sent": 0,
    }


def test_a_corrected_file_replaces_the_evaluation_and_its_figures(
    context: Context, smtp: SmtpSink
) -> None:
    three_plans(context)
    put_evaluation(
        context,
        "a.csv",
        "LV-LIE-006;P-001;psychologist;;8;;improved;jā;",
        "LV-LIE-006;P-001;meals;;;200;improved;jā;",
    )
    with time_machine.travel(BEFORE_DEADLINE, tick=True):
        evaluate_semester(SEMESTER.code)
        sent = len(smtp.received)
        put_evaluation(
            context,
            "a_labots.csv",
            "LV-LIE-006;P-001;psychologist;;2;;worse;nē;",
            "LV-LIE-006;P-001;meals;;;50;worse;nē;",
        )
        corrected = evaluate_semester(SEMESTER.code)
        (school,) = json.loads(str(latest_artifact("evaluate-2026-2027-1-schools")["data"]))
        before = snapshot(context)
        again = evaluate_semester(SEMESTER.code)
    assert (corrected["files"], corrected["plans_evaluated"], corrected["plans_closed"]) == (
        1,
        1,
        1,
    )
    assert count(corrected, "figures_changed") > 0
    assert (school["school"], school["plans_corrected"], school["plans_evaluated"]) == (
        "LV-LIE-006",
        1,
        1,
    )
    assert len(smtp.received) == sent + 1  # the school's report on the corrected file
    report = text_of(smtp.received[-1].message())
    assert "a_labots.csv: 2 rindas, pieņemtas 2, noraidītas 0" in report
    assert "No tiem labotie izvērtējumi (iepriekšējais izvērtējums aizstāts): 1." in report
    assert (corrected["plans_corrected"], corrected["plans_unchanged"]) == (1, 0)
    with context.sessions() as session:
        evaluation = session.scalars(select(Evaluation)).one()
        status = session.scalars(select(Plan.status).where(Plan.id == evaluation.plan_id)).one()
        figures = {
            (f.level, f.unit_code): f.figures for f in session.scalars(select(SemesterFigure))
        }
        (entry,) = session.scalars(select(AuditEntry)).all()
    assert (evaluation.outcome, evaluation.continue_plan, status) == ("worse", False, "closed")
    assert figures[("school", "LV-LIE-006")]["fulfilment"]["evaluated"] == 1
    assert figures[("school", "LV-LIE-006")]["flags"]["outcome_worse"] == 1
    assert entry.action == "evaluation.corrected" and entry.details["old"]["outcome"] == "improved"
    assert snapshot(context) == before and len(smtp.received) == sent + 1
    assert (again["files"], again["figures_changed"], again["mail_sent"]) == (0, 0, 0)


def test_a_plan_to_continue_is_carried_into_the_next_semester(
    context: Context, smtp: SmtpSink
) -> None:
    keep = store_plan(context, "P-001", [hours("psychologist", 2), eur("meals", 50)])
    store_plan(context, "P-002", [hours("psychologist", 2)])
    put_evaluation(
        context,
        "a.csv",
        "LV-LIE-006;P-001;psychologist;;8;;no_change;yes;",
        "LV-LIE-006;P-001;meals;;;200;no_change;yes;",
        "LV-LIE-006;P-002;psychologist;;8;;improved;no;",
    )
    with time_machine.travel(BEFORE_DEADLINE, tick=True):
        evaluate_semester(SEMESTER.code)
    opened = open_semester(SEMESTER.next().code)
    assert opened["plans_carried"] == 1
    with context.sessions() as session:
        draft = session.scalars(select(Plan).where(Plan.status == PlanStatus.DRAFT)).one()
        assert draft.continued_from_id == keep
        assert sorted(m.measure for m in draft.revisions[0].measures) == ["meals", "psychologist"]
    assert open_semester(SEMESTER.next().code)["plans_carried"] == 0


def test_mail_that_cannot_go_fails_the_run_and_goes_on_the_next(
    context: Context, smtp: SmtpSink
) -> None:
    store_plan(context, "P-001", [hours("psychologist", 2)])
    put_evaluation(context, "a.csv", "LV-LIE-006;P-001;psychologist;;8;;improved;no;")
    smtp.stop()
    with time_machine.travel(BEFORE_DEADLINE, tick=True):
        with pytest.raises(MailNotDelivered):
            evaluate_semester(SEMESTER.code)
        smtp.start()
        result = evaluate_semester(SEMESTER.code)
    assert (result["files"], result["mail_sent"]) == (0, 1)
    assert len(mail_to(smtp, RAINA)) == 1
