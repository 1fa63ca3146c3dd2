"""Screenshot what people get: the emails of a semester and the plan page an approver opens.

A small generated semester is opened, collected and routed into a throw-away SQLite database
(the core functions, without Prefect); the one mail path sends every email to a local SMTP
server; the real web app shows a plan from a digest's link on a phone-sized screen, and the
school's "plan returned" email follows a return there. Headless Chromium saves each as PNG.
The summary email has its own script, `docs/screenshot_summary.py`.

    .venv/bin/python docs/screenshots.py          # writes docs/*-email.png, docs/review-page.png
"""

from __future__ import annotations

import base64
import shutil
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

from pumpurs.app.demo.outbox import Kept, read_outbox
from pumpurs.app.demo.web import WebApp, free_port
from pumpurs.approvals import ensure_steps, queue_route_mail
from pumpurs.generate import generate
from pumpurs.intake.collect import collect
from pumpurs.mail.delivery import deliver
from pumpurs.mail.sink import SmtpSink
from pumpurs.opening.carry import open_records
from pumpurs.opening.invitations import queue_invitations
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store.context import Context, load_context, use_settings

DOCS = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]  # fmt: skip
SEMESTER = SemesterCode.parse("2026/2027-1")
REASON = "Precizējiet plāna mērķi: tam jābūt izmērāmam līdz semestra beigām."


def run_semester(ctx: Context) -> None:
    """Open the semester, collect the schools' files, route the plans; send every email."""
    with ctx.sessions.begin() as session:
        semester = open_records(session, ctx.config, SEMESTER).semester
        queue_invitations(session, ctx.config, ctx.settings, semester)
        collect(session, ctx.config, ctx.settings, semester)
        ensure_steps(session, ctx.config, semester_id=semester.id)
        queue_route_mail(session, ctx.config, ctx.settings, semester)
    deliver(ctx.sessions, ctx.settings)


def html_of(kept: Kept) -> str:
    """Return a message's HTML as a mail client shows it: inline images as data URIs."""
    body = kept.message.get_body(("html",))
    assert body is not None
    html = str(body.get_content())
    for part in kept.message.walk():
        cid = part.get("Content-ID")
        if cid:
            data = base64.b64encode(bytes(part.get_payload(decode=True))).decode("ascii")
            html = html.replace(f"cid:{cid.strip('<>')}", f"data:{part.get_content_type()};"
                                f"base64,{data}")  # fmt: skip
    return html


def pick(messages: list[Kept], subject: str) -> Kept:
    """Return the shortest message with `subject` in its subject (a screenshot, not a scroll)."""
    found = [kept for kept in messages if subject in kept.subject]
    assert found, f"no email with “{subject}” in its subject"
    return min(found, key=lambda kept: len(kept.text()))


def shoot_email(
    browser: Browser, kept: Kept, name: str, work: Path, height: int | None = None
) -> Path:
    """Save one email as a desktop mail client's reading pane shows it (its top `height` px)."""
    page = browser.new_page(viewport={"width": 720, "height": 900}, device_scale_factor=1)
    source = work / f"{name}.html"
    source.write_text(html_of(kept), "utf-8")
    page.goto(source.as_uri())
    if height is None:
        page.screenshot(path=str(DOCS / name), full_page=True)
    else:
        clip = {"x": 0, "y": 0, "width": 720, "height": height}
        page.screenshot(path=str(DOCS / name), full_page=True, clip=clip)  # type: ignore[arg-type]
    page.close()
    return DOCS / name


def shoot_review(browser: Browser, link: str) -> Path:
    """Save one plan's page on a phone, then return the plan to its school with a reason."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(link)
    page.screenshot(path=str(DOCS / "review-page.png"), full_page=True)
    page.fill("#reason", REASON)
    page.get_by_role("button", name="Atgriezt labošanai").click()
    page.wait_for_selector("text=Plāns atgriezts skolai labošanai")
    context.close()
    return DOCS / "review-page.png"


def main() -> list[Path]:
    """Run the small semester and write the screenshots into docs/."""
    work = Path(tempfile.mkdtemp(prefix="pumpurs-screens-"))
    try:
        generate("small", 1, work / "data", SEMESTER)
        port = free_port()
        with SmtpSink(outbox=work / "outbox") as sink:
            settings = Settings(
                _env_file=None,
                var_dir=work / "var",
                database_url=f"sqlite:///{work / 'pumpurs.db'}",
                config_dir=work / "data" / "config",
                inbox_dir=work / "data" / "inbox",
                base_url=f"http://127.0.0.1:{port}",
                smtp_host=sink.host,
                smtp_port=sink.port,
            )
            with use_settings(settings), WebApp(settings, port):
                run_semester(load_context(settings))
                return shoot(work, sink)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def shoot(work: Path, sink: SmtpSink) -> list[Path]:
    """Screenshot the emails and the plan page; the returned plan's email comes last."""
    messages = read_outbox(work / "outbox")
    digest = pick(messages, "izskatīšanai")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        written = [
            shoot_email(browser, pick(messages, "iesniedziet"), "invitation-email.png", work),
            shoot_email(
                browser, pick(messages, "noraidīto rindu"), "intake-report-email.png", work
            ),  # fmt: skip
            shoot_email(browser, digest, "approval-digest-email.png", work, height=1600),
            shoot_review(browser, digest.approval_links()[0]),
        ]
        deadline = time.monotonic() + 20
        while len(sink.received) == len(messages) and time.monotonic() < deadline:
            time.sleep(0.1)  # the web app sends the school's email after it answered
        returned = read_outbox(work / "outbox", len(messages))
        written.append(shoot_email(browser, returned[0], "plan-returned-email.png", work))
        browser.close()
    return written


if __name__ == "__main__":
    for path in main():
        print(path.relative_to(DOCS.parent))
    sys.exit(0)
