from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pumpurs.app.deployments import read_deployments

REPO = Path(__file__).resolve().parents[2]
RIGA = ZoneInfo("Europe/Riga")

# The next three run times from 22 November 2026, as a person in Riga reads them.
EXPECTED = {
    ("open-semester", "open-autumn"): ["2027-09-01 07:00", "2028-09-01 07:00", "2029-09-01 07:00"],
    ("open-semester", "open-spring"): ["2027-01-05 07:00", "2027-01-06 07:00", "2027-01-07 07:00"],
    ("evaluate-semester", "autumn-term-end"): [
        "2026-12-22 18:00",
        "2026-12-23 18:00",
        "2026-12-24 18:00",
    ],
    ("evaluate-semester", "autumn-term-deadline"): [
        "2027-01-01 18:00",
        "2027-01-02 18:00",
        "2027-01-03 18:00",
    ],
    ("evaluate-semester", "spring-term-end"): [
        "2027-05-29 18:00",
        "2027-05-30 18:00",
        "2027-05-31 18:00",
    ],
    ("evaluate-semester", "spring-term-deadline"): [
        "2027-06-01 18:00",
        "2027-06-02 18:00",
        "2027-06-03 18:00",
    ],
    ("route-approvals", "daily-school-days"): [
        "2026-11-23 08:00",
        "2026-11-24 08:00",
        "2026-11-25 08:00",
    ],
    ("send-summaries", "after-autumn-evaluation"): [
        "2027-01-06 08:00",
        "2027-01-07 08:00",
        "2027-01-08 08:00",
    ],
    ("send-summaries", "after-spring-evaluation"): [
        "2027-06-13 08:00",
        "2027-06-14 08:00",
        "2027-06-15 08:00",
    ],
    ("collect-plans", "daily-school-days"): [
        "2026-11-23 06:00",
        "2026-11-24 06:00",
        "2026-11-25 06:00",
    ],
    ("semester-status", "working-hours"): [
        "2026-11-23 07:00",
        "2026-11-23 07:15",
        "2026-11-23 07:30",
    ],
}
PHASES = ["open-semester", "collect-plans", "route-approvals", "evaluate-semester"]


def _prefect(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "prefect", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=180, check=False)  # fmt: skip


@pytest.mark.usefixtures("prefect_harness")
def test_prefect_yaml_deploys_to_a_process_pool_with_riga_schedules(tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.server.schemas.schedules import CronSchedule
    from prefect.settings import PREFECT_API_URL

    env = dict(
        os.environ,
        PREFECT_API_URL=str(PREFECT_API_URL.value()),
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    created = _prefect(["work-pool", "create", "pumpurs-process", "--type", "process"], env)
    assert created.returncode == 0, created.stdout + created.stderr
    deployed = _prefect(["--no-prompt", "deploy", "--all"], env)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr

    specs = read_deployments()
    start = dt.datetime(2026, 11, 22, tzinfo=RIGA)
    seen = {}
    with get_client(sync_client=True) as client:
        for spec in specs:
            flow_name = spec.name  # each flow is named like its deployment
            deployment = client.read_deployment_by_name(f"{flow_name}/{spec.name}")
            assert deployment.work_pool_name == "pumpurs-process"
            field = deployment.parameter_openapi_schema["properties"]["semester"]
            # A text box at once in the Custom run form: a string, not "string or None".
            assert (field["type"], field["default"], "anyOf" in field) == ("string", "", False)
            assert field["description"].startswith("Semestra kods: mācību gads un 1. vai 2.")
            for item in deployment.schedules:
                cron = CronSchedule(**item.schedule.model_dump(exclude={"type"}))
                assert cron.timezone == "Europe/Riga"
                dates = asyncio.run(cron.get_dates(n=3, start=start))
                seen[(spec.name, item.slug)] = [
                    d.astimezone(RIGA).strftime("%Y-%m-%d %H:%M") for d in dates
                ]
    assert seen == EXPECTED
    assert _status_triggers(client_automations()) == EXPECTED_TRIGGERS


EXPECTED_TRIGGERS = {
    "semester-status-after-a-run": (
        ["prefect.flow-run.Completed"],
        {"prefect.resource.role": "flow", "prefect.resource.name": PHASES},
        {"semester": "{{ flow_run.parameters.semester | default('', true) }}"},
    ),
    "semester-status-after-decisions": (
        ["pumpurs.plan.approved", "pumpurs.plan.returned"],
        {},
        {"semester": "{{ event.payload.semester }}"},
    ),
}


def client_automations() -> list[Any]:
    """Return every automation the Prefect server has."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return list(client.read_automations())


def _status_triggers(automations: list[Any]) -> dict[str, tuple[Any, ...]]:
    """Return what each automation of the semester-status deployment reacts to and passes on,
    after checking that it debounces (60 s window, the run 60 s after the first event) and runs
    that deployment."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("semester-status/semester-status")
    found = {}
    for automation in automations:
        actions = automation.actions
        if [getattr(action, "deployment_id", None) for action in actions] != [deployment.id]:
            continue
        trigger, (action,) = automation.trigger, actions
        assert (trigger.posture, trigger.threshold) == ("Reactive", 1)
        assert trigger.within == action.schedule_after == dt.timedelta(seconds=60)
        assert action.type == "run-deployment"
        related = trigger.match_related
        related = dict(related.root) if not isinstance(related, list) and related else {}
        found[automation.name] = (sorted(trigger.expect), related, action.parameters)
    return found


def test_serve_gives_the_same_triggers_as_deploy() -> None:
    from pumpurs.app.serve import runner_deployments

    served = {d.name: d for d in runner_deployments()}
    triggers = served["semester-status"].triggers
    assert [t.name for t in triggers] == list(EXPECTED_TRIGGERS)
    for trigger in triggers:
        expect, related, parameters = EXPECTED_TRIGGERS[trigger.name]
        assert (sorted(trigger.expect), trigger.parameters) == (expect, parameters)
        assert trigger.within == trigger.schedule_after == dt.timedelta(seconds=60)
    assert not any(d.triggers for name, d in served.items() if name != "semester-status")
