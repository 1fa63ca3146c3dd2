"""Screenshot a school's page on a phone, as a coordinator sees it after uploading a file.

A throw-away SQLite store gets the semester 2026/2027-1 and a few of the school's plans (one
approved); the real web app starts on loopback; headless Chromium on a phone-sized screen
opens the school's link, uploads a file with two mistakes and saves the whole page as PNG.
The clock is set to 15 September 2026, inside the submission window.

    .venv/bin/python docs/screenshot_school.py          # writes docs/school-page-phone.png
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import tempfile
from pathlib import Path

import time_machine
from playwright.sync_api import sync_playwright

from pumpurs.app.demo.web import WebApp, free_port
from pumpurs.intake.collect import collect
from pumpurs.opening.links import issue_link, school_url
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store import lifecycle
from pumpurs.store.context import load_context, use_settings
from pumpurs.store.models import Plan, PlanStatus, Pupil
from pumpurs.store.reference import StoredSemester, ensure_semester

DOCS = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
SEMESTER = SemesterCode.parse("2026/2027-1")
SCHOOL = "LV-LIE-006"
NOW = dt.datetime(2026, 9, 15, 7, 30, tzinfo=dt.UTC)
HEADER = (
    "school_code;pupil_ref;grade;risk_categories;goal;measure;subject;provider_ref;"
    "hours_per_month;eur_per_month"
)
STORED = [
    f"{SCHOOL};R6-014;7;learning;Uzlabot sekmes matemātikā;subject_consultation;mathematics;"
    "T-03;4;",
    f"{SCHOOL};R6-014;7;learning;Uzlabot sekmes matemātikā;meals;;;;45",
    f"{SCHOOL};R6-022;9;family;Apmeklēt skolu katru dienu;social_pedagogue;;S-01;3;",
]
UPLOADED = [
    f"{SCHOOL};R6-031;8;learning;Nokārtot ieskaiti latviešu valodā;subject_consultation;latvian;"
    "T-05;4;",
    f"{SCHOOL};R6-032;6;social_health;Mazināt kavējumus;psychologist;;S-02;25;",
    f"{SCHOOL};120309-12345;8;economic;Apmeklēt skolu;transport;;;;30",
]


def csv(rows: list[str]) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode("utf-8")


def main() -> int:
    if shutil.which(CHROMIUM) is None:
        print(f"no Chromium at {CHROMIUM}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp, time_machine.travel(NOW, tick=True):
        root = Path(tmp)
        port = free_port()
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            var_dir=root / "var",
            config_dir=DOCS.parent / "config",
            inbox_dir=root / "inbox",
            base_url=f"http://127.0.0.1:{port}",
        )
        with use_settings(settings):
            ctx = load_context(settings)
            folder = root / "inbox" / SEMESTER.folder / SCHOOL / "plans"
            folder.mkdir(parents=True)
            (folder / "plani_septembris.csv").write_bytes(csv(STORED))
            with ctx.sessions.begin() as session:
                semester = StoredSemester.of(ensure_semester(session, ctx.config, SEMESTER)[0])
                collect(session, ctx.config, settings, semester)
                approved = session.query(Plan).join(Pupil).filter(Pupil.ref == "R6-014").one()
                lifecycle.move(approved, PlanStatus.APPROVED)
                nonce = issue_link(session, semester, SCHOOL)
            upload = root / "plani_papildu.csv"
            upload.write_bytes(csv(UPLOADED))
            with WebApp(settings, port), sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                                     args=["--no-sandbox"])  # fmt: skip
                page = browser.new_context(
                    viewport={"width": 390, "height": 844}, is_mobile=True, device_scale_factor=1.5
                ).new_page()
                page.goto(school_url(settings, nonce))
                page.set_input_files("#plans-file", str(upload))
                page.get_by_role("button", name="Augšupielādēt plānus").click()
                page.wait_for_selector("#answer")
                out = DOCS / "school-page-phone.png"
                page.screenshot(path=str(out), full_page=True)
                browser.close()
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
