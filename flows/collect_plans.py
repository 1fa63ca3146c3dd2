"""Collect plan drafts: every new school file read, every row accounted for, reports mailed."""

from __future__ import annotations

import sys
from typing import Any

from prefect import flow

from pumpurs.calendar import Phase
from pumpurs.semester import SemesterCode, SemesterParameter
from tasks.collect import collect_plan_files
from tasks.common import MAIL_COUNTS, MailNotDelivered, mail_notes, prepare, send_mail
from tasks.dashboard import Progress, publish_summary

COUNTS = ("files", "skipped", "unreadable", "rows_read", "rows_accepted", "rows_rejected",
          "plans_new", "plans_revised", "plans_unchanged", "reports_queued")  # fmt: skip


@flow(name="collect-plans", description="Nolasa skolu iesniegtos plānu failus un pārbauda rindas.")
def collect_plans(semester: SemesterParameter | None = None) -> dict[str, Any]:
    """Collect the semester's new plan files (the calendar's current semester if none given)."""
    code = SemesterCode.parse(prepare(semester, Phase.COLLECT))
    progress = Progress("collect", code, f"Plānu failu apstrāde, {code.code}")
    report = collect_plan_files(code.code, progress)
    mail = send_mail()
    result = {"semester": code.code, **{k: report[k] for k in COUNTS},
              **{k: mail[k] for k in MAIL_COUNTS}}  # fmt: skip
    publish_summary(
        "collect",
        code,
        f"Plānu failu apstrāde {code.code}",
        result,
        notes=[*(f"{p['school']}/{p['file']}: {p['problem']}" for p in report["file_problems"]),
               *mail_notes(mail)],
        tables={"schools": report["schools"], "file-problems": report["file_problems"],
                "failed-mail": mail["failed_recipients"]},
    )  # fmt: skip
    if mail["mail_left_queued"]:
        raise MailNotDelivered(mail)
    return result


if __name__ == "__main__":
    collect_plans(sys.argv[1] if len(sys.argv) > 1 else None)
