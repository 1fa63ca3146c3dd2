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
import yaml

from pumpurs.app.deployments import CALENDAR_PHASES, read_deployments
from pumpurs.calendar import Phase
from pumpurs.config import Config, load_config
from pumpurs.semester import SemesterCode

REPO = Path(__file__).resolve().parents[2]
RIGA = ZoneInfo("Europe/Riga")
CONFIG = load_config(REPO / "config")
YEARS = range(2026, 2036)  # the next ten school years
HOURS = {Phase.OPEN: 7, Phase.COLLECT: 6, Phase.ROUTE: 8, Phase.EVALUATE: 18, Phase.SUMMARIES: 8}
PHASES = ["open-semester", "collect-plans", "route-approvals", "evaluate-semester"]


def _other_calendar() -> Config:
    """Return the configuration with other term dates: starts and ends on any weekday."""
    calendar = CONFIG.programme.calendar.model_copy(
        update={
            "term1": CONFIG.programme.calendar.term1.model_copy(
                update={"start": "09-02", "end": "12-19", "evaluation_days": 20}
            ),
            "term2": CONFIG.programme.calendar.term2.model_copy(
                update={"start": "01-08", "end": "06-05", "evaluation_days": 10}
            ),
        }
    )
    programme = CONFIG.programme.model_copy(update={"calendar": calendar})
    return CONFIG.model_copy(update={"programme": programme})


def _span(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def calendar_days(config: Config, phase: Phase) -> list[dt.date]:
    """Return the days a phase must run in the ten school years, from the calendar alone."""
    days: list[dt.date] = []
    for year in YEARS:
        autumn = config.semester_dates(SemesterCode(year, 1))
        spring = config.semester_dates(SemesterCode(year, 2))
        if phase == Phase.OPEN:
            days += [autumn.starts_on, spring.starts_on]
        elif phase in (Phase.COLLECT, Phase.ROUTE):
            school_year = _span(autumn.starts_on, spring.evaluation_deadline)
            days += [d for d in school_year if d.weekday() < 5]
        for dates in (autumn, spring):
            deadline = dates.evaluation_deadline
            if phase == Phase.EVALUATE:
                days += _span(dates.ends_on, deadline + dt.timedelta(days=5))
            elif phase == Phase.SUMMARIES:
                days += _span(deadline + dt.timedelta(days=1), deadline + dt.timedelta(days=7))
    return sorted(days)


def scheduled_runs(config: Config) -> dict[Phase, list[dt.datetime]]:
    """Return every run Prefect's own cron schedules give the deployments in the ten years."""
    from prefect.server.schemas.schedules import CronSchedule

    runs: dict[Phase, list[dt.datetime]] = {}
    for spec in read_deployments(config):
        phase = CALENDAR_PHASES.get(spec.entrypoint)
        if phase is None:  # retention: its own schedule, outside the cycle
            continue
        for item in spec.schedules:
            cron = CronSchedule(cron=item.cron, timezone=item.timezone, day_or=item.day_or)
            for year in YEARS:  # a year at a time: Prefect gives at most 1,000 dates a call
                start = dt.datetime(year, 8, 1, tzinfo=RIGA)
                end = dt.datetime(year + 1, 8, 1, tzinfo=RIGA) - dt.timedelta(seconds=1)
                dates = asyncio.run(cron.get_dates(n=1000, start=start, end=end))
                runs.setdefault(phase, []).extend(d.astimezone(RIGA) for d in dates)
    return {phase: sorted(times) for phase, times in runs.items()}


@pytest.mark.parametrize("config", [CONFIG, _other_calendar()], ids=["programme.yaml", "other"])
def test_the_schedules_run_each_phase_on_the_calendars_days_for_ten_school_years(
    config: Config,
) -> None:
    runs = scheduled_runs(config)
    assert set(runs) == set(Phase)
    for phase, times in runs.items():
        assert [t.date() for t in times] == calendar_days(config, phase), phase
        assert {(t.hour, t.minute) for t in times} == {(HOURS[phase], 0)}, phase


def test_a_term_starting_on_a_weekend_is_opened_once_on_the_monday_after() -> None:
    opened = [t.date() for t in scheduled_runs(CONFIG)[Phase.OPEN]]
    assert dt.date(2029, 9, 3) in opened and dt.date(2029, 9, 1) not in opened  # 1.9. a Saturday
    januaries = [d for d in opened if d.month == 1]
    assert len(januaries) == len(set(d.year for d in januaries)) == len(YEARS)


def test_prefect_yaml_names_no_dates_of_the_cycle(tmp_path: Path) -> None:
    text = (REPO / "prefect.yaml").read_text(encoding="utf-8")
    written = yaml.safe_load(text)["deployments"]
    cycle = [item for item in written if item["entrypoint"] in CALENDAR_PHASES]
    assert {item["entrypoint"] for item in cycle} == set(CALENDAR_PHASES)
    assert not any(item.get("schedules") for item in cycle)
    # Outside the cycle only retention keeps a schedule of its own (monthly, not a term date).
    others = {item["name"]: item.get("schedules") for item in written if item not in cycle}
    assert [s["cron"] for s in others["retention"]] == ["0 3 1 * *"]
    second = text.replace(
        "    parameters: {}\n", "    parameters: {}\n    schedules: [{cron: '0 7 1 9 *'}]\n", 1
    )
    (tmp_path / "prefect.yaml").write_text(second, encoding="utf-8")
    with pytest.raises(ValueError, match="the calendar gives them"):
        read_deployments(CONFIG, tmp_path / "prefect.yaml")


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=180, check=False)  # fmt: skip


