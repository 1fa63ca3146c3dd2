"""Tasks of the retention run: prepare the store, then one transaction that erases what is due."""

from __future__ import annotations

from prefect import task

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
