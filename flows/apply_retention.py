"""Retention: erase the pupil data of semesters past the programme's keeping period, monthly.

The figures stay; every erasure is in the audit log. `dry_run` lists what would go and
changes nothing.
"""

from __future__ import annotations

import sys

from prefect import flow
from prefect.runtime import flow_run

from tasks.dashboard import RunCounts, publish_keyed, run_texts
from tasks.retention import erase_due_data, forget_artifacts, prepare_store


@flow(
    name="retention",
    description="Dzēš skolēnu datus pēc glabāšanas termiņa; rādītāji un audita žurnāls paliek.",
)
def apply_retention(dry_run: bool = False) -> RunCounts:
    """Erase (or, with `dry_run`, list) the pupil data past the keeping period.

    Args:
        dry_run: Tikai parādīt, kas tiktu dzēsts; nekā nedzēst. Only list what would be
            erased; erase nothing.
    """
    prepare_store()
    report = erase_due_data(dry_run, f"retention/{flow_run.id or 'local'}")
    artifacts = forget_artifacts([e.semester.replace("/", "-") for e in report.semesters], dry_run)
    t = run_texts()
    title = t.gettext("Retention of pupil data")
    counts: RunCounts = {"dry_run": dry_run, **report.counts(), "prefect_artifacts": artifacts}
    notes = [
        t.ngettext(
            "Pupil data is kept until 31 December of the year of a semester's evaluation "
            "deadline plus %(num)s year.",
            "Pupil data is kept until 31 December of the year of a semester's evaluation "
            "deadline plus %(num)s years.",
            report.retention_years,
        ),
        t.gettext("Dry run: nothing was erased; the counts say what would go.")
        if dry_run
        else t.gettext("The figures stay; each erasure is in the audit log."),
    ]
    publish_keyed("retention", title, counts, notes, {"semesters": report.table()})
    return counts


if __name__ == "__main__":
    apply_retention("--dry-run" in sys.argv[1:])