@pytest.mark.usefixtures("prefect_harness")
def test_prefect_yaml_deploys_to_a_process_pool_and_the_calendar_gives_the_schedules(
    tmp_path: Path,
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    env = dict(
        os.environ,
        PREFECT_API_URL=str(PREFECT_API_URL.value()),
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PUMPURS_CONFIG_DIR=str(REPO / "config"),
        PUMPURS_VAR_DIR=str(tmp_path / "var"),
    )
    created = _run(["prefect", "work-pool", "create", "pumpurs-process", "--type", "process"], env)
    assert created.returncode == 0, created.stdout + created.stderr
    for command in (["prefect", "--no-prompt", "deploy", "--all"],
                    ["pumpurs.app.cli", "deployments", "--apply"],
                    ["prefect", "--no-prompt", "deploy", "--all"]):  # a later release  # fmt: skip
        done = _run(command, env)
        assert done.returncode == 0, done.stdout + done.stderr
    with get_client(sync_client=True) as client:
        kept = {s.name: len(client.read_deployment_by_name(f"{s.name}/{s.name}").schedules)
                for s in read_deployments(CONFIG)}  # fmt: skip
    assert kept == {s.name: len(s.schedules) for s in read_deployments(CONFIG)}  # not wiped
    done = _run(["pumpurs.app.cli", "deployments", "--apply"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "Prefect serverī grafiki iestatīti 5 izvietojumiem."

    with get_client(sync_client=True) as client:
        for spec in read_deployments(CONFIG):
            deployment = client.read_deployment_by_name(f"{spec.name}/{spec.name}")
            assert deployment.work_pool_name == "pumpurs-process"
            assert deployment.parameter_openapi_schema is not None
            properties = deployment.parameter_openapi_schema["properties"]
            assert set(properties) == PARAMETERS[spec.name]
            if spec.name == "retention":  # about every semester past the keeping period
                assert properties["dry_run"]["type"] == "boolean"
            else:
                field = properties["semester"]
                # A text box at once in the Custom run form: a string, not "string or None".
                assert (field["type"], field["default"], "anyOf" in field) == ("string", "", False)
                assert field["description"].startswith("Semestra kods: mācību gads un 1. vai 2.")
            on_server = sorted(
                (s.slug, s.schedule.cron, s.schedule.timezone, s.schedule.day_or)  # type: ignore[union-attr]
                for s in deployment.schedules
            )
            wanted = sorted((s.slug, s.cron, s.timezone, s.day_or) for s in spec.schedules)
            assert on_server == wanted, spec.name
    assert _status_triggers(client_automations()) == EXPECTED_TRIGGERS


# What the Prefect UI's form offers for each deployment (its flow's parameters), besides the
# semester: the on-demand runs for one party, and the summaries' provisional and force.
PARAMETERS = {
    "open-semester": {"semester"},
    "collect-plans": {"semester", "school"},
    "route-approvals": {"semester", "approver"},
    "evaluate-semester": {"semester"},
    "send-summaries": {"semester", "force", "provisional", "to"},
    "retention": {"dry_run"},
    "semester-status": {"semester"},
}


def test_every_deployment_offers_its_parameters_with_titles_or_descriptions() -> None:
    from pumpurs.app.runs import flow_at

    for spec in read_deployments(CONFIG):
        schema = flow_at(spec.entrypoint).parameters.model_dump()
        properties = schema["properties"]
        assert set(properties) == PARAMETERS[spec.name], spec.name
        assert schema["required"] == [], spec.name  # each has a default: Quick run works
        for name, field in properties.items():
            described = [field, *field.get("anyOf", [])]
            assert any(part.get("description") for part in described), (spec.name, name)
    summaries = flow_at("flows/send_summaries.py:send_summaries").parameters.model_dump()
    assert summaries["properties"]["to"]["anyOf"][0]["title"] == "Kam / To"


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

    served = {d.name: d for d in runner_deployments(CONFIG)}
    triggers = served["semester-status"].triggers
    assert [t.name for t in triggers] == list(EXPECTED_TRIGGERS)
    for trigger in triggers:
        expect, related, parameters = EXPECTED_TRIGGERS[trigger.name]
        assert (sorted(trigger.expect), trigger.parameters) == (expect, parameters)
        assert trigger.within == trigger.schedule_after == dt.timedelta(seconds=60)
    triggered = {name for name, d in served.items() if d.triggers}
    assert triggered == {"semester-status", *UPLOAD_TRIGGERS}


# The runs a school's upload starts: the deployment, its trigger, the resources it matches.
UPLOAD_TRIGGERS = {
    "collect-plans": ("collect-plans-after-upload", "pumpurs.upload.plans.*"),
    "evaluate-semester": ("evaluate-semester-after-upload", "pumpurs.upload.evaluation.*"),
}


def test_an_upload_starts_collect_or_evaluate_for_its_semester_debounced() -> None:
    from pumpurs.app.serve import runner_deployments

    served = {d.name: d for d in runner_deployments(CONFIG)}
    for deployment, (name, resource) in UPLOAD_TRIGGERS.items():
        (trigger,) = served[deployment].triggers
        assert trigger.name == name
        assert sorted(trigger.expect) == ["pumpurs.file.received"]
        assert dict(trigger.match.root) == {"prefect.resource.id": resource}
        assert trigger.parameters == {"semester": "{{ event.payload.semester }}"}
        assert (trigger.posture, trigger.threshold) == ("Reactive", 1)
        assert trigger.within == trigger.schedule_after == dt.timedelta(seconds=60)
        assert served[deployment].schedules, "the daily schedule stays"
