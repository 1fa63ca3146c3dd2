from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
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
    ("retention", "monthly"): ["2026-12-01 03:00", "2027-01-01 03:00", "2027-02-01 03:00"],
    ("collect-plans", "daily-school-days"): [
        "2026-11-23 06:00",
        "2026-11-24 06:00",
        "2026-11-25 06:00",
    ],
}


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
            properties = deployment.parameter_openapi_schema["properties"]
            assert set(properties) == PARAMETERS[spec.name]
            if spec.name == "retention":  # about every semester past the keeping period
                assert properties["dry_run"]["type"] == "boolean"
            else:
                assert properties["semester"]["anyOf"]
            for item in deployment.schedules:
                cron = CronSchedule(**item.schedule.model_dump(exclude={"type"}))
                assert cron.timezone == "Europe/Riga"
                dates = asyncio.run(cron.get_dates(n=3, start=start))
                seen[(spec.name, item.slug)] = [
                    d.astimezone(RIGA).strftime("%Y-%m-%d %H:%M") for d in dates
                ]
    assert seen == EXPECTED


# What the Prefect UI's form offers for each deployment (its flow's parameters), besides the
# semester: the on-demand runs for one party, and the summaries' provisional and force.
PARAMETERS = {
    "open-semester": {"semester"},
    "collect-plans": {"semester", "school"},
    "route-approvals": {"semester", "approver"},
    "evaluate-semester": {"semester"},
    "send-summaries": {"semester", "force", "provisional", "to"},
    "retention": {"dry_run"},
}


def test_every_deployment_offers_its_parameters_with_titles_or_descriptions() -> None:
    from pumpurs.app.runs import flow_at

    for spec in read_deployments():
        schema = flow_at(spec.entrypoint).parameters.model_dump()
        properties = schema["properties"]
        assert set(properties) == PARAMETERS[spec.name], spec.name
        assert schema["required"] == [], spec.name  # each has a default: Quick run works
        for name, field in properties.items():
            described = [field, *field.get("anyOf", [])]
            assert any(part.get("description") for part in described), (spec.name, name)
    summaries = flow_at("flows/send_summaries.py:send_summaries").parameters.model_dump()
    assert summaries["properties"]["to"]["anyOf"][0]["title"] == "Kam / To"
