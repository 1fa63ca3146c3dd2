"""Screenshot the national and one school's semester summary email, as a mail client shows them.

Two city-scale semesters are generated (the same schools and pupils; the earlier one with more
mistakes, so the figures differ), collected, approved and evaluated into a throw-away SQLite
database; the summaries are rendered as the mail path would send them, the inline charts'
`cid:` references become data URIs, and headless Chromium saves the pages as PNG.

    .venv/bin/python docs/screenshot_summary.py          # writes docs/summary-email*.png
"""

from __future__ import annotations

import base64
import datetime as dt
import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from pumpurs.evaluation.evaluate import evaluate
from pumpurs.generate import generate
from pumpurs.intake.collect import collect
from pumpurs.mail.outbox import Attachment
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store import lifecycle
from pumpurs.store.context import Context, load_context, use_settings
from pumpurs.store.models import PlanStatus
from pumpurs.store.reference import StoredSemester, ensure_semester, require_semester
from pumpurs.summaries.compose import preview_summary
from pumpurs.summaries.store import read_figures, refresh_figures

DOCS = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
SEMESTER = SemesterCode.parse("2026/2027-1")
TODAY = dt.date(2027, 1, 20)


def load_semester(ctx: Context, code: SemesterCode) -> None:
    """Collect the semester's plan files, approve every plan, evaluate and store the figures."""
    with ctx.sessions.begin() as session:
        semester = StoredSemester.of(ensure_semester(session, ctx.config, code)[0])
        collect(session, ctx.config, ctx.settings, semester)
        lifecycle.move_all(
            session, PlanStatus.SUBMITTED, PlanStatus.APPROVED, semester_id=semester.id
        )
        evaluate(session, ctx.config, ctx.settings, semester)
        refresh_figures(session, ctx.config, semester)


def inline_html(html: str, attachments: list[Attachment]) -> str:
    """Return the email's HTML with every `cid:` image replaced by a data URI."""
    for item in attachments:
        if item.content_id:
            data = base64.b64encode(item.content).decode("ascii")
            html = html.replace(f"cid:{item.content_id}", f"data:{item.content_type};base64,{data}")
    return html


def main(language: str = "lv") -> list[Path]:
    """Render the summaries of a generated semester and screenshot them into docs/."""
    work = Path(tempfile.mkdtemp(prefix="pumpurs-summary-"))
    try:
        generate("city", 1, work / "previous", SEMESTER.previous(), mistake_share=0.12)
        generate("city", 1, work / "now", SEMESTER)
        folder = SEMESTER.previous().folder
        shutil.copytree(work / "previous" / "inbox" / folder, work / "now" / "inbox" / folder)
        settings = Settings(
            _env_file=None,
            var_dir=work / "var",
            database_url=f"sqlite:///{work / 'pumpurs.db'}",
            config_dir=work / "now" / "config",
            inbox_dir=work / "now" / "inbox",
            language=language,
        )
        with use_settings(settings):
            ctx = load_context(settings)
            for code in (SEMESTER.previous(), SEMESTER):
                load_semester(ctx, code)
            with ctx.sessions() as session:
                figures = read_figures(session, require_semester(session, SEMESTER).id)
                school = max((f["plans"], unit) for (level, unit), f in figures.items()
                             if level == "school")[1]  # fmt: skip
                pages = {
                    "summary-email.png": preview_summary(
                        session, ctx.config, language, SEMESTER, "nation", "LV", TODAY
                    ),
                    "summary-email-school.png": preview_summary(
                        session, ctx.config, language, SEMESTER, "school", school, TODAY
                    ),
                }
        written = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-background-networking", "--disable-component-update",
                "--disable-sync"])  # fmt: skip
            page = browser.new_page(viewport={"width": 720, "height": 900}, device_scale_factor=1)
            for name, composed in pages.items():
                html = work / f"{name}.html"
                html.write_text(inline_html(composed.email.html, composed.attachments), "utf-8")
                page.goto(html.as_uri())
                page.screenshot(path=str(DOCS / name), full_page=True)
                written.append(DOCS / name)
            browser.close()
        return written
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    for path in main(sys.argv[1] if len(sys.argv) > 1 else "lv"):
        print(path)
