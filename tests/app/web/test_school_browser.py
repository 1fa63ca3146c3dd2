"""The whole way a school coordinator goes: the invitation in a real mailbox, the school's page
in a real browser on a phone, a file with mistakes, the corrected file, the plans stored by the
collect run the upload's event asks for, and the page showing them submitted."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from flows.collect_plans import collect_plans
from flows.open_semester import open_semester
from pumpurs.app.web.app import create_app
from pumpurs.calendar import semester_in_progress
from pumpurs.clock import today_riga, utcnow
from pumpurs.mail.sink import SmtpSink
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store.context import Context, load_context, use_settings
from tests.app.web.live import LiveServer, free_port, wait_for

CHROMIUM = "/usr/bin/chromium"
SCHOOL = "LV-LIE-006"
COORDINATOR = "iaps@raina6.liepaja.example"
HEADER = (
    "school_code;pupil_ref;grade;risk_categories;goal;measure;subject;provider_ref;"
    "hours_per_month;eur_per_month"
)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.usefixtures("prefect_harness"),
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"no Chromium at {CHROMIUM}"),
]


@pytest.fixture
def live(mail_settings: Settings) -> Iterator[Context]:
    """Return a loaded store, the app listening where the emails' links point."""
    port = free_port()
    settings = mail_settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"})
    with use_settings(settings), LiveServer(create_app(settings), port):
        yield load_context(settings)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )  # fmt: skip
        yield launched
        launched.close()


def the_semester(ctx: Context) -> SemesterCode:
    """Return a semester whose school links work today: the one in progress, or the next."""
    code = semester_in_progress(ctx.config, today_riga())
    if ctx.config.semester_dates(code).evaluation_deadline < today_riga():
        code = code.next()
    return code


def page_link(smtp: SmtpSink) -> str:
    message = next(r.message() for r in smtp.received if r.recipients == [COORDINATOR])
    plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Atveriet savas skolas lapu un augšupielādējiet failu tur" in plain
    assert "mapē" not in plain  # no shared folder in this deployment
    (link,) = re.findall(r"(http://127\.0\.0\.1:\d+/s/\S+)", plain)
    return str(link)


def plan_file(tmp_path: Path, name: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def upload(page: Page, path: Path) -> None:
    page.set_input_files("#plans-file", str(path))
    page.get_by_role("button", name="Augšupielādēt plānus").click()
    page.wait_for_selector("#answer")


def events_since(since: Any) -> list[dict[str, Any]]:
    from prefect.client.orchestration import get_client

    body = {
        "filter": {
            "event": {"name": ["pumpurs.file.received"]},
            "occurred": {"since": since.isoformat()},
        },
        "limit": 10,
    }
    with get_client(sync_client=True) as client:
        response = client.request("POST", "/events/filter", json=body)
    return list(response.json()["events"])


def triggered_by(event: dict[str, Any]) -> list[str]:
    """Return the deployments whose triggers (as `pumpurs serve` and prefect.yaml give them)
    the Prefect server would fire on this event, judged by the server's own matching."""
    from prefect.server.events.schemas.automations import EventTrigger
    from prefect.server.events.schemas.events import ReceivedEvent

    from pumpurs.app.deployments import read_deployments
    from pumpurs.app.serve import triggers
    from pumpurs.store.context import current_settings
    from pumpurs.store.context import load_context as loaded

    received = ReceivedEvent.model_validate(event)
    fired = []
    for spec in read_deployments(loaded(current_settings()).config):
        for trigger in triggers(spec.name, spec.triggers):  # as `pumpurs serve` builds them
            fields = trigger.model_dump(include={"match", "match_related", "expect", "posture",
                                                 "threshold", "within"})  # fmt: skip
            if EventTrigger.model_validate(fields).covers(received):
                fired.append(spec.name)
    return fired


def test_a_school_uploads_on_its_page_and_sees_its_plans_submitted(
    live: Context, smtp: SmtpSink, browser: Browser, tmp_path: Path
) -> None:
    ctx = live
    started = utcnow()
    code = the_semester(ctx)
    open_semester(code.code)
    link = page_link(smtp)

    page = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
    page.goto(link)
    assert "Rīgas Raiņa 6" in page.content() or SCHOOL in page.content()
    width: Any = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert int(width) <= 0  # fits a phone's screen

    mistakes = plan_file(tmp_path, "plani.csv", [
        f"{SCHOOL};P-501;7;learning;Uzlabot matemātiku;subject_consultation;mathematics;T-1;4;",
        f"{SCHOOL};P-502;7;learning;Mērķis;subject_consultation;mathematics;T-1;99;",
        f"{SCHOOL};120309-12345;8;learning;Mērķis;meals;;;;20",
        f"{SCHOOL};P-504;9;truancy;Mērķis;psychologist;;S-1;2;",
    ])  # fmt: skip
    upload(page, mistakes)
    rows = page.locator("#rejected tbody tr")
    numbers = {rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())}
    assert numbers == {"3", "4", "5"}  # every rejected row, each with its reason
    shown = page.locator("#rejected").inner_text()
    assert "12****-*****" in shown and "120309-12345" not in page.content()
    assert "Nolasītas 4 rindas" in page.locator("#counts").inner_text()
    assert page.get_by_role("link", name="Lejupielādēt noraidītās rindas (CSV)").count() == 1
    width = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert int(width) <= 0  # the rejected rows fit the phone's screen too

    corrected = plan_file(tmp_path, "plani_laboti.csv", [
        f"{SCHOOL};P-502;7;learning;Mērķis;subject_consultation;mathematics;T-1;9;",
        f"{SCHOOL};P-503;8;learning;Mērķis;meals;;;;20",
        f"{SCHOOL};P-504;9;family;Mērķis;psychologist;;S-1;2;",
    ])  # fmt: skip
    upload(page, corrected)
    assert "Fails ir saņemts un saglabāts" in page.locator("#answer").inner_text()
    assert page.locator("#rejected").count() == 0

    # The upload's event, which the collect-plans deployment's trigger runs on (prefect.yaml).
    wait_for(lambda: len(events_since(started)) == 2, 20, "no pumpurs.file.received events")
    event = events_since(started)[0]
    assert event["payload"] == {"semester": code.code, "school_code": SCHOOL, "kind": "plans"}
    assert event["resource"]["prefect.resource.id"].startswith("pumpurs.upload.plans.")
    assert triggered_by(event) == ["collect-plans"]  # not evaluate-semester
    collect_plans(event["payload"]["semester"])  # what the trigger starts, on the harness

    page.reload()
    plans = page.locator("#plans").inner_text()
    for ref in ("P-501", "P-502", "P-503", "P-504"):
        assert ref in plans
    assert plans.count("iesniegts") == 4
    files = page.locator("#files").inner_text()
    assert "plani.csv" in files and "plani_laboti.csv" in files
    page.context.close()
