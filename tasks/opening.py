"""Tasks of opening a semester."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import task

from pumpurs.opening.carry import open_records
from pumpurs.opening.invitations import queue_invitations
from pumpurs.semester import SemesterCode
from pumpurs.store.context import context
from tasks import IO_RETRIES


@task(name="open-semester-records", **IO_RETRIES)
def open_semester_records(semester: str) -> dict[str, Any]:
    """Create the semester and carry the continuing plans over, in one transaction."""
    ctx = context()
    with ctx.sessions.begin() as session:
        return asdict(open_records(session, ctx.config, SemesterCode.parse(semester)))


@task(name="queue-invitations", **IO_RETRIES)
def queue_semester_invitations(semester: str) -> int:
    """Queue each school's invitation with its pre-filled template; return how many are new."""
    ctx = context()
    with ctx.sessions.begin() as session:
        return queue_invitations(session, ctx.config, ctx.settings, SemesterCode.parse(semester))
