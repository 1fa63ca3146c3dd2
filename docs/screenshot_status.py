"""Screenshot the semester's live view in the Prefect UI: the status headline, two of its tables,
the Artifacts page, and the Custom run form's semester field.

A city-scale semester is generated with three schools' files left out (they "have not
submitted"), opened, collected and routed into a throw-away SQLite database at frozen moments
in September; a Prefect server with its UI starts on a free loopback port, the semester-status
flow runs against it (the clock frozen a week after the routing), and headless Chromium saves
the pages as PNG.

    .venv/bin/python docs/screenshot_status.py     # docs/status-*.png, docs/custom-run.png
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import time_machine
from playwright.sync_api import Page, sync_playwright

from pumpurs.clock import RIGA

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
CHROMIUM = "/usr/bin/chromium"
LEFT_OUT = ("LV-LAC-101", "LV-MEZ-104", "LV-OZO-101")  # schools whose files are not sent
OPENED = dt.datetime(2026, 9, 1, 8, 0, tzinfo=RIGA)
COLLECTED = dt.datetime(2026, 9, 7, 6, 0, tzinfo=RIGA)
NOW = dt.datetime(2026, 9, 14, 10, 15, tzinfo=RIGA)


def prepare(work: Path) -> dict[str, str]:
    """Generate, open, collect and route the semester; return the PUMPURS_* settings of it."""
    from pumpurs.approvals import ensure_steps, queue_route_mail
    from pumpurs.generate import generate
    from pumpurs.intake.collect import collect
    from pumpurs.opening.carry import open_records
    from pumpurs.opening.invitations import queue_invitations
    from pumpurs.semester import SemesterCode
    from pumpurs.settings import Settings
    from pumpurs.store.context import load_context, use_settings

    code = SemesterCode.parse("2026/2027-1")
    generate("city", 1, work / "data", code)
    inbox = work / "data" / "inbox" / code.folder
    for school in LEFT_OUT:
        shutil.rmtree(inbox / school, ignore_errors=True)
    env = {
        "PUMPURS_DATABASE_URL": f"sqlite:///{work / 'pumpurs.db'}",
        "PUMPURS_CONFIG_DIR": str(work / "data" / "config"),
        "PUMPURS_INBOX_DIR": str(work / "data" / "inbox"),
        "PUMPURS_VAR_DIR": str(work / "var"),
        "PUMPURS_SMTP_PORT": "1",
    }
    settings = Settings(
        _env_file=None,
        database_url=env["PUMPURS_DATABASE_URL"],
        config_dir=work / "data" / "config",
        inbox_dir=work / "data" / "inbox",
        var_dir=work / "var",
        smtp_port=1,
    )
    with use_settings(settings):
        ctx = load_context(settings)
        with time_machine.travel(OPENED, tick=False), ctx.sessions.begin() as session:
            semester = open_records(session, ctx.config, code).semester
            queue_invitations(session, ctx.config, ctx.settings, semester)
        with time_machine.travel(COLLECTED, tick=False), ctx.sessions.begin() as session:
            collect(session, ctx.config, ctx.settings, semester)
            ensure_steps(session, ctx.config, semester_id=semester.id)
            queue_route_mail(session, ctx.config, ctx.settings, semester)
    return env


def start_prefect(work: Path, port: int) -> subprocess.Popen[bytes]:
    """Start a Prefect server with its UI; return once it answers."""
    command = [
        sys.executable,
        "-m",
        "prefect",
        "server",
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    log = (work / "prefect.log").open("wb")
    server = subprocess.Popen(
        command,
        cwd=work,
        env=dict(os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2):
                return server
        except OSError:
            time.sleep(1)
    raise RuntimeError("the Prefect server did not start")


def newest(api: str, key: str) -> str:
    """Return the id of the newest artifact with this key."""
    import json

    body = json.dumps(
        {"artifacts": {"key": {"any_": [key]}}, "sort": "CREATED_DESC", "limit": 1}
    ).encode()
    request = urllib.request.Request(
        f"{api}/artifacts/filter", data=body, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:
        found: list[dict[str, Any]] = json.load(response)
    return str(found[0]["id"])


def shoot(page: Page, url: str, name: str, height: int, width: int = 1280) -> Path:
    """Save the top left `width` × `height` pixels of a UI page shown `width` wide."""
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(url, wait_until="networkidle")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(DOCS / name), clip={"x": 0, "y": 0, "width": width, "height": height})
    return DOCS / name


def main() -> list[Path]:
    """Run the semester, publish its status to a fresh Prefect server, save the pages."""
    work = Path(tempfile.mkdtemp(prefix="pumpurs-status-screens-"))
    port = _free_port()
    ui = f"http://127.0.0.1:{port}"
    os.environ.update(
        PREFECT_HOME=str(work / "prefect"),
        PREFECT_API_URL=f"{ui}/api",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    server = None
    try:
        os.environ.update(prepare(work))
        server = start_prefect(work, port)
        from flows.semester_status import semester_status
        from pumpurs.app.serve import runner_deployments

        (deployment,) = [d for d in runner_deployments() if d.name == "semester-status"]
        deployment_id = deployment.apply()
        with time_machine.travel(NOW, tick=True):
            semester_status("2026/2027-1")
        prefix = "semester-status-2026-2027-1"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            artifact = f"{ui}/artifacts/artifact"
            written = [
                shoot(
                    page,
                    f"{artifact}/{newest(ui + '/api', prefix + '-headline')}",
                    "status-headline.png",
                    860,
                ),
                shoot(
                    page,
                    f"{artifact}/{newest(ui + '/api', prefix + '-schools-not-submitted')}",
                    "status-schools-not-submitted.png",
                    400,
                    2200,
                ),
                shoot(
                    page,
                    f"{artifact}/{newest(ui + '/api', prefix + '-approvals-by-approver')}",
                    "status-approvals-by-approver.png",
                    440,
                    2200,
                ),
            ]
            page.set_viewport_size({"width": 1280, "height": 900})
            page.goto(f"{ui}/deployments/deployment/{deployment_id}/run", wait_until="networkidle")
            page.locator("textarea").fill("2026/2027-1")
            page.wait_for_timeout(500)
            page.screenshot(
                path=str(DOCS / "custom-run.png"),
                clip={"x": 0, "y": 0, "width": 1280, "height": 440},
            )
            written.append(DOCS / "custom-run.png")
            browser.close()
        return written
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


if __name__ == "__main__":
    for path in main():
        print(path.relative_to(REPO))
