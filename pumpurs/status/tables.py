"""The semester's status as titled tables in the reader's language: the same tables for the
Prefect UI's artifacts and for `pumpurs status` in a terminal."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from pumpurs.approvals.views import role_name
from pumpurs.i18n.catalogue import N_, Texts, texts
from pumpurs.i18n.formats import fmt_day
from pumpurs.status.schools import SchoolState
from pumpurs.status.timeline import MILESTONES
from pumpurs.status.view import SemesterStatus

Cell = str | int


@dataclass(frozen=True)
class Table:
    title: str
    columns: list[str]
    rows: list[list[Cell]]

    def records(self, none: str) -> list[dict[str, Cell]]:
        """Return the rows as records by column; an empty table as one row saying `none`."""
        rows = self.rows or [[none, *([""] * (len(self.columns) - 1))]]
        return [dict(zip(self.columns, row, strict=True)) for row in rows]


PARTS = {  # the tables of the status, in the order a manager reads them, and their titles
    "timeline": N_("Timeline"),
    "schools-by-municipality": N_("Schools by region and municipality"),
    "schools-not-submitted": N_("Schools that have not submitted plans"),
    "schools-unresolved": N_("Schools with refused rows not put right"),
    "approvals-by-region": N_("Plans waiting for a decision, by region"),
    "approvals-by-approver": N_("Plans waiting for a decision, by approver"),
    "evaluation-by-region": N_("Evaluation, by region"),
    "evaluations-missing": N_("Schools whose evaluation is missing"),
}


def status_tables(status: SemesterStatus, language: str) -> dict[str, Table]:
    """Return every table of the status by its part name (the keys of PARTS)."""
    t = texts(language)
    build: dict[str, Callable[[SemesterStatus, Texts], tuple[list[str], list[list[Cell]]]]] = {
        "timeline": _timeline,
        "schools-by-municipality": _by_municipality,
        "schools-not-submitted": _not_submitted,
        "schools-unresolved": _unresolved,
        "approvals-by-region": _approvals_by_region,
        "approvals-by-approver": _approvals_by_approver,
        "evaluation-by-region": _evaluation_by_region,
        "evaluations-missing": _evaluations_missing,
    }
    tables = {}
    for part, title in PARTS.items():
        columns, rows = build[part](status, t)
        tables[part] = Table(t.gettext(title), columns, rows)
    return tables


def days_from_today(days: int, t: Texts) -> str:
    """Return `in 5 days`, `today` or `3 days ago` (`pēc 5 dienām`, `šodien`, `pirms 3 dienām`)."""
    if days == 0:
        return t.gettext("today")
    if days > 0:
        return t.ngettext("in %(num)s day", "in %(num)s days", days)
    return t.ngettext("%(num)s day ago", "%(num)s days ago", -days)


def _day(value: dt.date | None, t: Texts) -> str:
    return "—" if value is None else fmt_day(value, t.language)


def _timeline(s: SemesterStatus, t: Texts) -> tuple[list[str], list[list[Cell]]]:
    columns = [t.gettext("What"), t.gettext("When"), t.gettext("From today")]
    rows: list[list[Cell]] = [
        [t.gettext(MILESTONES[m.name]), _day(m.on, t), days_from_today(m.days_left, t)]
        for m in s.timeline.milestones
    ]
    today = s.timeline.today
    for run in s.timeline.upcoming:
        local = run.at.astimezone(s.as_of.tzinfo)
        rows.append(
            [
                t.gettext("Next scheduled run: %(deployment)s", deployment=run.deployment),
                f"{_day(local.date(), t)} {local:%H:%M}",
                days_from_today((local.date() - today).days, t),
            ]
        )
    if not s.timeline.upcoming:
        rows.append([t.gettext("Next scheduled runs"), t.gettext("none known"), ""])
    return columns, rows


def _place(t: Texts) -> list[str]:
    return [t.gettext("Region"), t.gettext("Municipality")]


def _school(t: Texts) -> list[str]:
    return [*_place(t), t.gettext("School"), t.gettext("Coordinator"), t.gettext("Email")]


def _school_cells(school: SchoolState) -> list[Cell]:
    return [
        school.region,
        school.municipality,
        f"{school.name} ({school.code})",
        school.coordinator,
        school.coordinator_email,
    ]


def _by_municipality(s: SemesterStatus, t: Texts) -> tuple[list[str], list[list[Cell]]]:
    columns = [
        *_place(t),
        t.gettext("Schools"),
        t.gettext("Submitted"),
        t.gettext("Not yet submitted"),
        t.gettext("With refused rows not put right"),
    ]
    groups: dict[tuple[str, str], list[SchoolState]] = defaultdict(list)
    for school in s.schools:
        groups[(school.region, school.municipality)].append(school)
    rows: list[list[Cell]] = [
        [
            region,
            municipality,
            len(schools),
            sum(x.submitted for x in schools),
            sum(not x.submitted for x in schools),
            sum(bool(x.unresolved) for x in schools),
        ]
        for (region, municipality), schools in groups.items()
    ]
    return columns, rows


def _not_submitted(s: SemesterStatus, t: Texts) -> tuple[list[str], list[list[Cell]]]:
    columns = [
        *_school(t),
        t.gettext("Invited"),
        t.gettext("Days since the invitation"),
        t.gettext("Files sent"),
    ]
    rows: list[list[Cell]] = [
        [
            *_school_cells(x),
            _day(x.invited_on, t),
            "—" if x.days_since_invitation is None else x.days_since_invitation,
            x.files,
        ]
        for x in s.schools_not_submitted
    ]
    return columns, rows


def _unresolved(s: SemesterStatus, t: Texts) -> tuple[list[str], list[list[Cell]]]:
    columns = [*_school(t), t.gettext("Pupils refused, not accepted since"), t.gettext("Last file")]
    rows: list[list[Cell]] = [
        [*_school_cells(x), x.unresolved, _day(x.last_file_on, t)] for x in s.schools_unresolved
    ]
    return columns, rows


def _waiting_columns(s: SemesterStatus, t: Texts) -> list[str]:
    return [
        t.gettext("Waiting"),
        t.gettext("Oldest, days"),
        t.gettext("Waiting %(days)s+ days (reminder)", days=s.reminder_days),
        t.gettext("Waiting %(days)s+ days (escalation)", days=s.escalation_days),
    ]


def _approvals_by_region(s: SemesterStatus, t: Texts) -> tuple[list[str], list[list[Cell]]]:
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for w in s.waiting:
        row = sums[w.region]
        row[0] += w.waiting
        row[1] = max(row[1], w.oldest_days)
        row[2] += w.past_reminder
        row[3] += w.past_escalation
    rows: list[list[Cell]] = [[region, *figures] for region, figures in sorted(sums.items())]
    return [t.gettext("Region"), *_waiting_columns(s, t)], rows


def _approvals_by_approver(s: SemesterStatus, t: Texts) -> tuple[list[str], list[list[Cell]]]:
    columns = [
        t.gettext("Region"),
        t.gettext("Approver"),
        t.gettext("Email"),
        t.gettext("Role"),
        *_waiting_columns(s, t),
    ]
    rows: list[list[Cell]] = [
        [
            w.region,
            w.approver,
            w.approver_email,
            role_name(w.role, t.language),
            w.waiting,
            w.oldest_days,
            w.past_reminder,
            w.past_escalation,
        ]
        for w in s.waiting
    ]
    return columns, rows


def _evaluation_by_region(s: SemesterStatus, t: Texts) -> tuple[list[str], list[list[Cell]]]:
    columns = [
        t.gettext("Region"),
        t.gettext("Plans evaluated"),
        t.gettext("Plans awaiting evaluation"),
        t.gettext("Schools with evaluations missing"),
    ]
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for school in s.schools:
        found = s.evaluation.get(school.code)
        if found is None:
            continue
        row = sums[school.region]
        row[0] += found.evaluated
        row[1] += found.awaiting
        row[2] += int(found.missing)
    return columns, [[region, *figures] for region, figures in sorted(sums.items())]


def _evaluations_missing(s: SemesterStatus, t: Texts) -> tuple[list[str], list[list[Cell]]]:
    columns = [
        *_school(t),
        t.gettext("Plans awaiting evaluation"),
        t.gettext("Plans evaluated"),
        t.gettext("Evaluation files"),
    ]
    rows: list[list[Cell]] = []
    for school in s.schools_evaluation_missing:
        found = s.evaluation[school.code]
        rows.append([*_school_cells(school), found.awaiting, found.evaluated, found.files])
    return columns, rows


def none_text(language: str) -> str:
    """Return what an empty table's one row says."""
    return texts(language).gettext("none")
