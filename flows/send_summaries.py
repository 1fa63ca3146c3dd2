"""Send the semester summaries: one email per school, municipal and regional coordinator and
manager with the semester's figures; the run's artifacts are the managers' dashboard."""

from __future__ import annotations

import sys
from typing import Annotated

from prefect import flow
from prefect.runtime import flow_run
from pydantic import Field

from pumpurs.calendar import Phase
from pumpurs.clock import today_riga, utcnow
from pumpurs.markdown import markdown_images
from pumpurs.semester import SemesterParameter
from pumpurs.summaries.recipients import LEVELS, SummaryRun, check_timing
from tasks.common import prepare, send_mail
from tasks.dashboard import Progress, RunCounts, finish_run, publish_markdown, run_texts
from tasks.evaluation import refresh_semester_figures
from tasks.summaries import queue_semester_summaries

PartyParameter = Annotated[
    str,
    Field(
        title="Kam / To",
        description="Tikai viena puse: skolas, pašvaldības vai reģiona kods vai e-pasta adrese; "
        "kas jau saņēma, saņem vēlreiz. One party only: a school, municipality or region code, "
        "or an email address; whoever had it gets it again.",
        examples=["LV-LIE-006", "liepaja", "kurzeme", "koordinators@kurzeme.example"],
    ),
]


@flow(
    name="send-summaries",
    description="Nosūta semestra kopsavilkumus skolām, pašvaldībām, reģioniem un programmas "
    "vadībai.",
)
def send_summaries(
    semester: SemesterParameter = "",
    force: bool = False,
    provisional: bool = False,
    to: PartyParameter | None = None,
) -> RunCounts:
    """Send each summary once, or again if forced (default: the latest evaluated semester);
    before the evaluation deadline only as provisional ones; `to` sends one party's.

    Args:
        semester: Semestra kods: mācību gads un 1. vai 2. semestris, piemēram, 2026/2027-1.
            Tukšs: semestris pēc kalendāra.
        force: Sūtīt vēlreiz visiem, arī tiem, kas kopsavilkumu jau saņēmuši. Send again to
            everybody who had it.
        provisional: Pirms izvērtēšanas termiņa: kopsavilkumi ar atzīmi “Provizorisks”; galīgie
            pēc termiņa vienalga aiziet. Before the evaluation deadline: summaries marked
            provisional; the final ones still go out after the deadline.
    """
    stored = prepare(semester, Phase.SUMMARIES)
    code = stored.code
    t = run_texts()
    check_timing(stored, today_riga(), provisional, t.language)  # nothing is sent if refused
    title = t.gettext("Summaries of semester %(code)s", code=code.code)
    progress = Progress("summaries", code, title)
    figures = refresh_semester_figures(stored)
    progress.update(20)
    run_id = flow_run.id or utcnow().strftime("%Y%m%dT%H%M%S")
    again = f"resent-{run_id}" if to else f"forced-{run_id}" if force else None
    report = queue_semester_summaries(stored, SummaryRun(provisional, again, to), progress)
    charts = [(chart.title, chart.alt, chart.png) for chart in report.charts]
    figures_title = t.gettext("Figures of semester %(code)s", code=code.code)
    markdown = markdown_images(figures_title, report.headline, charts)
    charts_title = t.gettext("%(title)s: charts", title=title)
    publish_markdown("summaries", code, "charts", markdown, charts_title)
    mail = send_mail()
    progress.update(90)
    counts: RunCounts = {
        "semester": code.code,
        "figures_changed": figures.changed,
        **{f"summaries_{level}": report.queued[level] for level in LEVELS},
        "summaries_sent_before": report.sent_before,
        **({"provisional": True} if provisional else {}),
    }
    notes = [
        *report.headline,
        t.gettext("Compared with semester %(previous)s.", previous=report.previous)
        if report.previous
        else t.gettext("There are no figures of a previous semester: no comparison is shown."),
        *([t.gettext("Provisional: sent before the evaluation deadline.")] if provisional else []),
        *([t.gettext("Sent again (force): every summary went out once more.")] if force else []),
        *([t.gettext("Only to %(party)s (again where sent before).", party=to)] if to else []),
        *(
            t.gettext("Nobody to send the summary to: %(unit)s", unit=unit)
            for unit in report.without_recipient
        ),
    ]
    tables = {"regions": report.regions, "schools": report.schools}
    return finish_run("summaries", code, title, counts, mail, progress, notes, tables)


if __name__ == "__main__":
    send_summaries(sys.argv[1] if len(sys.argv) > 1 else "")
