"""Tasks of routing approvals: a handful per run, each one transaction over the whole batch."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import task

from pumpurs.approvals import decided_on, ensure_steps, pending_tables, queue_route_mail
from pumpurs.clock import today_riga
from pumpurs.semester import SemesterCode
from pumpurs.store.context import context
from pumpurs.store.reference import require_semester
from tasks import IO_RETRIES


@task(name="ensure-approval-steps", **IO_RETRIES)
def ensure_approval_steps(semester: str) -> dict[str, int]:
    """Give every submitted plan its next approval step; retire steps of old revisions."""
    ctx = context()
    with ctx.sessions.begin() as session:
        found = require_semester(session, SemesterCode.parse(semester))
        return asdict(ensure_steps(session, ctx.config, semester_id=found.id))


@task(name="queue-approval-mail", **IO_RETRIES)
def queue_approval_mail(semester: str) -> dict[str, Any]:
    """Queue digests, reminders and escalations, and mark the steps they cover."""
    ctx = context()
    with ctx.sessions.begin() as session:
        routed = queue_route_mail(session, ctx.config, ctx.settings, SemesterCode.parse(semester))
    return {
        **routed.counts(),
        "reminder_rows": routed.reminder_rows,
        "escalation_rows": routed.escalation_rows,
    }


@task(name="approval-overview", **IO_RETRIES)
def approval_overview(semester: str) -> dict[str, list[dict[str, Any]]]:
    """Return the dashboard tables: pending per region and age band, decided today."""
    ctx = context()
    with ctx.sessions() as session:
        found = require_semester(session, SemesterCode.parse(semester))
        today = today_riga()
        return {
            **pending_tables(session, found.id, today),
            "decided-today": decided_on(session, found.id, today),
        }
