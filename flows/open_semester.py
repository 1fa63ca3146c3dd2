"""Open a semester: create it, carry the continuing plans over, invite every school."""

from __future__ import annotations

import sys
from typing import Any

from prefect import flow

from pumpurs.calendar import Phase
from pumpurs.semester import SemesterCode, SemesterParameter
from tasks.common import MAIL_COUNTS, MailNotDelivered, mail_notes, prepare, send_mail
from tasks.dashboard import Progress, publish_summary
from tasks.semester import open_semester_records, queue_semester_invitations


@flow(name="open-semester", description="Atver semestri un izsūta uzaicinājumus skolām.")
def open_semester(semester: SemesterParameter | None = None) -> dict[str, Any]:
    """Open the semester (the calendar's current one if none is given)."""
    code = SemesterCode.parse(prepare(semester, Phase.OPEN))
    progress = Progress("open-semester", code, f"Semestra {code.code} atvēršana")
    opened = open_semester_records(code.code)
    progress.update(30)
    invitations = queue_semester_invitations(code.code)
    progress.update(60)
    mail = send_mail()
    progress.update(100)
    result = {
        "semester": code.code,
        "semester_created": opened["semester_created"],
        "plans_carried": opened["plans_carried"],
        "invitations_queued": invitations,
        **{k: mail[k] for k in MAIL_COUNTS},
    }
    publish_summary(
        "open-semester",
        code,
        f"Semestris {code.code} atvērts",
        result,
        notes=mail_notes(mail),
        tables={"failed-mail": mail["failed_recipients"]},
    )
    if mail["mail_left_queued"]:
        raise MailNotDelivered(mail)
    return result


if __name__ == "__main__":
    open_semester(sys.argv[1] if len(sys.argv) > 1 else None)
