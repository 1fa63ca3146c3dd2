"""Tasks of the retention run: prepare the store, then one transaction that erases what is due."""

from __future__ import annotations

from prefect import task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from pumpurs.clock import today_riga
from pumpurs.retention import RetentionReport, apply_retention
from pumpurs.store.context import context, load_context
from tasks import IO_RETRIES


@task(name="prepare-store", **IO_RETRIES)
def prepare_store() -> None:
    """Check config, migrate the database, sync reference data."""
    load_context()


@task(name="erase-due-data", **IO_RETRIES)
def erase_due_data(dry_run: bool, run: str) -> RetentionReport:
    """Erase the pupil data of the semesters past the keeping period (or count it, dry)."""
    ctx = context()
    with ctx.sessions.begin() as session:
        return apply_retention(
            session, ctx.settings, ctx.config, today=today_riga(), dry_run=dry_run, run=run
        )


@task(name="forget-artifacts", **IO_RETRIES)
def forget_artifacts(folders: list[str], dry_run: bool) -> int:
    """Delete Prefect's artifacts of these semesters (keys `<flow>-<semester>-<part>`): some
    name pupils (the evaluation's missing-evaluations table). Return how many (would) go."""
    gone = 0
    with get_client(sync_client=True) as client:
        for folder in folders:
            wanted = ArtifactFilter(key=ArtifactFilterKey(like_=f"-{folder}-"))
            offset = 0
            while True:
                page = client.read_artifacts(artifact_filter=wanted, limit=200, offset=offset)
                if not page:
                    break
                for artifact in page:
                    if not dry_run:
                        client.delete_artifact(artifact.id)
                gone += len(page)
                offset += len(page) if dry_run else 0
    return gone
