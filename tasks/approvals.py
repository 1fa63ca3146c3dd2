"""Tasks of routing approvals: a handful per run, each one transaction over the whole batch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prefect import task

from pumpurs.approvals import (
    RouteMail,
    StepChanges,
    decided_on,
    ensure_steps,
    pending_tables,
    queue_fresh_digest,
    queue_route_mail,
)
from pumpurs.clock import today_riga
from pumpurs.store.context import context
from pumpurs.store.reference import StoredSemester
from tasks import IO_RETRIES


@dataclass(frozen=True)
class ApprovalOverview:
    """The dashboard's tables: pending plans per region and per age band, today's decisions."""

    pending_by_region: list[dict[str, Any]]
    pending_by_age: list[dict[str, Any]]
    decided_today: list[dict[str, Any]]

    @property
    def pending(self) -> int:
        """Return how many plans await a decision."""
        return sum(int(row["pending"]) for row in self.pending_by_region)

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        """Return the tables by their artifact names."""
        return {
            "pending-by-region": self.pending_by_region,
            "pending-by-age": self.pending_by_age,
            "decided-today": self.decided_today,
        }


@task(name="ensure-approval-steps", **IO_RETRIES)
def ensure_approval_steps(semester: StoredSemester) -> StepChanges:
    """Give every submitted plan its next approval step; retire steps of old revisions."""
    ctx = context()
    with ctx.sessions.begin() as session:
        return ensure_steps(session, ctx.config, semester_id=semester.id)


@task(name="queue-approval-mail", **IO_RETRIES)
def queue_approval_mail(semester: StoredSemester) -> RouteMail:
    """Queue digests, reminders and escalations, and mark the steps they cover."""
    ctx = context()
    with ctx.sessions.begin() as session:
        return queue_route_mail(session, ctx.config, ctx.settings, semester)


@task(name="queue-fresh-digest", **IO_RETRIES)
def queue_approver_digest(semester: StoredSemester, approver: str, again: str) -> RouteMail:
    """Queue one approver a digest of every plan awaiting them, with new links."""
    ctx = context()
    with ctx.sessions.begin() as session:
        return queue_fresh_digest(session, ctx.config, ctx.settings, semester, approver, again)


@task(name="approval-overview", **IO_RETRIES)
def approval_overview(semester: StoredSemester) -> ApprovalOverview:
    """Return the dashboard tables: pending per region and age band, decided today."""
    ctx = context()
    with ctx.sessions() as session:
        today = today_riga()
        pending = pending_tables(session, semester.id, today)
        return ApprovalOverview(
            pending_by_region=pending["pending-by-region"],
            pending_by_age=pending["pending-by-age"],
            decided_today=decided_on(session, semester.id, today),
        )
