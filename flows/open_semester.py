"""Open a semester: create it, carry the continuing plans over, invite every school."""

from __future__ import annotations

import sys

from prefect import flow

from pumpurs.semester import SemesterParameter
from tasks.common import prepare_opening, send_mail
from tasks.dashboard import Progress, RunCounts, finish_run, run_texts
from tasks.opening import open_semester_records, queue_semester_invitations


@flow(name="open-semester", description="Atver semestri un izsūta uzaicinājumus skolām.")
def open_semester(semester: SemesterParameter = "") -> RunCounts:
    """Open the semester (the calendar's current one if none is given).

    Args:
        semester: Semestra kods: mācību gads un 1. vai 2. semestris, piemēram, 2026/2027-1.
            Tukšs: semestris pēc kalendāra.
    """
    code = prepare_opening(semester)
    t = run_texts()
    progress = Progress(
        "open-semester", code, t.gettext("Opening semester %(code)s", code=code.code)
    )
    opened = open_semester_records(code)
    progress.update(30)
    invitations = queue_semester_invitations(opened.semester)
    progress.update(60)
    mail = send_mail()
    progress.update(90)
    counts: RunCounts = {
        "semester": code.code,
        "semester_created": opened.semester_created,
        "plans_carried": opened.plans_carried,
        "invitations_queued": invitations,
    }
    title = t.gettext("Semester %(code)s opened", code=code.code)
    return finish_run("open-semester", code, title, counts, mail, progress)


if __name__ == "__main__":
    open_semester(sys.argv[1] if len(sys.argv) > 1 else "")
