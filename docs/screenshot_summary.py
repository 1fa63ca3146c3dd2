"""Screenshot the semester summary emails as a mail program shows them.

Two city-scale semesters are generated (the same schools and pupils; the earlier one with more
mistakes, so the figures differ); in the later one a school of the largest municipality sends
nothing. Both are collected, approved and evaluated into a throw-away SQLite database; the
summaries are rendered as the mail path would send them, and headless Chromium saves the pages
as PNG: the national one, a school's, and the municipality's twice, once as a mail program that
blocks images shows it (every image request refused) and once as it is.

    .venv/bin/python docs/screenshot_summary.py          # writes docs/summary-email*.png
"""

from __future__ import annotations

import base64
import datetime as dt
import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Route, sync_playwright

from pumpurs.config import load_config
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


def _largest_municipality(config: Path) -> tuple[str, str]:
    """Return the municipality with a coordinator and the most schools, and the code of its
    school that is to send nothing (its last)."""
    loaded = load_config(config)
    schools: dict[str, list[str]] = {}
    for school in loaded.schools:
        schools.setdefault(school.municipality, []).append(school.code)
    chosen = max(
        (len(schools.get(m.code, [])), m.code)
        for m in loaded.municipalities().values()
        if m.coordinator
    )[1]
    return chosen, schools[chosen][-1]


def _refuse_images(route: Route) -> None:
    if route.request.resource_type == "image":
        route.abort()
    else:
        route.continue_()


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
        city, silent = _largest_municipality(work / "now" / "config")
        shutil.rmtree(work / "now" / "inbox" / SEMESTER.folder / silent)
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
                    "summary-email-municipality.png": preview_summary(
                        session, ctx.config, language, SEMESTER, "municipality", city, TODAY
                    ),
                }
                pages["summary-email-municipality-blocked.png"] = pages[
                    "summary-email-municipality.png"
                ]
        written = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-background-networking", "--disable-component-update",
                "--disable-sync"])  # fmt: skip
            page = browser.new_page(viewport={"width": 720, "height": 900}, device_scale_factor=1)
            blocking = browser.new_page(
                viewport={"width": 720, "height": 900}, device_scale_factor=1
            )
            blocking.route("**/*", _refuse_images)  # as Outlook does by default
            for name, composed in pages.items():
                html = work / f"{name}.html"
                html.write_text(inline_html(composed.email.html, composed.attachments), "utf-8")
                shown = blocking if name.endswith("-blocked.png") else page
                shown.goto(html.as_uri())
                shown.screenshot(path=str(DOCS / name), full_page=True)
                written.append(DOCS / name)
            browser.close()
        return written
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    for path in main(sys.argv[1] if len(sys.argv) > 1 else "lv"):
        print(path)
