"""Tasks of the semester summaries: queue every summary in one unit of work."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from pumpurs.clock import today_riga
from pumpurs.opening.links import school_page_urls
from pumpurs.store.context import context
from pumpurs.store.reference import StoredSemester
from pumpurs.summaries.compose import SummaryReport, queue_summaries
from pumpurs.summaries.recipients import SummaryRun
from tasks import IO_RETRIES
from tasks.dashboard import Progress


@task(name="queue-summaries", cache_policy=NO_CACHE, **IO_RETRIES)
def queue_semester_summaries(
    semester: StoredSemester, run: SummaryRun | None = None, progress: Progress | None = None
) -> SummaryReport:
    """Queue each recipient's summary not queued before (or as `run` asks: again, provisional,
    one party's)."""
    ctx = context()
    language = str(ctx.settings.language)
    on_progress = (
        (lambda p: progress.update(20 + p * 0.5)) if progress is not None else (lambda _: None)
    )
    with ctx.sessions.begin() as session:
        pages = school_page_urls(
            session, ctx.settings, semester, [school.code for school in ctx.config.schools]
        )
        return queue_summaries(
            session, ctx.config, language, semester, today_riga(), run, on_progress, pages
        )
