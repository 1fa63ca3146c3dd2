from __future__ import annotations

import datetime as dt
import re

import time_machine
from sqlalchemy import select

from pumpurs.approvals import ensure_steps, queue_route_mail, read_link, verify
from pumpurs.approvals.digest import MAX_LISTED
from pumpurs.clock import RIGA
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store.context import Context
from pumpurs.store.models import OutboxMessage
from pumpurs.store.reference import stored_semester
from tests.approvals.factory import KURZEME, RIGA_REGION, SEMESTER, submitted_plan

TAG = re.compile(r"<[a-zA-Z/!][^>]*>")
DAY0 = dt.datetime(2026, 10, 5, 7, 30, tzinfo=RIGA)


def _at(day: int, hour: int = 6) -> dt.datetime:
    return (DAY0 + dt.timedelta(days=day)).replace(hour=hour, minute=0)


def _route(ctx: Context) -> dict[str, int]:
    with ctx.sessions.begin() as session:
        ensure_steps(session, ctx.config)
        semester = stored_semester(session, SemesterCode.parse(SEMESTER))
        return queue_route_mail(session, ctx.config, ctx.settings, semester).counts()


def _outbox(ctx: Context) -> list[OutboxMessage]:
    with ctx.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_one_digest_per_approver_and_a_rerun_sends_nothing(context: Context) -> None:
    for ref in ("P-0001", "P-0002", "P-0003"):
        submitted_plan(context, "LV-LIE-006", ref)
    submitted_plan(context, "LV-RIG-T01", "P-0004")
    counts = _route(context)
    assert (counts["digests_queued"], counts["plans_notified"]) == (2, 4)
    assert _route(context)["digests_queued"] == 0
    messages = _outbox(context)
    assert sorted(m.recipient for m in messages) == [KURZEME, RIGA_REGION]
    kurzeme = next(m for m in messages if m.recipient == KURZEME)
    links = re.findall(r"http://127\.0\.0\.1:8080/a/(\S+)", kurzeme.body_text)
    assert len(links) == 3 and "/p/" in kurzeme.body_text
    assert all(ref in kurzeme.body_text for ref in ("P-0001", "P-0002", "P-0003"))
    assert not TAG.search(kurzeme.body_text)
    assert "Izskatīt" in kurzeme.body_html and "6,5 h" in kurzeme.body_text
    with context.sessions() as session:
        for link in links:
            verify(session, read_link(context.settings, link))
    submitted_plan(context, "LV-LIE-006", "P-0005")  # arrives later the same day
    assert _route(context)["plans_notified"] == 1
    latest = _outbox(context)[-1]
    assert "P-0005" in latest.body_text and "P-0001" not in latest.body_text


def test_reminders_every_interval_and_one_escalation(context: Context) -> None:
    sent: dict[int, list[str]] = {}
    with time_machine.travel(DAY0, tick=False):
        submitted_plan(context)
    for day in range(0, 15):
        for hour in (6, 20):  # two runs a day: the second finds nothing new
            with time_machine.travel(_at(day, hour), tick=False):
                before = len(_outbox(context))
                _route(context)
                new = _outbox(context)[before:]
            sent.setdefault(day, []).extend(m.kind for m in new)
    assert {day: kinds for day, kinds in sent.items() if kinds} == {
        0: ["approval_digest"],
        3: ["approval_reminder"],
        6: ["approval_reminder"],
        9: ["approval_reminder"],
        10: ["escalation"],
        12: ["approval_reminder"],
    }
    escalation = next(m for m in _outbox(context) if m.kind == "escalation")
    assert escalation.recipient == "pmp@ikvd.example"
    assert "P-0001" not in escalation.body_text  # the contact needs no pupil reference
    assert (
        KURZEME in escalation.body_text and "Liepājas Raiņa 6. vidusskola" in escalation.body_text
    )
    reminder = next(m for m in _outbox(context) if m.kind == "approval_reminder")
    with time_machine.travel(_at(3, 8), tick=False), context.sessions() as session:
        link = re.findall(r"/a/(\S+)", reminder.body_text)[0]
        verify(session, read_link(context.settings, link))  # the reminder's link works


