"""Evaluate a semester: read the schools' evaluation files, compute fulfilment, move the plans
on, store the figures, and remind schools whose evaluations are missing."""

from __future__ import annotations

import sys

from prefect import flow

from pumpurs.calendar import Phase
from pumpurs.semester import SemesterParameter
from tasks.common import prepare, send_mail
from tasks.dashboard import Progress, RunCounts, finish_run, run_texts
from tasks.evaluation import evaluate_files, refresh_semester_figures, remind_missing_evaluations


@flow(
    name="evaluate-semester",
    description="Nolasa skolu izvērtējuma failus, aprēķina plānu izpildi un atgādina par "
    "trūkstošajiem izvērtējumiem.",
)
def evaluate_semester(semester: SemesterParameter = "") -> RunCounts:
    """Evaluate the semester (the latest one that has ended if none is given).

    Args:
        semester: Semestra kods: mācību gads un 1. vai 2. semestris, piemēram, 2026/2027-1.
            Tukšs: semestris pēc kalendāra.
    """
    stored = prepare(semester, Phase.EVALUATE)
    code = stored.code
    t = run_texts()
    title = t.gettext("Evaluation of semester %(code)s", code=code.code)
    progress = Progress("evaluate", code, title)
    report = evaluate_files(stored, progress)
    figures = refresh_semester_figures(stored)
    progress.update(70)
    missing = remind_missing_evaluations(stored)
    progress.update(80)
    mail = send_mail()
    progress.update(90)
    counts: RunCounts = {
        "semester": code.code,
        **report.counts(),
        "figures_changed": figures.changed,
        "plans_missing": missing.plans_missing,
        "schools_missing": missing.schools_missing,
        "reminders_queued": missing.reminders_queued,
    }
    notes = [f"{p['school']}/{p['file']}: {p['problem']}" for p in report.file_problems]
    if missing.plans_missing and not missing.overdue:
        notes.append(
            t.gettext("The evaluation deadline has not passed yet: no reminders are sent.")
        )
    tables = {
        "schools": report.schools,
        "missing-evaluations": missing.table,
        "flags": figures.flags,
        "file-problems": report.file_problems,
    }
    return finish_run("evaluate", code, title, counts, mail, progress, notes, tables)


if __name__ == "__main__":
    evaluate_semester(sys.argv[1] if len(sys.argv) > 1 else "")
