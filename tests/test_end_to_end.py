"""A whole semester the way its people live it: the schools' files, the real flows, every email
through a real SMTP server, every decision clicked in headless Chromium from the emailed links."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import time_machine
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from flows.collect_plans import collect_plans
from flows.evaluate_semester import evaluate_semester
from flows.open_semester import open_semester
from flows.route_approvals import route_approvals
from flows.send_summaries import send_summaries
from pumpurs.app.demo.outbox import APPROVAL_LINK, PENDING_LINK, kinds
from pumpurs.app.demo.school import returned_rows, send_corrections
from pumpurs.app.web.app import create_app
from pumpurs.config import Config
from pumpurs.generate import GenerateResult, generate
from pumpurs.mail.sink import SmtpSink
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store.context import Context, load_context, use_settings
from pumpurs.store.models import Decision, Evaluation, Plan, PlanStatus
from tests.app.web.live import LiveServer, free_port, wait_for

CHROMIUM = "/usr/bin/chromium"
SEMESTER = SemesterCode.parse("2026/2027-1")
REASON = "Precizējiet plāna mērķi: tam jābūt izmērāmam līdz semestra beigām."
AFTER_DEADLINE = dt.datetime(2027, 1, 10, 8, tzinfo=dt.UTC)  # the evaluation deadline: 05.01.
DECIDED = {PlanStatus.APPROVED, PlanStatus.EVALUATED, PlanStatus.CONTINUED, PlanStatus.CLOSED}
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.usefixtures("prefect_harness"),
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"no Chromium at {CHROMIUM}"),
]


@pytest.fixture
def semester(tmp_path: Path, mail_settings: Settings) -> Iterator[tuple[Context, GenerateResult]]:
    """Return a small generated programme in a fresh store, with the web app the links reach."""
    generated = generate("small", 1, tmp_path / "data", SEMESTER)
    port = free_port()
    settings = mail_settings.model_copy(
        update={
            "config_dir": tmp_path / "data" / "config",
            "inbox_dir": tmp_path / "data" / "inbox",
            "base_url": f"http://127.0.0.1:{port}",
        }
    )
    with use_settings(settings), LiveServer(create_app(settings), port):
        yield load_context(settings), generated


@pytest.fixture
def page() -> Iterator[Page]:
    """Return a page of headless Chromium, launched the way this machine allows."""
    with sync_playwright() as playwright:
        browser: Browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )  # fmt: skip
        yield browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        browser.close()


def _arrived(smtp: SmtpSink, after: int) -> list[EmailMessage]:
    return [received.message() for received in smtp.received[after:]]


def _plain(message: EmailMessage) -> str:
    return str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def _approve(page: Page, link: str) -> None:
    page.goto(link)
    page.get_by_role("button", name="Apstiprināt plānu").click()
    page.wait_for_selector("text=Lēmums saglabāts")


def _return(page: Page, link: str, reason: str) -> None:
    page.goto(link)
    page.fill("#reason", reason)
    page.get_by_role("button", name="Atgriezt labošanai").click()
    page.wait_for_selector("text=Plāns atgriezts skolai labošanai")


def _of_kind(ctx: Context, messages: list[EmailMessage], kind: str) -> list[EmailMessage]:
    """Return the messages the mail path sent as `kind` (matched by their Message-ID)."""
    with ctx.sessions() as session:
        kind_of = kinds(session)
    return [m for m in messages if kind_of.get(str(m["Message-ID"])) == kind]


def _digest_links(ctx: Context, messages: list[EmailMessage]) -> tuple[list[str], list[str]]:
    """Return the plan links and the pending-page links of the digests among `messages`."""
    digests = _of_kind(ctx, messages, "approval_digest")
    plans = [link for m in digests for link in APPROVAL_LINK.findall(_plain(m))]
    pages = [link for m in digests for link in PENDING_LINK.findall(_plain(m))]
    return plans, pages


def _figure(text: str, label: str) -> int:
    found = re.search(rf"{re.escape(label)}:?\s*([\d\s\u00a0]+)", text)
    assert found, f"no “{label}” in the summary"
    return int(re.sub(r"\D", "", found.group(1)))


def test_a_whole_semester_through_mail_and_the_browser(
    semester: tuple[Context, GenerateResult], smtp: SmtpSink, page: Page
) -> None:
    ctx, generated = semester
    config = ctx.config
    results: dict[str, Any] = {"open": open_semester(SEMESTER.code)}
    results["collect"] = collect_plans(SEMESTER.code)
    assert results["collect"]["plans_new"] == generated.valid_plans  # the generator's truth
    assert results["collect"]["rows_rejected"] > 0
    before = len(smtp.received)
    results["route"] = route_approvals(SEMESTER.code)
    links, pending_pages = _digest_links(ctx, _arrived(smtp, before))
    assert len(links) == results["collect"]["plans_new"] == results["route"]["plans_notified"]

    returned = links[len(links) // 2]
    for link in links:
        if link == returned:
            _return(page, link, REASON)
        else:
            _approve(page, link)
    page.goto(pending_pages[0])  # the approver's page: nothing left
    assert page.locator("input[name=step]").count() == 0

    wait_for(lambda: _of_kind(ctx, _arrived(smtp, before), "plan_returned"), 15,
             "the school's plan_returned email did not arrive")  # fmt: skip
    [back] = _of_kind(ctx, _arrived(smtp, before), "plan_returned")
    assert REASON in _plain(back)
    with ctx.sessions() as session:
        rows = returned_rows(session, SEMESTER)
    school = config.school(str(rows["school_code"].iloc[0]))
    assert school is not None and back["To"] == school.coordinator.email
    assert str(rows["pupil_ref"].iloc[0]) in str(back["Subject"])

    # The school uploads its corrected file on its page, from the link in the returned email.
    (school_page,) = set(re.findall(r"(http://127\.0\.0\.1:\d+/s/\S+)", _plain(back)))
    sent = send_corrections(rows, ctx.settings.effective_inbox_dir, SEMESTER, "; precizēts",
                            {school.code: school_page})  # fmt: skip
    assert (len(sent.through_page), sent.into_folder) == (1, [])
    again = results["collect-again"] = collect_plans(SEMESTER.code)
    assert (again["plans_revised"], again["plans_new"], again["rows_rejected"]) == (1, 0, 0)
    before = len(smtp.received)
    results["route-again"] = route_approvals(SEMESTER.code)
    [resubmitted], _ = _digest_links(ctx, _arrived(smtp, before))
    _approve(page, resubmitted)

    results["evaluate"] = evaluate_semester(SEMESTER.code)
    with time_machine.travel(AFTER_DEADLINE, tick=True):  # summaries are final after it
        results["summaries"] = send_summaries(SEMESTER.code)
    _assert_store_agrees(ctx, results)
    _assert_mail_agrees(ctx, config, smtp, results)


def _count_by(session: Session, column: InstrumentedAttribute[str]) -> Counter[str]:
    rows = session.execute(select(column, func.count()).group_by(column)).tuples().all()
    return Counter({str(value): int(count) for value, count in rows})


def _assert_store_agrees(ctx: Context, results: dict[str, Any]) -> None:
    """The database holds what the flows said they did and what was clicked."""
    plans = results["collect"]["plans_new"]
    evaluated = results["evaluate"]
    with ctx.sessions() as session:
        statuses = _count_by(session, Plan.status)
        outcomes = _count_by(session, Decision.outcome)
        evaluations = session.scalar(select(func.count()).select_from(Evaluation))
        revised = session.scalar(select(func.count()).where(Plan.revision == 2))
    assert sum(statuses.values()) == plans
    assert statuses[PlanStatus.CONTINUED] == evaluated["plans_continued"]
    assert statuses[PlanStatus.CLOSED] == evaluated["plans_closed"]
    assert statuses[PlanStatus.APPROVED] == evaluated["plans_missing"]
    assert evaluations == evaluated["plans_evaluated"] == plans - evaluated["plans_missing"]
    assert outcomes == Counter({"approved": plans, "returned": 1})
    assert revised == 1 and evaluated["rows_rejected"] == 0


def _assert_mail_agrees(
    ctx: Context, config: Config, smtp: SmtpSink, results: dict[str, Any]
) -> None:
    """Every email arrived once, of the kinds and to the people the flows said."""
    messages = _arrived(smtp, 0)
    with ctx.sessions() as session:
        kind_of = kinds(session)
        pupils = session.scalar(
            select(func.count(distinct(Plan.pupil_id))).where(Plan.status.in_(DECIDED))
        )
        decided = session.scalar(select(func.count()).where(Plan.status.in_(DECIDED)))
    assert sorted(str(m["Message-ID"]) for m in messages) == sorted(kind_of)
    by_kind = Counter(kind_of[str(m["Message-ID"])] for m in messages)
    coordinators = [m.coordinator for m in config.municipalities().values() if m.coordinator]
    sent = sum(step["mail_sent"] for step in results.values())
    assert len(messages) == sent + 1  # the web app sends the "plan returned" email itself
    assert by_kind == Counter({
        "invitation": len(config.schools),
        "collect_report": results["collect"]["reports_queued"]
        + results["collect-again"]["reports_queued"],
        "approval_digest": results["route"]["digests_queued"]
        + results["route-again"]["digests_queued"],
        "plan_returned": 1,
        "evaluation_report": results["evaluate"]["reports_queued"],
        "summary": len(config.schools) + len(coordinators) + len(config.regions) + 1,
    })  # fmt: skip
    to = {kind: {str(m["To"]) for m in messages if kind_of[str(m["Message-ID"])] == kind}
          for kind in by_kind}  # fmt: skip
    assert to["invitation"] == {school.coordinator.email for school in config.schools}
    assert to["approval_digest"] == {region.coordinator.email for region in config.regions}
    assert {c.email for c in coordinators} < to["summary"]  # each municipal coordinator
    managers = {person.email for person in config.programme.summary_recipients}
    [nation] = [m for m in messages if kind_of[str(m["Message-ID"])] == "summary"
                and str(m["To"]) in managers]  # fmt: skip
    text = _plain(nation)
    assert _figure(text, "Skolēni ar atbalsta plānu") == pupils
    assert (
        _figure(text, "Apstiprināti atbalsta plāni") == decided == results["collect"]["plans_new"]
    )
    assert _figure(text, "Izvērtēti plāni") == results["evaluate"]["plans_evaluated"]
