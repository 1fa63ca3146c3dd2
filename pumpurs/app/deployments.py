"""Read prefect.yaml, the one description of every deployment and its schedules."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

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
            )
        )
    return specs
