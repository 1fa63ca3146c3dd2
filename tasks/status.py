"""Tasks of the semester's live view: which semester, what the schedules start next, the status
from the store; and its artifacts, published every run whatever they hold."""

from __future__ import annotations

from uuid import UUID

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.settings import PREFECT_UI_URL

from pumpurs.calendar import semester_in_progress
from pumpurs.clock import today_riga, utcnow
from pumpurs.errors import UserError
from pumpurs.semester import SemesterCode
from pumpurs.status import (
    SemesterStatus,
    Upcoming,
    headline_markdown,
    headline_title,
    semester_status,
    status_tables,
)
from pumpurs.status.tables import none_text
from pumpurs.store.context import context, load_context
from tasks import IO_RETRIES
from tasks.common import requested, run_language
from tasks.dashboard import publish_markdown, publish_table

FLOW = "semester-status"
SCHEDULED_RUNS_READ = 200


@task(name="status-semester", **IO_RETRIES)
def status_semester(semester: str) -> SemesterCode:
    """Check config, migrate the database, sync reference data; return the semester asked for,
    or the one in progress by the calendar."""
    code = requested(semester)  # a mistyped code fails the run at once
    try:
        ctx = load_context()
    except UserError as error:
        raise error.in_language(run_language()) from None
    return code if code is not None else semester_in_progress(ctx.config, today_riga())


@task(name="scheduled-runs", **IO_RETRIES)
def scheduled_runs() -> list[Upcoming]:
    """Return the next run each deployment's schedules will start, as the Prefect server has
    them (none where nothing is deployed), leaving out this flow's own."""
    scheduled = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
    )
    with get_client(sync_client=True) as client:
        runs = [
            run
            for run in client.read_flow_runs(
                flow_run_filter=scheduled,
                sort=FlowRunSort.NEXT_SCHEDULED_START_TIME_ASC,
                limit=SCHEDULED_RUNS_READ,
            )
            if run.auto_scheduled and run.deployment_id is not None
        ]
        ids = list({run.deployment_id for run in runs if run.deployment_id is not None})
        deployments = (
            client.read_deployments(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=ids))
            )
            if ids
            else []
        )
    names = {deployment.id: deployment.name for deployment in deployments}
    first: dict[str, Upcoming] = {}
    for run in runs:
        name = names.get(run.deployment_id) if run.deployment_id else None
        at = run.next_scheduled_start_time or run.expected_start_time
        if name and name != FLOW and at is not None and name not in first:
            first[name] = Upcoming(name, at)
    return sorted(first.values(), key=lambda upcoming: upcoming.at)


@task(name="read-status", cache_policy=NO_CACHE, **IO_RETRIES)
def read_status(code: SemesterCode, upcoming: list[Upcoming]) -> SemesterStatus:
    """Return the semester's status now, from the store."""
    ctx = context()
    with ctx.sessions() as session:
        return semester_status(session, ctx.config, code, utcnow(), upcoming)


def artifact_link(artifact: UUID) -> str:
    """Return the Prefect UI's address of one artifact (relative when the UI's is unknown)."""
    ui = (PREFECT_UI_URL.value() or "").rstrip("/")
    return f"{ui}/artifacts/artifact/{artifact}"


def publish_status(code: SemesterCode, status: SemesterStatus) -> None:
    """Publish every table of the status (an empty one as a "none" row), then its headline,
    whose links open the tables of the same run."""
    language = run_language()
    title = headline_title(status, language)
    published = {
        part: publish_table(FLOW, code, part, table.records(none_text(language)), table.title)
        for part, table in status_tables(status, language).items()
    }
    markdown = headline_markdown(status, language, lambda part: artifact_link(published[part]))
    publish_markdown(FLOW, code, "headline", markdown, title)
