"""Which semester a scheduled run is about, from the calendar in config and today's date."""

from __future__ import annotations

import datetime as dt
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
