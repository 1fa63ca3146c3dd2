"""Send the semester summaries: one email per school coordinator, regional coordinator and
manager with the semester's figures and charts; the run's artifacts are the managers' dashboard."""

from __future__ import annotations

import sys
from typing import Any

from prefect import flow
from prefect.runtime import flow_run

from pumpurs.calendar import Phase
from pumpurs.clock import utcnow
from pumpurs.report import markdown_images
from pumpurs.semester import SemesterCode, SemesterParameter
from tasks.common import MAIL_COUNTS, MailNotDelivered, mail_notes, prepare, send_mail
from tasks.dashboard import Progress, publish_markdown, publish_summary
from tasks.evaluation import refresh_semester_figures
from tasks.summaries import queue_semester_summaries

LEVELS = ("school", "region", "nation")


@flow(
    name="send-summaries",
    description="Nosūta semestra kopsavilkumus skolām, reģioniem un programmas vadībai.",
)
def send_summaries(
    semester: SemesterParameter | None = None, force: bool = False
) -> dict[str, Any]:
    """Send each summary once, or again if forced (default: the latest evaluated semester)."""
    code = SemesterCode.parse(prepare(semester, Phase.SUMMARIES))
    title = f"Semestra {code.code} kopsavilkumi"
    progress = Progress("summaries", code, title)
    figures = refresh_semester_figures(code.code)
    progress.update(20)
    suffix = f"forced-{flow_run.id or utcnow().strftime('%Y%m%dT%H%M%S')}" if force else None
    report = queue_semester_summaries(code.code, suffix, progress)
    mail = send_mail()
    progress.update(100)
    result: dict[str, Any] = {
        "semester": code.code,
        "figures_changed": figures["figures_changed"],
        **{f"summaries_{level}": report["queued"][level] for level in LEVELS},
        "summaries_sent_before": report["sent_before"],
        **{k: mail[k] for k in MAIL_COUNTS},
    }
    notes = [
        f"Salīdzinājums ar semestri {report['previous']}."
        if report["previous"]
        else "Iepriekšējā semestra rādītāju nav: salīdzinājums netiek rādīts.",
        *(["Atkārtota izsūtīšana (force): visi kopsavilkumi nosūtīti vēlreiz."] if force else []),
        *(f"Kopsavilkumu nav kam sūtīt: {unit}" for unit in report["without_recipient"]),
        *mail_notes(mail),
    ]
    tables = {"regions": report["regions"], "schools": report["schools"],
              "failed-mail": mail["failed_recipients"]}  # fmt: skip
    publish_summary("summaries", code, title, result, [*report["headline"], *notes], tables)
    charts = [(chart["title"], chart["png"]) for chart in report["charts"]]
    markdown = markdown_images(f"Semestra {code.code} rādītāji", report["headline"], charts)
    publish_markdown("summaries", code, "charts", markdown, f"{title}: grafiki")
    if mail["mail_left_queued"]:
        raise MailNotDelivered(mail)
    return result


if __name__ == "__main__":
    send_summaries(sys.argv[1] if len(sys.argv) > 1 else None)
