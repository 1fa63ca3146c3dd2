"""Route approvals: each approver's digest of new plans, reminders, escalations."""

from __future__ import annotations

import sys
from typing import Any

from prefect import flow

from pumpurs.calendar import Phase
from pumpurs.semester import SemesterCode, SemesterParameter
from tasks.approvals import approval_overview, ensure_approval_steps, queue_approval_mail
from tasks.common import MAIL_COUNTS, MailNotDelivered, mail_notes, prepare, send_mail
from tasks.dashboard import Progress, publish_summary


@flow(
    name="route-approvals",
    description="Nosūta apstiprinātājiem jauno plānu apkopojumus, atgādinājumus un eskalācijas.",
)
def route_approvals(semester: SemesterParameter | None = None) -> dict[str, Any]:
    """Route the plans awaiting a decision (the calendar's current semester if none is given)."""
    code = SemesterCode.parse(prepare(semester, Phase.ROUTE))
    progress = Progress("route-approvals", code, f"Plānu apstiprināšana {code.code}")
    steps = ensure_approval_steps(code.code)
    progress.update(25)
    routed = queue_approval_mail(code.code)
    progress.update(50)
    mail = send_mail()
    progress.update(80)
    overview = approval_overview(code.code)
    progress.update(100)
    pending = sum(row["pending"] for row in overview["pending-by-region"])
    result: dict[str, Any] = {
        "semester": code.code,
        "steps_created": steps["created"],
        "steps_superseded": steps["superseded"],
        **{k: v for k, v in routed.items() if not k.endswith("_rows")},
        "pending": pending,
        "decided_today": len(overview["decided-today"]),
        **{k: mail[k] for k in MAIL_COUNTS},
    }
    publish_summary(
        "route-approvals",
        code,
        f"Plānu apstiprināšana {code.code}",
        result,
        notes=mail_notes(mail),
        tables={
            **overview,
            "reminders-sent": routed["reminder_rows"],
            "escalations-sent": routed["escalation_rows"],
            "failed-mail": mail["failed_recipients"],
        },
    )
    if mail["mail_left_queued"]:
        raise MailNotDelivered(mail)
    return result


if __name__ == "__main__":
    route_approvals(sys.argv[1] if len(sys.argv) > 1 else None)
