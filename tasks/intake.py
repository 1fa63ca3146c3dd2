"""The collect task: one run reads, checks and stores the inbox, a part of schools at a time."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from pumpurs.intake.collect import collect_in_chunks
from pumpurs.semester import SemesterCode
from pumpurs.store.context import context
from tasks import IO_RETRIES
from tasks.dashboard import Progress


@task(name="collect-plan-files", cache_policy=NO_CACHE, **IO_RETRIES)
def collect_plan_files(semester: str, progress: Progress | None = None) -> dict[str, Any]:
    """Read, validate and store every new plan file, and queue the schools' reports.

    Each part of schools is stored in its own transaction: a run stopped midway leaves whole
    parts stored, and the next run (or retry) takes the files not stored yet.
    """
    ctx = context()
    code = SemesterCode.parse(semester)
    on_progress = progress.update if progress is not None else (lambda _: None)
    report = collect_in_chunks(ctx.sessions, ctx.config, ctx.settings, code, on_progress)
    return asdict(report)
