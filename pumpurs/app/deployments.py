"""The deployments: what prefect.yaml says of each (its triggers too), with the schedules of
the cycle's flows derived from the calendar in programme.yaml (the one place the term dates
live), and the next runs the schedules start."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pumpurs.calendar import Phase, Schedule, schedules
from pumpurs.config import Config
from pumpurs.errors import UserError
from pumpurs.i18n.catalogue import N_
from pumpurs.status import Upcoming

PREFECT_YAML = Path(__file__).resolve().parents[2] / "prefect.yaml"

CALENDAR_PHASES = {
    "flows/open_semester.py:open_semester": Phase.OPEN,
    "flows/collect_plans.py:collect_plans": Phase.COLLECT,
    "flows/route_approvals.py:route_approvals": Phase.ROUTE,
    "flows/evaluate_semester.py:evaluate_semester": Phase.EVALUATE,
    "flows/send_summaries.py:send_summaries": Phase.SUMMARIES,
}
"""The flows whose schedules follow the calendar, by their entrypoint in prefect.yaml."""


@dataclass(frozen=True)
class ScheduleSpec:
    cron: str
    timezone: str
    slug: str
    day_or: bool = True


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    entrypoint: str
    description: str
    tags: list[str]
    parameters: dict[str, Any]
    concurrency_limit: int | None
    schedules: list[ScheduleSpec] = field(default_factory=list)
    triggers: list[dict[str, Any]] = field(default_factory=list)  # as prefect.yaml writes them


def read_deployments(config: Config, path: Path = PREFECT_YAML) -> list[DeploymentSpec]:
    """Return the deployments of prefect.yaml, the cycle's with the calendar's schedules."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    derived = schedules(config)
    specs = []
    for item in data["deployments"]:
        limit = item.get("concurrency_limit")
        phase = CALENDAR_PHASES.get(item["entrypoint"])
        if phase is not None and item.get("schedules"):
            raise ValueError(
                f"{path}: {item['name']} has schedules of its own; the calendar gives them"
            )
        specs.append(
            DeploymentSpec(
                name=item["name"],
                entrypoint=item["entrypoint"],
                description=item.get("description", ""),
                tags=list(item.get("tags", [])),
                parameters=dict(item.get("parameters") or {}),
                concurrency_limit=limit["limit"] if isinstance(limit, dict) else limit,
                schedules=_written(item) if phase is None else _calendar(derived[phase]),
                triggers=[dict(trigger) for trigger in item.get("triggers") or []],
            )
        )
    return specs


def _calendar(derived: list[Schedule]) -> list[ScheduleSpec]:
    return [ScheduleSpec(s.cron, s.timezone, s.slug, s.day_or) for s in derived]


def _written(item: dict[str, Any]) -> list[ScheduleSpec]:
    """Return the schedules prefect.yaml gives a deployment outside the cycle."""
    return [
        ScheduleSpec(s["cron"], s["timezone"], s["slug"], s.get("day_or", True))
        for s in item.get("schedules") or []
    ]


def apply_schedules(config: Config) -> dict[str, int]:
    """Give the cycle's deployments on the Prefect server (PREFECT_API_URL) the calendar's
    schedules, replacing what they had; return how many each now has.

    `prefect deploy --all` registers the deployments from prefect.yaml, which names no dates;
    run this after it, and again whenever the calendar in programme.yaml changes.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentScheduleCreate
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        raise UserError(N_("Set PREFECT_API_URL to the Prefect server's API address first."))
    applied: dict[str, int] = {}
    with get_client(sync_client=True) as client:
        for spec in read_deployments(config):
            if spec.entrypoint not in CALENDAR_PHASES:
                continue
            try:  # each flow is named like its deployment
                deployment = client.read_deployment_by_name(f"{spec.name}/{spec.name}")
            except ObjectNotFound:
                message = N_(
                    "Deployment %(name)s is not on the server: run `prefect deploy --all`."
                )
                raise UserError(message, name=spec.name) from None
            for old in client.read_deployment_schedules(deployment.id):
                client.delete_deployment_schedule(deployment.id, old.id)
            wanted = [
                DeploymentScheduleCreate(
                    schedule=CronSchedule(cron=s.cron, timezone=s.timezone, day_or=s.day_or),
                    active=True,
                    slug=s.slug,
                )
                for s in spec.schedules
            ]
            client.create_deployment_schedules(deployment.id, wanted)
            applied[spec.name] = len(wanted)
    return applied


def next_runs(
    config: Config, now: dt.datetime, path: Path = PREFECT_YAML, leave_out: str = ""
) -> list[Upcoming]:
    """Return the next run the schedules start of each deployment after `now` (computed the
    way Prefect's scheduler does), the earliest first."""
    from prefect.server.schemas.schedules import CronSchedule

    upcoming = []
    for spec in read_deployments(config, path):
        if spec.name == leave_out or not spec.schedules:
            continue
        dates = [
            asyncio.run(
                CronSchedule(cron=s.cron, timezone=s.timezone, day_or=s.day_or).get_dates(
                    n=1, start=now
                )
            )
            for s in spec.schedules
        ]
        first = min((found[0] for found in dates if found), default=None)
        if first is not None:
            upcoming.append(Upcoming(spec.name, first))
    return sorted(upcoming, key=lambda run: run.at)