def test_the_digest_in_english(context: Context) -> None:
    english = context.settings.model_copy(update={"language": "en"})
    submitted_plan(context)
    with context.sessions.begin() as session:
        ensure_steps(session, context.config)
        semester = stored_semester(session, SemesterCode.parse(SEMESTER))
        queue_route_mail(session, context.config, english, semester)
    message = _outbox(context)[0]
    assert message.subject.startswith("PuMPuRS 2026/2027-1: new individual support plans")
    assert "Review: http" in message.body_text and "learning and school risks" in message.body_text


def test_a_big_digest_lists_the_first_hundred_and_points_to_the_pending_page(
    context: Context,
) -> None:
    for number in range(MAX_LISTED + 2):
        submitted_plan(context, ref=f"P-{number:04d}")
    assert _route(context)["plans_notified"] == MAX_LISTED + 2
    message = _outbox(context)[0]
    assert f"izskatīšanai ({MAX_LISTED + 2})" in message.subject
    assert len(re.findall(r"/a/\S+", message.body_text)) == MAX_LISTED
    assert "nav uzskaitīti: 2." in message.body_text and "/p/" in message.body_text


def _route_with(ctx: Context, settings: Settings) -> None:
    with ctx.sessions.begin() as session:
        ensure_steps(session, ctx.config)
        semester = stored_semester(session, SemesterCode.parse(SEMESTER))
        queue_route_mail(session, ctx.config, settings, semester)


def test_an_escalation_opens_with_every_waiting_plan_by_region_and_approver(
    context: Context,
) -> None:
    ui = context.settings.model_copy(update={"prefect_ui_url": "http://prefect.example:4200/"})
    with time_machine.travel(DAY0, tick=False):
        for number in range(MAX_LISTED + 5):
            submitted_plan(context, ref=f"P-{number:04d}")
        submitted_plan(context, "LV-RIG-T01", "R-0001")
        submitted_plan(context, "LV-RIG-T01", "R-0002")
    with time_machine.travel(_at(0), tick=False):
        _route_with(context, ui)
    with time_machine.travel(_at(4), tick=False):
        submitted_plan(context, "LV-RIG-T01", "R-0003")  # waits 6 days on the escalation day
        _route_with(context, ui)
    with time_machine.travel(_at(10), tick=False):
        _route_with(context, ui)
    escalation = next(m for m in _outbox(context) if m.kind == "escalation")
    text = escalation.body_text
    assert f"({MAX_LISTED + 7})" in escalation.subject  # every plan now 10 days or older
    summary = text[: text.index("plāns Nr.")]  # the summary comes before the list
    assert (
        "Kurzemes reģions, koordinators@kurzeme.example (reģionālais koordinators): "
        "gaida 105 plāni, no tiem 10 dienas vai ilgāk: 105; vecākais gaida kopš 05.10.2026. "
        "(10 dienas)"
    ) in summary
    assert (
        "Rīgas reģions, koordinators@riga.example (reģionālais koordinators): "
        "gaida 3 plāni, no tiem 10 dienas vai ilgāk: 2; vecākais gaida kopš 05.10.2026. "
        "(10 dienas)"
    ) in summary
    assert "Visi plāni, kas gaida lēmumu jūsu reģionos (108)" in summary
    live = "http://prefect.example:4200/artifacts/key/semester-status-2026-2027-1-headline"
    assert live in summary and f'href="{live}"' in escalation.body_html
    assert len(re.findall("plāns Nr.", text)) == MAX_LISTED
    html = TAG.sub(" ", escalation.body_html)
    assert html.index("Kurzemes reģions") < html.index("Plāns")  # the summary table first


def test_an_escalation_without_a_prefect_ui_address_has_no_live_link(context: Context) -> None:
    with time_machine.travel(DAY0, tick=False):
        submitted_plan(context)
    for day in (0, 10):
        with time_machine.travel(_at(day), tick=False):
            _route(context)
    escalation = next(m for m in _outbox(context) if m.kind == "escalation")
    assert "/artifacts/" not in escalation.body_text + escalation.body_html
    assert "gaida 1 plānu" not in escalation.body_text  # the count is a number, then its noun
    assert "gaida 1 plāns" in escalation.body_text
