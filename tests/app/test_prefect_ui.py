"""The Prefect UI's Custom run form, in headless Chromium against a real Prefect server: the
semester is a text box at once; the run gets what was typed there; a mistyped code fails the
run at once with the Latvian message on the run's page."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from playwright.sync_api import Page, expect, sync_playwright

from pumpurs.app.deployments import PREFECT_YAML
from pumpurs.store.context import Context
from tests.app.web.live import free_port, wait_for
from tests.approvals.factory import SEMESTER, submitted_plan

CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.timeout(600),
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"no Chromium at {CHROMIUM}"),
]
SERVE = (
    "import sys; from pathlib import Path; from prefect import serve; "
    "from pumpurs.app.serve import runner_deployments; "
    "from pumpurs.store.context import load_context; "
    "serve(*runner_deployments(load_context().config, Path(sys.argv[1])), "
    "print_starting_message=False)"
)


@dataclass
class Prefect:
    """A Prefect server with its UI, and a runner serving the semester-status deployment."""

    url: str
    deployment: str
    api: httpx.Client

    def runs(self) -> list[dict[str, Any]]:
        """Return the deployment's flow runs, newest first."""
        body = {
            "deployments": {"id": {"any_": [self.deployment]}},
            "sort": "EXPECTED_START_TIME_DESC",
        }
        found: list[dict[str, Any]] = self.api.post("/flow_runs/filter", json=body).json()
        return found


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def prefect(context: Context, tmp_path: Path) -> Iterator[Prefect]:
    """Start a Prefect server with its UI on a free loopback port, and serve semester-status
    (without its schedule and triggers) from the repository's prefect.yaml."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_API_URL=f"{url}/api",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_RUNNER_POLL_FREQUENCY="1",
        PUMPURS_DATABASE_URL=context.settings.effective_database_url,
        PUMPURS_CONFIG_DIR=str(context.settings.config_dir),
        PUMPURS_VAR_DIR=str(context.settings.var_dir),
        PUMPURS_SMTP_PORT="1",
    )
    data = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))
    (status,) = [d for d in data["deployments"] if d["name"] == "semester-status"]
    data["deployments"] = [{**status, "schedules": [], "triggers": []}]
    (tmp_path / "prefect.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    server = _start(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env,
        tmp_path / "server.log",
    )
    runner = None
    try:
        with httpx.Client(base_url=f"{url}/api", timeout=10) as api:

            def answers() -> bool:
                assert server.poll() is None, (tmp_path / "server.log").read_text()
                try:
                    return api.get("/health").status_code == 200
                except httpx.HTTPError:
                    return False

            wait_for(answers, 180, "the Prefect server did not start")
            runner = _start(
                [sys.executable, "-c", SERVE, str(tmp_path / "prefect.yaml")],
                env,
                tmp_path / "runner.log",
            )
            found: list[dict[str, Any]] = []

            def registered() -> bool:
                assert runner is not None and runner.poll() is None
                found[:] = api.post("/deployments/filter", json={}).json()
                return bool(found)

            wait_for(registered, 120, "the runner did not register semester-status")
            yield Prefect(url, found[0]["id"], api)
    finally:
        for process in (runner, server):
            if process is not None:
                _stop(process)


def _custom_run(page: Page, prefect: Prefect, semester: str) -> dict[str, Any]:
    """Start a Custom run from the deployment's page with `semester` typed in; return the run
    once it has finished."""
    before = {run["id"] for run in prefect.runs()}
    page.goto(f"{prefect.url}/deployments/deployment/{prefect.deployment}")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("Custom run").click()
    field = page.locator("textarea")
    field.wait_for()  # there at once: no "None" toggle to open first
    # the form renders the description a moment after the text box: wait for it, don't sample
    expect(page.get_by_text("Semestra kods: mācību gads un 1. vai 2. semestris")).to_be_visible()
    field.fill(semester)
    page.get_by_role("button", name="Submit").click()
    new: list[dict[str, Any]] = []

    def finished() -> bool:
        new[:] = [run for run in prefect.runs() if run["id"] not in before]
        return bool(new) and new[0]["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED")

    wait_for(finished, 180, f"the custom run with {semester!r} did not finish")
    (run,) = new
    return run


def test_the_custom_run_form_takes_the_semester_typed_in(
    prefect: Prefect, context: Context
) -> None:
    submitted_plan(context)  # one plan waiting, so the run's artifacts have something to show
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        done = _custom_run(page, prefect, SEMESTER)
        assert (done["parameters"], done["state"]["type"]) == ({"semester": SEMESTER}, "COMPLETED")
        body = {"artifacts": {"flow_run_id": {"any_": [done["id"]]}}}
        keys = {a["key"] for a in prefect.api.post("/artifacts/filter", json=body).json()}
        assert "semester-status-2026-2027-1-headline" in keys
        assert "semester-status-2026-2027-1-approvals-by-region" in keys

        failed = _custom_run(page, prefect, "2026/27-1")
        assert (failed["parameters"], failed["state"]["type"]) == (
            {"semester": "2026/27-1"},
            "FAILED",
        )
        page.goto(f"{prefect.url}/runs/flow-run/{failed['id']}")
        message = "Nederīgs semestra kods “2026/27-1”: jābūt formā 2026/2027-1"
        page.get_by_text(message).first.wait_for()  # the run's page says it in Latvian
        browser.close()
    assert message in failed["state"]["message"]
