from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from flows.route_approvals import route_approvals
from pumpurs.errors import UserError
from pumpurs.mail.sink import SmtpSink
from pumpurs.store.context import Context
from pumpurs.store.models import ApprovalStep, OutboxMessage
from tasks.common import MailNotDelivered
from tests.approvals.factory import KURZEME, RIGA_REGION, SEMESTER, submitted_plan
from tests.conftest import latest_artifact

pytestmark = pytest.mark.usefixtures("prefect_harness")
TAG = re.compile(r"<[a-zA-Z/!][^>]*>")


def test_each_approver_gets_one_digest_and_a_rerun_sends_nothing(
    context: Context, smtp: SmtpSink
) -> None:
    for ref in ("P-0001", "P-0002", "P-0003"):
        submitted_plan(context, "LV-LIE-006", ref)
    submitted_plan(context, "LV-RIG-T01", "P-0004")
    first = route_approvals(SEMESTER)
    assert (first["steps_created"], first["digests_queued"], first["mail_sent"]) == (4, 2, 2)
    assert (first["plans_notified"], first["pending"]) == (4, 4)
    second = route_approvals(SEMESTER)
    assert (second["steps_created"], second["digests_queued"], second["mail_sent"]) == (0, 0, 0)
    assert sorted(r.recipients[0] for r in smtp.received) == [KURZEME, RIGA_REGION]
    message = next(r.message() for r in smtp.received if r.recipients == [KURZEME])
    plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert not TAG.search(plain) and len(re.findall(r"/a/\S+", plain)) == 3
    assert "jauni individuālie atbalsta plāni izskatīšanai (3)" in message["Subject"]
    prefix = "route-approvals-2026-2027-1"
    summary = str(latest_artifact(f"{prefix}-summary").get("data"))
    assert "digests_queued" in summary and "Kurzemes reģions" in summary
    by_region = json.loads(str(latest_artifact(f"{prefix}-pending-by-region").get("data")))
    assert by_region == [
        {"region": "Kurzemes reģions", "pending": 3, "oldest_days": 0},
        {"region": "Rīgas reģions", "pending": 1, "oldest_days": 0},
    ]
    by_age = json.loads(str(latest_artifact(f"{prefix}-pending-by-age").get("data")))
    assert by_age[0] == {"days": "0–2", "pending": 4}
    assert latest_artifact(f"{prefix}-progress").get("data") == 100.0


def test_mail_that_cannot_go_stays_queued_and_goes_once_on_the_rerun(
    context: Context, smtp: SmtpSink
) -> None:
    submitted_plan(context)
    smtp.stop()
    with pytest.raises(MailNotDelivered):
        route_approvals(SEMESTER)
    smtp.start()
    result = route_approvals(SEMESTER)
    assert (result["digests_queued"], result["mail_sent"]) == (0, 1)
    assert [r.recipients for r in smtp.received] == [[KURZEME]]
    with context.sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        assert session.scalars(select(ApprovalStep.notified_at)).one() is not None


def links(message: object) -> list[str]:
    plain = message.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    return re.findall(r"/a/\S+", plain)


def test_one_approver_gets_a_fresh_digest_of_all_theirs_and_nobody_else_anything(
    context: Context, smtp: SmtpSink
) -> None:
    for ref in ("P-0001", "P-0002"):
        submitted_plan(context, "LV-LIE-006", ref)
    first = route_approvals(SEMESTER)  # Kurzeme is told of two plans
    submitted_plan(context, "LV-LIE-006", "P-0003")  # one more, not announced yet
    submitted_plan(context, "LV-RIG-T01", "P-0004")  # Rīga's, not announced yet
    assert first["mail_sent"] == 1
    fresh = route_approvals(SEMESTER, approver="Koordinators@Kurzeme.example")
    assert (fresh["digests_queued"], fresh["plans_notified"], fresh["mail_sent"]) == (1, 3, 1)
    assert (fresh["reminders_queued"], fresh["escalations_queued"]) == (0, 0)
    assert [r.recipients for r in smtp.received] == [[KURZEME], [KURZEME]]
    message = smtp.received[-1].message()
    assert "individuālie atbalsta plāni, kas gaida jūsu lēmumu (3)" in message["Subject"]
    assert len(links(message)) == 3
    assert not set(links(message)) & set(links(smtp.received[0].message()))  # new links
    daily = route_approvals(SEMESTER)  # Rīga's plan is still news; Kurzeme's P-0003 is not
    assert (daily["digests_queued"], daily["plans_notified"]) == (1, 1)
    assert smtp.received[-1].recipients == [RIGA_REGION]
    again = route_approvals(SEMESTER, approver=KURZEME)  # asked again: another fresh digest
    assert (again["digests_queued"], again["mail_sent"]) == (1, 1)
    assert [r.recipients[0] for r in smtp.received].count(KURZEME) == 3


def test_an_approver_with_nothing_waiting_is_told_so(context: Context, smtp: SmtpSink) -> None:
    submitted_plan(context, "LV-LIE-006", "P-0001")
    with pytest.raises(UserError) as refused:
        route_approvals(SEMESTER, approver="nobody@nowhere.example")
    assert refused.value.render("lv") == (
        "Semestrī 2026/2027-1 nekas negaida nobody@nowhere.example lēmumu."
    )
    assert smtp.received == []
