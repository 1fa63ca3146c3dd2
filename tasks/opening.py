"""Tasks of opening a semester."""

from __future__ import annotations

from prefect import task

from pumpurs.opening.carry import Opened, open_records
from pumpurs.opening.invitations import queue_invitations
from pumpurs.semester import SemesterCode
from pumpurs.store.context import context
from pumpurs.store.reference import StoredSemester
from tasks import IO_RETRIES


@task(name="open-semester-records", **IO_RETRIES)
def open_semester_records(code: SemesterCode) -> Opened:
    """Create the semester and carry the continuing plans over, in one transaction."""
    ctx = context()
    with ctx.sessions.begin() as session:
        return open_records(session, ctx.config, code)


@task(name="queue-invitations", **IO_RETRIES)
def queue_semester_invitations(semester: StoredSemester) -> int:
    """Queue each school's invitation with its pre-filled template; return how many are new."""
    ctx = context()
    with ctx.sessions.begin() as session:
        return queue_invitations(session, ctx.config, ctx.settings, semester)
