"""Semester summaries: one email per school, municipal and regional coordinator and manager.

Each summary shows the stored figures of its unit (`pumpurs.summaries.figures`): the school's,
the municipality's or region's with a line per school, or the nation's with a line per region.
Its bars are table cells with their figures beside them, so it reads the same where images are
blocked; above schools the figures are attached as XLSX. Who gets which summary and under which
key is `recipients`. Summaries already queued are not rendered again, so a re-run costs nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.orm import Session

from pumpurs.config import Config
from pumpurs.i18n.catalogue import texts
from pumpurs.i18n.templates import RenderedEmail, render_email
from pumpurs.mail.outbox import Attachment, Outgoing, queue_many, queued_keys
from pumpurs.semester import SemesterCode
from pumpurs.store.reference import StoredSemester, stored_semester
from pumpurs.summaries.charts import Chart, dashboard_charts
from pumpurs.summaries.content import (
    Figures,
    Unit,
    dashboard_row,
    headline_lines,
    members,
    summary_context,
    total_plans,
    unit_names,
    unit_row,
)
from pumpurs.summaries.figures import NATION
from pumpurs.summaries.recipients import (
    KIND,
    LEVELS,
    SummaryRun,
    for_party,
    people,
    provisional_suffix,
    recipients,
    summary_key,
    units_with_plans,
)
from pumpurs.summaries.store import read_figures, read_semester_figures
from pumpurs.summaries.workbook import CONTENT_TYPE, figures_workbook

TEMPLATE = "summary"
SHEETS = {
    "municipality": ("municipality", "school"),
    "region": ("region", "municipality", "school"),
    "nation": ("nation", "region", "municipality", "school"),
}


@dataclass(frozen=True)
class SummaryReport:
    """What a run queued, per level, and the dashboard's rows and charts."""

    queued: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    sent_before: int = 0
    without_recipient: list[str] = field(default_factory=list)  # units with plans, nobody to tell
    previous: str | None = None  # the semester compared with, when its figures exist
    nation: dict[str, Any] = field(default_factory=dict)
    headline: list[str] = field(default_factory=list)  # the nation's figures, one per line
    regions: list[dict[str, Any]] = field(default_factory=list)  # dashboard rows, shares in %
    schools: list[dict[str, Any]] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)  # the nation's, for the dashboard


@dataclass(frozen=True)
class Composed:
    """One unit's rendered summary: the email and its attachment (the XLSX, above schools)."""

    email: RenderedEmail
    attachments: list[Attachment]


def queue_summaries(
    session: Session,
    config: Config,
    language: str,
    semester: StoredSemester,
    today: dt.date,
    run: SummaryRun | None = None,
    on_progress: Callable[[float], None] = lambda _: None,
    pages: Mapping[str, str] | None = None,
) -> SummaryReport:
    """Queue every summary of the semester not queued before (or as `run` asks); return counts
    and the dashboard's tables."""
    run = run or SummaryRun()
    code = semester.code
    figures = read_figures(session, semester.id)
    previous = read_semester_figures(session, code.previous())
    names = unit_names(config, language)
    # A municipality may have no coordinator by design; any other unit should have somebody.
    nobody = [
        f"{unit.level} {unit.code}"
        for unit in units_with_plans(config, figures, language)
        if unit.level != "municipality" and not people(config, unit)
    ]
    report = SummaryReport(
        previous=code.previous().code if previous else None, without_recipient=nobody
    )
    chosen = recipients(config, figures, language)
    if run.to is not None:
        chosen = for_party(chosen, config, run.to, code)
    wanted = _keys(session, code, chosen, run, today)
    known = queued_keys(session, [key for *_, key in wanted])
    todo = list(dict.fromkeys(unit for unit, _, key in wanted if key not in known))
    composed: dict[Unit, Composed] = {}
    for index, unit in enumerate(todo):
        composed[unit] = compose(
            unit,
            figures,
            previous,
            config,
            language,
            semester,
            today,
            names,
            run.provisional,
            (pages or {}).get(unit.code) if unit.level == "school" else None,
        )
        if (10 * (index + 1)) // len(todo) > (10 * index) // len(todo):  # every tenth
            on_progress(90 * (index + 1) / len(todo))
    outgoing = [
        (unit, Outgoing(key, KIND, person.email, composed[unit].email, composed[unit].attachments))
        for unit, person, key in wanted
        if key not in known
    ]
    queued = queue_many(session, [message for _, message in outgoing])
    for unit, message in outgoing:
        if message.key in queued:
            report.queued[unit.level] += 1
    report = replace(report, sent_before=len(wanted) - sum(report.queued.values()))
    on_progress(100)
    return _dashboard(report, config, figures, previous, language, names)


