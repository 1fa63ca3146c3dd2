"""Collect plan drafts: every new school file read, every row accounted for, reports mailed."""

from __future__ import annotations

import sys
from typing import Annotated

from prefect import flow
from prefect.runtime import flow_run
from pydantic import Field

from pumpurs.calendar import Phase
from pumpurs.clock import utcnow
from pumpurs.intake.collect import OneSchool
from pumpurs.semester import SemesterParameter
from tasks.common import prepare, send_mail
from tasks.dashboard import Progress, RunCounts, finish_run, run_texts
from tasks.intake import collect_plan_files

SchoolParameter = Annotated[
    str,
    Field(
        title="Skola / School",
        description="Tikai šīs skolas mape (skolas kods): jaunie faili tiek nolasīti, bet, ja "
        "jaunu nav, skola vēlreiz saņem pēdējo atskaiti. Only this school's folder (its code): "
        "its new files are read, or, if there are none, it gets its latest report again.",
        examples=["LV-LIE-006"],
    ),
]


@flow(name="collect-plans", description="Nolasa skolu iesniegtos plānu failus un pārbauda rindas.")
def collect_plans(
    semester: SemesterParameter = "", school: SchoolParameter | None = None
) -> RunCounts:
    """Collect the semester's new plan files (the calendar's current semester if none given),
    or one school's.

    Args:
        semester: Semestra kods: mācību gads un 1. vai 2. semestris, piemēram, 2026/2027-1.
            Tukšs: semestris pēc kalendāra.
        school: Tikai šīs skolas mape (skolas kods): tās jaunie faili, vai, ja jaunu nav,
            tās pēdējā atskaite vēlreiz. Only this school's folder (its code).
    """
    stored = prepare(semester, Phase.COLLECT)
    code = stored.code
    title = run_texts().gettext("Plan files of %(code)s", code=code.code)
    progress = Progress("collect", code, title)
    run_id = flow_run.id or utcnow().strftime("%Y%m%dT%H%M%S")
    one = OneSchool(school, f"resent-{run_id}") if school else None
    report = collect_plan_files(stored, progress, one)
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
