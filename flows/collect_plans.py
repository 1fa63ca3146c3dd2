"""Collect plan drafts: every new school file read, every row accounted for, reports mailed."""

from __future__ import annotations

import sys

from prefect import flow

from pumpurs.calendar import Phase
from pumpurs.semester import SemesterParameter
from tasks.common import prepare, send_mail
from tasks.dashboard import Progress, RunCounts, finish_run, run_texts
from tasks.intake import collect_plan_files


@flow(name="collect-plans", description="Nolasa skolu iesniegtos plānu failus un pārbauda rindas.")
def collect_plans(semester: SemesterParameter = "") -> RunCounts:
    """Collect the semester's new plan files (the calendar's current semester if none given).

    Args:
        semester: Semestra kods: mācību gads un 1. vai 2. semestris, piemēram, 2026/2027-1.
            Tukšs: semestris pēc kalendāra.
    """
    stored = prepare(semester, Phase.COLLECT)
    code = stored.code
    title = run_texts().gettext("Plan files of %(code)s", code=code.code)
    progress = Progress("collect", code, title)
    report = collect_plan_files(stored, progress)
    mail = send_mail()
    counts: RunCounts = {"semester": code.code, **report.counts()}
    return finish_run(
        "collect",
        code,
        title,
        counts,
        mail,
        progress,
        notes=[f"{p['school']}/{p['file']}: {p['problem']}" for p in report.file_problems],
        tables={"schools": report.schools, "file-problems": report.file_problems},
    )


if __name__ == "__main__":
    collect_plans(sys.argv[1] if len(sys.argv) > 1 else "")
