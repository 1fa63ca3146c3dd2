"""Semester summaries: one email per school coordinator, regional coordinator and manager.

Each summary shows the stored figures of its unit (`pumpurs.summaries.figures`): the school's, the
region's with a line per school, or the nation's with a line per region, with charts inline
and, for regions and the nation, the figures attached as XLSX. A summary is queued once per
recipient per semester (its dedupe key names both); a forced run adds a suffix, so it goes again.
Summaries already queued are not rendered again, so a re-run costs nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpurs.config import Config, Person
from pumpurs.i18n.catalogue import texts
from pumpurs.i18n.templates import RenderedEmail, render_email
from pumpurs.mail.outbox import Attachment, Outgoing, queue_many
from pumpurs.semester import SemesterCode
from pumpurs.store.models import OutboxMessage
from pumpurs.store.reference import StoredSemester, stored_semester
from pumpurs.summaries.charts import Chart, summary_charts
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
from pumpurs.summaries.store import read_figures, read_semester_figures
from pumpurs.summaries.workbook import CONTENT_TYPE, figures_workbook

KIND = "summary"
TEMPLATE = "summary"
LEVELS = ("school", "region", "nation")
SHEETS = {
    "region": ("region", "municipality", "school"),
    "nation": ("nation", "region", "municipality", "school"),
}
MAX_KEY = 255
COMPOSERS = 2  # threads composing summaries


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
    """One unit's rendered summary: the email, its attachments and the charts among them."""

    email: RenderedEmail
    attachments: list[Attachment]
    charts: list[Chart]


def summary_key(code: SemesterCode, unit: Unit, email: str, suffix: str | None = None) -> str:
    """Return the dedupe key of one recipient's summary of one unit (`summary:…:school:X:a@b`)."""
    key = f"{KIND}:{code.code}:{unit.level}:{unit.code}:{email.lower()}"
    key += f":{suffix}" if suffix else ""
    if len(key) <= MAX_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"{key[: MAX_KEY - 25]}#{digest}"


def units_with_plans(config: Config, figures: Figures, language: str) -> list[Unit]:
    """Return the schools, regions and the nation with at least one plan, in that order."""
    names = unit_names(config, language)
    return [Unit(level, code, names.get((level, code), code))
            for level in LEVELS for lvl, code in sorted(figures)
            if lvl == level and total_plans(figures[(lvl, code)])]  # fmt: skip


def recipients(config: Config, figures: Figures, language: str) -> list[tuple[Unit, Person]]:
    """Return who gets which summary: each unit with plans and its people."""
    return [(unit, person) for unit in units_with_plans(config, figures, language)
            for person in _people(config, unit)]  # fmt: skip


def _people(config: Config, unit: Unit) -> list[Person]:
    if unit.level == "school":
        school = config.school(unit.code)
        return [school.coordinator] if school is not None else []
    if unit.level == "region":
        return [r.coordinator for r in config.regions if r.code == unit.code]
    return list(config.programme.summary_recipients)


def queue_summaries(
    session: Session,
    config: Config,
    language: str,
    semester: StoredSemester,
    today: dt.date,
    suffix: str | None = None,
    on_progress: Callable[[float], None] = lambda _: None,
) -> SummaryReport:
    """Queue every summary of the semester not queued before; return counts and tables."""
    code = semester.code
    figures = read_figures(session, semester.id)
    previous = read_semester_figures(session, code.previous())
    names = unit_names(config, language)
    nobody = [f"{unit.level} {unit.code}"
              for unit in units_with_plans(config, figures, language)
              if not _people(config, unit)]  # fmt: skip
    report = SummaryReport(
        previous=code.previous().code if previous else None, without_recipient=nobody
    )
    wanted = [
        (unit, person, summary_key(code, unit, person.email, suffix))
        for unit, person in recipients(config, figures, language)
    ]
    known = set(
        session.scalars(
            select(OutboxMessage.dedupe_key).where(
                OutboxMessage.dedupe_key.in_([k for *_, k in wanted])
            )
        )
    )
    todo = list(dict.fromkeys(unit for unit, _, key in wanted if key not in known))
    composed: dict[Unit, Composed] = {}
    # Drawing charts (PNG compression, text) runs in Pillow without the interpreter lock: two
    # threads keep two cores busy. Each summary is composed as it would be alone.
    with ThreadPoolExecutor(max_workers=COMPOSERS) as pool:
        made = pool.map(
            lambda unit: compose(unit, figures, previous, config, language, semester, today, names),
            todo,
        )
        for index, (unit, summary) in enumerate(zip(todo, made, strict=True)):
            composed[unit] = summary
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
    return _dashboard(report, config, figures, previous, language, names, composed)


def preview_summary(
    session: Session,
    config: Config,
    language: str,
    code: SemesterCode,
    level: str,
    unit_code: str,
    today: dt.date,
) -> Composed:
    """Render one unit's summary from the stored figures without queueing it (previews)."""
    semester = stored_semester(session, code)
    figures = read_figures(session, semester.id)
    previous = read_semester_figures(session, code.previous())
    names = unit_names(config, language)
    unit = Unit(level, unit_code, names.get((level, unit_code), unit_code))
    return compose(unit, figures, previous, config, language, semester, today, names)


def compose(
    unit: Unit,
    figures: Figures,
    previous: Figures | None,
    config: Config,
    language: str,
    semester: StoredSemester,
    today: dt.date,
    names: Mapping[tuple[str, str], str],
) -> Composed:
    """Render one unit's summary: the email, its inline charts and (above schools) the XLSX."""
    context = summary_context(unit, figures, previous, config, language, names)
    charts = summary_charts(context, language)
    workbook = _workbook_name(unit, semester, language) if unit.level in SHEETS else None
    email = render_email(
        TEMPLATE,
        language,
        **context,
        semester=semester,
        previous_code=semester.code.previous().code,
        prepared_on=today,
        charts=charts,
        workbook=workbook,
    )
    attachments = [
        Attachment(f"{c.name}.png", "image/png", c.png, content_id=c.content_id) for c in charts
    ]
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
    return Composed(email, attachments, charts)


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
    composed: Mapping[Unit, Composed],
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
    if nation in composed:
        charts = composed[nation].charts
    else:
        context = summary_context(nation, figures, previous, config, language, names)
        charts = summary_charts(context, language)
    headline = headline_lines(nation_row, language)
    return replace(report, nation=nation_row, headline=headline, charts=charts)
