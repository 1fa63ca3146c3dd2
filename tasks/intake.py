"""The collect task: one run reads, checks and stores the inbox, a part of schools at a time."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from pumpurs.intake.collect import CollectReport, OneSchool, collect_in_chunks
from pumpurs.store.context import context
from pumpurs.store.reference import StoredSemester
from tasks import IO_RETRIES
from tasks.dashboard import Progress


@task(name="collect-plan-files", cache_policy=NO_CACHE, **IO_RETRIES)
def collect_plan_files(
    semester: StoredSemester, progress: Progress | None = None, school: OneSchool | None = None
) -> CollectReport:
    """Read, validate and store every new plan file (or one school's), and queue the schools'
    reports.

    Each part of schools is stored in its own transaction: a run stopped midway leaves whole
    parts stored, and the next run (or retry) takes the files not stored yet.
    """
    ctx = context()
    on_progress = progress.update if progress is not None else (lambda _: None)
    return collect_in_chunks(ctx.sessions, ctx.config, ctx.settings, semester, on_progress, school)
