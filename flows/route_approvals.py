"""Route approvals: each approver's digest of new plans, reminders, escalations."""

from __future__ import annotations

import sys
from typing import Annotated

from prefect import flow
from prefect.runtime import flow_run
from pydantic import Field

from pumpurs.calendar import Phase
from pumpurs.clock import utcnow
from pumpurs.semester import SemesterParameter
from tasks.approvals import (
    approval_overview,
    ensure_approval_steps,
    queue_approval_mail,
    queue_approver_digest,
)
from tasks.common import prepare, send_mail
from tasks.dashboard import Progress, RunCounts, finish_run, run_texts

ApproverParameter = Annotated[
    str,
    Field(
        title="Apstiprinātājs / Approver",
        description="Tikai šim apstiprinātājam (e-pasta adrese): jauns apkopojums ar visiem "
        "plāniem, kas gaida viņa lēmumu, ar jaunām saitēm. Only this approver (an email "
        "address): a fresh digest of every plan awaiting them, with new links.",
        examples=["koordinators@kurzeme.example"],
    ),
]


@flow(
    name="route-approvals",
    description="Nosūta apstiprinātājiem jauno plānu apkopojumus, atgādinājumus un eskalācijas.",
)
def route_approvals(
    semester: SemesterParameter = "", approver: ApproverParameter | None = None
) -> RunCounts:
    """Route the plans awaiting a decision (the calendar's current semester if none is given),
    or send one approver a fresh digest of all theirs.

    Args:
        semester: Semestra kods: mācību gads un 1. vai 2. semestris, piemēram, 2026/2027-1.
            Tukšs: semestris pēc kalendāra.
        approver: Tikai šim apstiprinātājam (e-pasta adrese): jauns apkopojums ar visiem
            plāniem, kas gaida viņa lēmumu, ar jaunām saitēm. Only this approver (an email).
    """
    stored = prepare(semester, Phase.ROUTE)
    code = stored.code
    title = run_texts().gettext("Plan approvals %(code)s", code=code.code)
    progress = Progress("route-approvals", code, title)
    steps = ensure_approval_steps(stored)
    progress.update(25)
    if approver:
        run_id = flow_run.id or utcnow().strftime("%Y%m%dT%H%M%S")
        routed = queue_approver_digest(stored, approver, f"fresh-{run_id}")
    else:
        routed = queue_approval_mail(stored)
    progress.update(50)
    mail = send_mail()
    progress.update(80)
    overview = approval_overview(stored)
    progress.update(90)
    counts: RunCounts = {
        "semester": code.code,
        "steps_created": steps.created,
        "steps_superseded": steps.superseded,
        "steps_moved": steps.moved,
        **routed.counts(),
        "pending": overview.pending,
        "decided_today": len(overview.decided_today),
    }
    tables = {
        **overview.tables(),
        "reminders-sent": routed.reminder_rows,
        "escalations-sent": routed.escalation_rows,
    }
    return finish_run("route-approvals", code, title, counts, mail, progress, tables=tables)


if __name__ == "__main__":
    route_approvals(sys.argv[1] if len(sys.argv) > 1 else "")
