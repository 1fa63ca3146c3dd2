"""Which semester a scheduled run is about, from the calendar in config and today's date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from pumpurs.config import Config
from pumpurs.semester import SemesterCode


class Phase(StrEnum):
    OPEN = "open"
    COLLECT = "collect"
    ROUTE = "route"
    EVALUATE = "evaluate"
    SUMMARIES = "summaries"


def semester_in_progress(config: Config, today: dt.date) -> SemesterCode:
    """Return the semester whose window (its start to the next one's start) holds today."""
    year = today.year if today.month >= 9 else today.year - 1
    spring = SemesterCode(year, 2)
    if today >= config.semester_dates(spring).starts_on:
        return spring
    autumn = SemesterCode(year, 1)
    if today >= config.semester_dates(autumn).starts_on:
        return autumn
    return SemesterCode(year - 1, 2)  # summer, or the first days of September before the start


def resolve_semester(config: Config, phase: Phase, today: dt.date) -> SemesterCode:
    """Return the semester a run of `phase` on `today` is about, when no code was given.

    Opening, collecting and routing concern the semester in progress; evaluating the latest
    semester that has ended; summaries the latest one whose evaluation deadline has passed.
    """
    current = semester_in_progress(config, today)
    if phase in (Phase.OPEN, Phase.COLLECT, Phase.ROUTE):
        return current
    semester = current
    for _ in range(3):
        dates = config.semester_dates(semester)
        ended = (
            dates.ends_on <= today
            if phase == Phase.EVALUATE
            else (dates.evaluation_deadline < today)
        )
        if ended:
            return semester
        semester = semester.previous()
    return semester


# When each phase runs on its days (Europe/Riga), and for how long after a term the evaluation
# and the summaries are tried: evaluate keeps reading late files (and sends its reminders the
# day after the deadline) for a few days; a summaries run after the first sends nothing new.
RUN_AT = {
    Phase.OPEN: (7, 0),
    Phase.COLLECT: (6, 0),
    Phase.ROUTE: (8, 0),
    Phase.EVALUATE: (18, 0),
    Phase.SUMMARIES: (8, 0),
}
EVALUATE_DAYS_AFTER_DEADLINE = 5
SUMMARY_DAYS = 7
TIMEZONE = "Europe/Riga"
_YEAR = 2001  # month-day arithmetic: a common year (a window across 29 February may be a day off)


@dataclass(frozen=True)
class Schedule:
    """One cron line of a phase: on the days of the month AND the weekdays it names."""

    slug: str
    cron: str
    day_or: bool = False
    timezone: str = TIMEZONE


def schedules(config: Config) -> dict[Phase, list[Schedule]]:
    """Return each phase's schedules, derived from the calendar of programme.yaml.

    open: each term's first day (its start, or the Monday after a start on a weekend), once;
    collect and route: every weekday from the autumn term's start to the spring term's
    evaluation deadline; evaluate: daily from each term's end to a few days after its
    evaluation deadline; summaries: daily in the week after each evaluation deadline.
    """
    calendar = config.programme.calendar
    terms = {"autumn": calendar.term1, "spring": calendar.term2}
    found: dict[Phase, list[Schedule]] = {phase: [] for phase in Phase}
    for name, term in terms.items():
        start, end = _day(term.start), _day(term.end)
        deadline = end + dt.timedelta(days=term.evaluation_days)
        found[Phase.OPEN] += _first_weekday(Phase.OPEN, f"open-{name}", start)
        last = deadline + dt.timedelta(days=EVALUATE_DAYS_AFTER_DEADLINE)
        found[Phase.EVALUATE] += _daily(Phase.EVALUATE, f"{name}-evaluation", end, last, "*")
        first, last = deadline + dt.timedelta(days=1), deadline + dt.timedelta(days=SUMMARY_DAYS)
        found[Phase.SUMMARIES] += _daily(
            Phase.SUMMARIES, f"after-{name}-deadline", first, last, "*"
        )
    school_year = (_day(calendar.term1.start), _day(calendar.term2.end))
    spring = calendar.term2
    last_day = school_year[1] + dt.timedelta(days=spring.evaluation_days)
    for phase in (Phase.COLLECT, Phase.ROUTE):
        found[phase] = _daily(phase, "school-days", school_year[0], last_day, "1-5")
    return found


def _day(month_day: str) -> dt.date:
    month, day = (int(part) for part in month_day.split("-"))
    return dt.date(_YEAR, month, day)


def _at(phase: Phase) -> str:
    hour, minute = RUN_AT[phase]
    return f"{minute} {hour}"


def _first_weekday(phase: Phase, slug: str, start: dt.date) -> list[Schedule]:
    """Return the lines firing on `start` if a weekday, else on the Monday after it."""
    sunday, saturday = start + dt.timedelta(days=1), start + dt.timedelta(days=2)
    return [
        Schedule(slug, f"{_at(phase)} {start.day} {start.month} 1-5"),
        Schedule(f"{slug}-after-sunday", f"{_at(phase)} {sunday.day} {sunday.month} 1"),
        Schedule(f"{slug}-after-saturday", f"{_at(phase)} {saturday.day} {saturday.month} 1"),
    ]


def _daily(phase: Phase, slug: str, first: dt.date, last: dt.date, weekdays: str) -> list[Schedule]:
    """Return the lines firing on every day from `first` to `last` (across a new year too)
    that falls on `weekdays` (cron's day-of-week field)."""
    if last < first:
        last = last.replace(year=_YEAR + 1)
    fields: list[tuple[str, list[int]]] = []  # (days of the month, months), in date order
    month = dt.date(first.year, first.month, 1)
    while month <= last:
        following = (month + dt.timedelta(days=31)).replace(day=1)
        low = first.day if month <= first < following else 1
        high = last.day if month <= last < following else 31
        days = "*" if (low, high) == (1, 31) else f"{low}-{high}"
        if days == "*" and fields and fields[-1][0] == "*":
            fields[-1][1].append(month.month)  # whole months in a row share one line
        else:
            fields.append((days, [month.month]))
        month = following
    lines = [f"{_at(phase)} {days} {_months(months)} {weekdays}" for days, months in fields]
    if len(lines) == 1:
        return [Schedule(slug, lines[0])]
    return [Schedule(f"{slug}-{index}", line) for index, line in enumerate(lines, start=1)]


def _months(months: list[int]) -> str:
    """Return cron's month field for these months: runs of consecutive ones as ranges."""
    runs: list[list[int]] = []
    for month in months:
        if runs and month == runs[-1][-1] + 1:
            runs[-1].append(month)
        else:
            runs.append([month])
    return ",".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)
