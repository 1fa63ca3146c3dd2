"""The semester-status deployment's own triggers, driven for real: `pumpurs serve`'s runner
deployment (its triggers read from prefect.yaml) on Prefect's harness; two decisions in the
web app in a burst, and the one run the debounced trigger starts shows them both; then the end
of a collect run starts the next one, for the collect run's semester."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
import yaml

from flows.collect_plans import collect_plans
from pumpurs.app.deployments import PREFECT_YAML
from pumpurs.clock import utcnow
from pumpurs.store.context import Context
from tests.app.web.conftest import csrf_of, plan_paths, serve
from tests.app.web.live import wait_for
from tests.approvals.factory import SEMESTER, submitted_plan

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("prefect_harness"),
    pytest.mark.timeout(300),
]
REPO = Path(__file__).resolve().parents[2]
NAME = "semester-status-trigger-test"
WINDOW = 5  # seconds: prefect.yaml's 60, shortened so that the test does not wait minutes
SERVE = (
    "import sys; from pathlib import Path; from prefect import serve; "
    "from pumpurs.app.serve import runner_deployments; "
    "from pumpurs.store.context import load_context; "
    "serve(*runner_deployments(load_context().config, Path(sys.argv[1])), "
    "print_starting_message=False)"
)


def _prefect_yaml(folder: Path) -> Path:
    """Write prefect.yaml with only the semester-status deployment: renamed, no schedule, and
    its triggers' window and delay shortened."""
    data = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))
    (status,) = [d for d in data["deployments"] if d["name"] == "semester-status"]
    for trigger in status["triggers"]:
        assert trigger["within"] == trigger["schedule_after"] == 60
        trigger.update(within=WINDOW, schedule_after=WINDOW)
    data["deployments"] = [{**status, "name": NAME, "schedules": []}]
    path = folder / "prefect.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _client() -> Any:
    from prefect.client.orchestration import get_client

    return get_client(sync_client=True)


def _deployment_id() -> UUID | None:
    from prefect.exceptions import ObjectNotFound

    with _client() as client:
        try:
            return UUID(str(client.read_deployment_by_name(f"semester-status/{NAME}").id))
        except ObjectNotFound:
            return None


def _own_automations(deployment: UUID) -> list[Any]:
    with _client() as client:
        return [
            a
            for a in client.read_automations()
            if [getattr(x, "deployment_id", None) for x in a.actions] == [deployment]
        ]


def _runs(deployment: UUID) -> list[Any]:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    with _client() as client:
        return list(
            client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment]))
            )
        )


@pytest.fixture
def served(context: Context, tmp_path: Path) -> Iterator[UUID]:
    """Serve the test's semester-status deployment from another process, as `pumpurs serve`
    does; return its id once its two automations exist. Remove both afterwards."""
    from prefect.settings import PREFECT_API_URL

    env = dict(
        os.environ,
        PREFECT_API_URL=str(PREFECT_API_URL.value()),
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_RUNNER_POLL_FREQUENCY="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PUMPURS_DATABASE_URL=context.settings.effective_database_url,
        PUMPURS_CONFIG_DIR=str(context.settings.config_dir),
        PUMPURS_VAR_DIR=str(context.settings.var_dir),
        PUMPURS_SMTP_PORT="1",
    )
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(_prefect_yaml(tmp_path))],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deployment: UUID | None = None
    try:

        def ready() -> bool:
            nonlocal deployment
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            deployment = _deployment_id()
            return deployment is not None and len(_own_automations(deployment)) == 2

        wait_for(ready, 120, "the runner did not register the deployment and its triggers")
        assert deployment is not None
        yield deployment
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
        if deployment is not None:
            with _client() as client:
                for automation in _own_automations(deployment):
                    client.delete_automation(automation.id)
                client.delete_deployment(deployment)


def test_a_burst_of_decisions_gives_one_run_that_shows_them_all(
    context: Context, served: UUID
) -> None:
    for school, ref in [("LV-LIE-006", "P-1"), ("LV-LIE-006", "P-2"), ("LV-RIG-T01", "P-3")]:
        submitted_plan(context, school, ref)
    paths = plan_paths(context)
    with serve(context.settings) as server, httpx.Client(base_url=server.url) as http:
        for plan in (1, 2):  # both Kurzeme plans, one right after the other
            page = http.get(paths[plan])
            decided = http.post(paths[plan], data={"csrf": csrf_of(page.text), "action": "approve"})
            assert decided.status_code == 200
        last_decision = utcnow()

    def finished() -> bool:
        runs = _runs(served)
        return bool(runs) and all(run.state is not None and run.state.is_final() for run in runs)

    wait_for(finished, 150, "no semester-status run was triggered and finished")
    time.sleep(2 * WINDOW)  # any second run of the same burst would have been created by now
    (run,) = _runs(served)
    assert run.state.is_completed(), run.state.message
    assert run.parameters == {"semester": SEMESTER}
    assert run.expected_start_time >= last_decision  # it starts after the whole burst
    with _client() as client:
        body = {"artifacts": {"flow_run_id": {"any_": [str(run.id)]}}, "limit": 50}
        found = {a["key"]: a for a in client.request("POST", "/artifacts/filter", json=body).json()}
    waiting = json.loads(found["semester-status-2026-2027-1-approvals-by-region"]["data"])
    assert [(row["Reģions"], row["Gaida"]) for row in waiting] == [("Rīgas reģions", 1)]
    assert "Lēmumu gaida 1 plāns." in found["semester-status-2026-2027-1-headline"]["data"]

    # A phase run's end (Prefect's own event) triggers the next one, with the run's semester.
    assert collect_plans(SEMESTER)["files"] == 0
    wait_for(
        lambda: len(_runs(served)) == 2 and finished(),
        150,
        "the end of a collect run did not trigger a semester-status run",
    )
    latest = max(_runs(served), key=lambda run: run.expected_start_time)
    assert latest.state.is_completed(), latest.state.message
    assert latest.parameters == {"semester": SEMESTER}