def _keys(
    session: Session,
    code: SemesterCode,
    chosen: list[tuple[Unit, Any]],
    run: SummaryRun,
    today: dt.date,
) -> list[tuple[Unit, Any, str]]:
    """Return each chosen summary with the key it goes under in this run."""
    base = provisional_suffix(today) if run.provisional else None
    keys = [(unit, person, summary_key(code, unit, person.email, base)) for unit, person in chosen]
    if run.again is None:
        return keys
    if run.to is None:  # force: everybody once more
        return [(unit, person, f"{key}:{run.again}") for unit, person, key in keys]
    had = queued_keys(session, [key for *_, key in keys])  # one party: again only if it had it
    return [(u, p, f"{key}:{run.again}" if key in had else key) for u, p, key in keys]


def preview_summary(
    session: Session,
    config: Config,
    language: str,
    code: SemesterCode,
    level: str,
    unit_code: str,
    today: dt.date,
    provisional: bool = False,
) -> Composed:
    """Render one unit's summary from the stored figures without queueing it (previews)."""
    semester = stored_semester(session, code)
    figures = read_figures(session, semester.id)
    previous = read_semester_figures(session, code.previous())
    names = unit_names(config, language)
    unit = Unit(level, unit_code, names.get((level, unit_code), unit_code))
    return compose(unit, figures, previous, config, language, semester, today, names, provisional)


def compose(
    unit: Unit,
    figures: Figures,
    previous: Figures | None,
    config: Config,
    language: str,
    semester: StoredSemester,
    today: dt.date,
    names: Mapping[tuple[str, str], str],
    provisional: bool = False,
    page_url: str | None = None,
) -> Composed:
    """Render one unit's summary: the email and (above schools) the XLSX; a school's with
    the link to its page."""
    context = summary_context(unit, figures, previous, config, language, names)
    workbook = _workbook_name(unit, semester, language) if unit.level in SHEETS else None
    email = render_email(
        TEMPLATE,
        language,
        **context,
        semester=semester,
        previous_code=semester.code.previous().code,
        prepared_on=today,
        provisional=provisional,
        workbook=workbook,
        page_url=page_url,
    )
    attachments = []
    if workbook is not None:
        sheets = [
            (
                level,
                [
                    (Unit(level, c, names.get((level, c), c)), figures[(level, c)])
                    for c in members(config, unit, level)
                    if (level, c) in figures
                ],
            )
            for level in SHEETS[unit.level]
        ]
        attachments.append(
            Attachment(workbook, CONTENT_TYPE, figures_workbook(sheets, config, language))
        )
    return Composed(email, attachments)


def _workbook_name(unit: Unit, semester: StoredSemester, language: str) -> str:
    # Translators: the start of a file name: ASCII letters and underscores only.
    stem = texts(language).gettext("figures")
    return f"{stem}_{unit.code}_{semester.code.folder}.xlsx"


def _dashboard(
    report: SummaryReport,
    config: Config,
    figures: Figures,
    previous: Figures | None,
    language: str,
    names: Mapping[tuple[str, str], str],
) -> SummaryReport:
    """Return the report with the dashboard's rows (regions, schools, the nation) and the
    nation's charts."""
    nation = Unit("nation", NATION, names[("nation", NATION)])
    if ("nation", NATION) not in figures:
        return report
    nation_row = unit_row(nation, figures[("nation", NATION)])
    for region in config.regions:
        unit = Unit("region", region.code, region.name)
        found = figures.get(("region", region.code))
        if found is not None and total_plans(found):
            report.regions.append(dashboard_row(unit_row(unit, found)))
        for code in members(config, unit, "school"):
            found = figures.get(("school", code))
            if found is not None and total_plans(found):
                row = unit_row(Unit("school", code, names.get(("school", code), code)), found)
                report.schools.append({"region": region.code, **dashboard_row(row)})
    context = summary_context(nation, figures, previous, config, language, names)
    charts = dashboard_charts(context, language)
    headline = headline_lines(nation_row, language)
    return replace(report, nation=nation_row, headline=headline, charts=charts)
