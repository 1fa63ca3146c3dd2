"""Read prefect.yaml, the one description of every deployment, its schedules and triggers."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pumpurs.status import Upcoming

PREFECT_YAML = Path(__file__).resolve().parents[2] / "prefect.yaml"


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


def read_deployments(path: Path = PREFECT_YAML) -> list[DeploymentSpec]:
    """Return the deployments of prefect.yaml with their schedules."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    specs = []
    for item in data["deployments"]:
        limit = item.get("concurrency_limit")
        specs.append(
            DeploymentSpec(
                name=item["name"],
                entrypoint=item["entrypoint"],
                description=item.get("description", ""),
                tags=list(item.get("tags", [])),
                parameters=dict(item.get("parameters") or {}),
                concurrency_limit=limit["limit"] if isinstance(limit, dict) else limit,
                schedules=[
                    ScheduleSpec(
                        cron=s["cron"],
                        timezone=s["timezone"],
                        slug=s["slug"],
                        day_or=s.get("day_or", True),
                    )
                    for s in item.get("schedules", [])
                ],
                triggers=[dict(trigger) for trigger in item.get("triggers") or []],
            )
        )
    return specs


def next_runs(now: dt.datetime, path: Path = PREFECT_YAML, leave_out: str = "") -> list[Upcoming]:
    """Return the next run the schedules in prefect.yaml start of each deployment after `now`
    (computed the way Prefect's scheduler does), the earliest first."""
    from prefect.server.schemas.schedules import CronSchedule

    upcoming = []
    for spec in read_deployments(path):
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
