"""Tasks of evaluating a semester: one each for the files, the figures and the reminders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from pumpurs.clock import today_riga
from pumpurs.evaluation.evaluate import EvaluationReport, evaluate
from pumpurs.evaluation.reminders import MissingReport, remind_missing
from pumpurs.store.context import context
from pumpurs.store.reference import StoredSemester
from pumpurs.summaries.store import flags_table, read_figures, refresh_figures
from tasks import IO_RETRIES
from tasks.dashboard import Progress


@dataclass(frozen=True)
class FiguresRefreshed:
    """How many units' figures changed, and the dashboard's table of flagged plans."""

    changed: int
    flags: list[dict[str, Any]]


@task(name="evaluate-files", cache_policy=NO_CACHE, **IO_RETRIES)
def evaluate_files(semester: StoredSemester, progress: Progress | None = None) -> EvaluationReport:
    """Read, check and evaluate every new evaluation file, and queue the schools' reports."""
    ctx = context()
    on_progress = (lambda p: progress.update(p * 0.6)) if progress is not None else (lambda _: None)
    with ctx.sessions.begin() as session:
        return evaluate(session, ctx.config, ctx.settings, semester, on_progress)


@task(name="refresh-figures", cache_policy=NO_CACHE, **IO_RETRIES)
def refresh_semester_figures(semester: StoredSemester) -> FiguresRefreshed:
    """Recompute and store the semester's figures; return how many changed and the flags."""
    ctx = context()
    with ctx.sessions.begin() as session:
        changed = refresh_figures(session, ctx.config, semester)
        flags = flags_table(read_figures(session, semester.id))
    return FiguresRefreshed(changed, flags)


@task(name="remind-missing-evaluations", cache_policy=NO_CACHE, **IO_RETRIES)
def remind_missing_evaluations(semester: StoredSemester) -> MissingReport:
    """List approved plans still without evaluation; queue each school's one reminder."""
    ctx = context()
    language = str(ctx.settings.language)
    with ctx.sessions.begin() as session:
        return remind_missing(session, ctx.config, language, semester, today_riga(), ctx.settings)
