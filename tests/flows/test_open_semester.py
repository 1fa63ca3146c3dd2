from __future__ import annotations

import io
import re
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

import pumpurs.opening.invitations
from flows.open_semester import open_semester
from pumpurs.mail.sink import SmtpSink
from pumpurs.opening.template import build_plan_template
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store.context import Context, use_settings
from pumpurs.store.models import (
    Plan,
    PlanMeasure,
    PlanRevision,
    PlanRisk,
    PlanStatus,
    Pupil,
    School,
)
from pumpurs.store.reference import ensure_semester
from tasks.common import MailNotDelivered
from tests.conftest import latest_artifact

pytestmark = pytest.mark.usefixtures("prefect_harness")
TAG = re.compile(r"<[a-zA-Z/!][^>]*>")


def _continuing_plan(ctx: Context, school_code: str, ref: str) -> None:
    """Store an evaluated plan of 2025/2026-2 whose evaluation said "continue"."""
    with ctx.sessions.begin() as session:
        semester, _ = ensure_semester(session, ctx.config, SemesterCode.parse("2025/2026-2"))
        school = session.scalars(select(School).where(School.code == school_code)).one()
        pupil = Pupil(school_id=school.id, ref=ref)
        session.add(pupil)
        session.flush()
        plan = Plan(
            semester_id=semester.id,
            school_id=school.id,
            pupil_id=pupil.id,
            status=PlanStatus.CONTINUED,
            revision=1,
        )
        plan.revisions.append(
            PlanRevision(
                number=1,
                grade=7,
                goal="Uzlabot sekmes matemātikā",
                risks=[PlanRisk(category="learning"), PlanRisk(category="economic")],
                measures=[
                    PlanMeasure(
                        measure="subject_consultation",
                        subject="mathematics",
                        provider_ref="T-01",
                        hours_per_month=4,
                    ),
                    PlanMeasure(measure="meals", eur_per_month=45.5),
                ],
            )
        )
        session.add(plan)


def test_open_semester_twice_invites_each_school_exactly_once(
    context: Context, smtp: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []

    def build(config: Any, school_code: str, *args: Any) -> bytes:
        built.append(school_code)
        return build_plan_template(config, school_code, *args)

    monkeypatch.setattr(pumpurs.opening.invitations, "build_plan_template", build)
    first = open_semester("2026/2027-1")
    workbooks = len(built)
    second = open_semester("2026/2027-1")
    schools = len(context.config.schools)
    assert first["invitations_queued"] == first["mail_sent"] == workbooks == schools
    assert second["invitations_queued"] == second["mail_sent"] == 0
    assert len(built) == workbooks  # the second run built no workbook for a sent invitation
    recipients = sorted(r.recipients[0] for r in smtp.received)
    assert recipients == sorted(s.coordinator.email for s in context.config.schools)
    for received in smtp.received:
        message = received.message()
        plain = message.get_body(("plain",))
        assert plain is not None and not TAG.search(plain.get_content())
        assert "22.09.2026." in message["Subject"]


def test_continuing_plans_are_carried_and_prefilled_in_the_template(
    context: Context, smtp: SmtpSink
) -> None:
    _continuing_plan(context, "LV-LIE-006", "P-CONT01")
    result = open_semester("2026/2027-1")
    assert result["plans_carried"] == 1
    assert open_semester("2026/2027-1")["plans_carried"] == 0
    with context.sessions() as session:
        plans = session.scalars(select(Plan).where(Plan.status == PlanStatus.DRAFT)).all()
        assert len(plans) == 1 and plans[0].continued_from_id is not None
        assert plans[0].revisions[0].grade == 8  # a new school year
    message = next(
        r.message() for r in smtp.received if r.recipients == ["iaps@raina6.liepaja.example"]
    )
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == "IAP_veidne_LV-LIE-006_2026-2027-1.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(attachment.get_content()))
    sheet = book.worksheets[0]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=3, max_row=4)]
    assert rows[0][:7] == [
        "LV-LIE-006",
        "P-CONT01",
        8,
        "economic;learning",
        "Uzlabot sekmes matemātikā",
        "subject_consultation",
        "mathematics",
    ]
    assert rows[0][8] == 4 and rows[1][5] == "meals" and rows[1][9] == 45.5
    formulas = {v.formula1 for v in sheet.data_validations.dataValidation}
    assert any("Saraksti" in (f or "") for f in formulas)
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "Veidnē jau ierakstīts 1 skolēns, kura plāns turpinās" in text


def test_smtp_down_mid_run_then_a_rerun_delivers_each_invitation_once(
    context: Context, smtp: SmtpSink
) -> None:
    smtp.max_messages = 3
    with pytest.raises(MailNotDelivered):
        open_semester("2026/2027-1")
    assert len(smtp.received) == 3
    smtp.stop()
    with pytest.raises(MailNotDelivered):
        open_semester("2026/2027-1")
    smtp.max_messages = None
    smtp.start()
    result = open_semester("2026/2027-1")
    assert result["invitations_queued"] == 0
    recipients = [r.recipients[0] for r in smtp.received]
    assert len(recipients) == len(set(recipients)) == len(context.config.schools)


def test_the_run_publishes_keyed_artifacts(context: Context, smtp: SmtpSink) -> None:
    smtp.refuse_address("iaps@rtk.riga.example")
    result = open_semester("2026/2027-1")
    assert result["mail_failed"] == 1
    keys = ["summary", "failed-mail", "progress"]
    by_key = {key: latest_artifact(f"open-semester-2026-2027-1-{key}") for key in keys}
    assert "iaps@rtk.riga.example" in str(by_key["failed-mail"].get("data"))
    assert "invitations_queued" in str(by_key["summary"].get("data"))
    assert by_key["progress"].get("data") == 100.0
    with context.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Plan)) == 0


@pytest.mark.parametrize(
    ("language", "title"),
    [("lv", "# Semestris 2026/2027-1 atvērts"), ("en", "# Semester 2026/2027-1 opened")],
)
def test_the_run_summary_speaks_the_configured_language(
    mail_settings: Settings, language: str, title: str
) -> None:
    with use_settings(mail_settings.model_copy(update={"language": language})):
        open_semester("2026/2027-1")
    summary = latest_artifact("open-semester-2026-2027-1-summary")
    assert str(summary["data"]).startswith(title + "\n"), summary["data"]
    assert summary["description"] == title.removeprefix("# ")
