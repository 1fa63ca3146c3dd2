"""Tasks of evaluating a semester: one each for the files, the figures and the reminders."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from pumpurs.clock import today_riga
from pumpurs.evaluation.evaluate import evaluate
from pumpurs.evaluation.reminders import remind_missing
from pumpurs.semester import SemesterCode
from pumpurs.store.context import context
from pumpurs.store.reference import require_semester
from pumpurs.summaries.store import flags_table, read_figures, refresh_figures
from tasks import IO_RETRIES
from tasks.dashboard import Progress


@task(name="evaluate-files", cache_policy=NO_CACHE, **IO_RETRIES)
def evaluate_files(semester: str, progress: Progress | None = None) -> dict[str, Any]:
    """Read, check and evaluate every new evaluation file, and queue the schools' reports."""
    ctx = context()
    code = SemesterCode.parse(semester)
    on_progress = (lambda p: progress.update(p * 0.6)) if progress is not None else (lambda _: None)
    with ctx.sessions.begin() as session:
        report = evaluate(session, ctx.config, ctx.settings, code, on_progress)
    return asdict(report)


@task(name="refresh-figures", cache_policy=NO_CACHE, **IO_RETRIES)
def refresh_semester_figures(semester: str) -> dict[str, Any]:
    """Recompute and store the semester's figures; return how many changed and the flags."""
    ctx = context()
    with ctx.sessions.begin() as session:
        stored = require_semester(session, SemesterCode.parse(semester))
        changed = refresh_figures(session, ctx.config, stored)
        flags = flags_table(read_figures(session, stored.id))
    return {"figures_changed": changed, "flags": flags}


@task(name="remind-missing-evaluations", cache_policy=NO_CACHE, **IO_RETRIES)
def remind_missing_evaluations(semester: str) -> dict[str, Any]:
    """List approved plans still without evaluation; queue each school's one reminder."""
    ctx = context()
    language = str(ctx.settings.language)
    with ctx.sessions.begin() as session:
        report = remind_missing(
            session, ctx.config, language, SemesterCode.parse(semester), today_riga()
        )
    return asdict(report)
