"""The semester's live view for managers: its timeline, schools, waiting plans and evaluation,
published as the Prefect UI's artifacts. Runs on a schedule in working hours and after the
events that change it (a collect, route or evaluate run ending; an approver's decision)."""

from __future__ import annotations

import sys

from prefect import flow

from pumpurs.semester import SemesterParameter
from pumpurs.status import counts
from tasks.dashboard import Progress, RunCounts, run_texts
from tasks.status import FLOW, publish_status, read_status, scheduled_runs, status_semester


@flow(
    name=FLOW,
    description="Semestra stāvoklis tagad: termiņi, skolas, plāni, kas gaida lēmumu, izvērtēšana.",
)
def semester_status(semester: SemesterParameter = "") -> RunCounts:
    """Publish the semester's status now (the semester in progress if none is given).

    Args:
        semester: Semestra kods: mācību gads un 1. vai 2. semestris, piemēram, 2026/2027-1.
            Tukšs: semestris pēc kalendāra.
    """
    code = status_semester(semester)
    title = run_texts().gettext("Status of semester %(code)s", code=code.code)
    progress = Progress(FLOW, code, title)
    upcoming = scheduled_runs()
    progress.update(20)
    status = read_status(code, upcoming)
    progress.update(70)
    publish_status(code, status)
    progress.update(100)
    return counts(status)


if __name__ == "__main__":
    semester_status(sys.argv[1] if len(sys.argv) > 1 else "")
