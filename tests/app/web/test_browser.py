"""The whole way an approver goes: the digest in a real mailbox, a real browser, a real server."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Dialog, Page, sync_playwright
from sqlalchemy import select

from flows.route_approvals import route_approvals
from pumpurs.app.web.app import create_app
from pumpurs.clock import utcnow
from pumpurs.mail.sink import SmtpSink
from pumpurs.settings import Settings
from pumpurs.store.context import Context, load_context, use_settings
from pumpurs.store.models import Decision, Plan, PlanStatus
from tests.app.web.live import LiveServer, free_port, wait_for
from tests.approvals.factory import KURZEME, SEMESTER, submitted_plan

CHROMIUM = "/usr/bin/chromium"
SCRIPT = "<script>alert('x')</script>"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.usefixtures("prefect_harness"),
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"no Chromium at {CHROMIUM}"),
]


@pytest.fixture
def live(mail_settings: Settings) -> Iterator[tuple[Context, LiveServer]]:
    """Return a loaded store and the app listening where the emails' links point."""
    port = free_port()
    settings = mail_settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"})
    with use_settings(settings), LiveServer(create_app(settings), port) as server:
        yield load_context(settings), server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Return headless Chromium, launched the way this machine allows."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )  # fmt: skip
        yield launched
        launched.close()


def _links(smtp: SmtpSink, to: str) -> list[str]:
    message = next(r.message() for r in smtp.received if r.recipients == [to])
    plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    return re.findall(r"(http://127\.0\.0\.1:\d+/a/\S+)", plain)


def _phone(browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    return context.new_page()


def _fits_the_screen(page: Page) -> bool:
    width: Any = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    return int(width) <= 0


def _events(plan_id: int, since: dt.datetime) -> list[str]:
    """Return the plan's events since `since` (other tests' databases reuse plan ids)."""
    from prefect.client.orchestration import get_client

    body = {
        "filter": {
            "resource": {"id": [f"pumpurs.plan.{plan_id}"]},
            "occurred": {"since": since.isoformat()},
        },
        "limit": 10,
    }
    with get_client(sync_client=True) as client:
        response = client.request("POST", "/events/filter", json=body)
    return [event["event"] for event in response.json()["events"]]


def test_approve_and_return_from_the_emailed_links(
    live: tuple[Context, LiveServer], smtp: SmtpSink, browser: Browser
) -> None:
    ctx, _ = live
    started = utcnow()
    approved = submitted_plan(ctx, ref="P-APPR1", goal=f"Mērķis {SCRIPT}")
    returned = submitted_plan(ctx, ref="P-RETR1")
    assert route_approvals(SEMESTER)["mail_sent"] == 1
    links = _links(smtp, KURZEME)
    assert len(links) == 2

    page = _phone(browser)
    alerts: list[str] = []

    def refuse(dialog: Dialog) -> None:
        alerts.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", refuse)
    for link in links:
        page.goto(link)
        if "P-APPR1" in page.content():
            break
    assert page.locator("p.goal").first.inner_text() == f"Mērķis {SCRIPT}"  # shown, not run
    assert _fits_the_screen(page)
    page.get_by_role("button", name="Apstiprināt plānu").click()
    page.wait_for_selector("text=Lēmums saglabāts")
    assert "Plāns apstiprināts" in page.content() and alerts == []

    other = next(link for link in links if link != page.url)
    page.goto(other)
    page.get_by_role("button", name="Atgriezt labošanai").click()  # no reason: the browser asks
    assert "Lēmums saglabāts" not in page.content()
    page.fill("#reason", "Pievienojiet psihologa konsultāciju pamatojumu.")
    page.get_by_role("button", name="Atgriezt labošanai").click()
    page.wait_for_selector("text=Plāns atgriezts skolai labošanai")
    assert _fits_the_screen(page)
    page.context.close()

    with ctx.sessions() as session:
        outcomes = dict(session.execute(select(Decision.plan_id, Decision.outcome)).tuples().all())
        statuses = dict(session.execute(select(Plan.id, Plan.status)).tuples().all())
        agents = session.scalars(select(Decision.user_agent)).all()
    assert outcomes == {approved: "approved", returned: "returned"}
    assert statuses == {approved: PlanStatus.APPROVED, returned: PlanStatus.RETURNED}
    assert all(agent and "Chrome" in agent for agent in agents)
    wait_for(
        lambda: any(r.recipients == ["iaps@raina6.liepaja.example"] for r in smtp.received),
        15,
        "the school's plan_returned email did not arrive",
    )
    school = next(r.message() for r in smtp.received if r.recipients[0].startswith("iaps@"))
    assert "P-RETR1" in school["Subject"]
    plain = school.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Pievienojiet psihologa konsultāciju pamatojumu." in plain
    wait_for(lambda: _events(approved, started) == ["pumpurs.plan.approved"], 15,
             "no approved event")  # fmt: skip
    wait_for(lambda: _events(returned, started) == ["pumpurs.plan.returned"], 15,
             "no returned event")  # fmt: skip
