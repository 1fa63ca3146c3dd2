"""Where the semester stands in time: today against its four dates, and the runs ahead."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from pumpurs.i18n.catalogue import N_


class Stage(StrEnum):
    """Which part of its calendar a semester is in today."""

    NOT_STARTED = "not_started"  # before its first day
    SUBMISSION = "submission"  # from the first day to the submission deadline
    TERM = "term"  # after the submission deadline, to the end of the term
    EVALUATION = "evaluation"  # after the end of the term, to the evaluation deadline
    ENDED = "ended"  # after the evaluation deadline


MILESTONES = {  # the semester's dates, in calendar order, and what each is called
    "starts_on": N_("Semester starts"),
    "submission_deadline": N_("Submission deadline"),
    "ends_on": N_("End of the term"),
    "evaluation_deadline": N_("Evaluation deadline"),
}


@dataclass(frozen=True)
class Milestone:
    """One of the semester's dates and the days from today to it (negative once past)."""

    name: str  # a key of MILESTONES
    on: dt.date
    days_left: int


OUTSIDE_THE_CYCLE = frozenset({"semester-status", "retention"})
"""Deployments a semester's timeline does not list: this view's own runs, and the monthly
retention, which follows no semester."""


@dataclass(frozen=True)
class Upcoming:
    """The next run a schedule will start of a deployment."""

    deployment: str
    at: dt.datetime  # aware


@dataclass(frozen=True)
class Timeline:
    today: dt.date
    stage: Stage
    milestones: list[Milestone]
    upcoming: list[Upcoming]  # the earliest first

    @property
    def next_milestone(self) -> Milestone | None:
        """Return the first of the semester's dates that is today or later."""
        return next((m for m in self.milestones if m.days_left >= 0), None)

    def milestone(self, name: str) -> Milestone:
        """Return the semester's date called `name` (a key of MILESTONES)."""
        return next(m for m in self.milestones if m.name == name)


def timeline(
    dates: dict[str, dt.date], today: dt.date, upcoming: list[Upcoming] | None = None
) -> Timeline:
    """Return the semester's timeline on `today` from its dates (the keys of MILESTONES)."""
    milestones = [Milestone(name, dates[name], (dates[name] - today).days) for name in MILESTONES]
    return Timeline(
        today=today,
        stage=stage_on(dates, today),
        milestones=milestones,
        upcoming=sorted(
            (run for run in upcoming or [] if run.deployment not in OUTSIDE_THE_CYCLE),
            key=lambda run: run.at,
        ),
    )


def stage_on(dates: dict[str, dt.date], today: dt.date) -> Stage:
    """Return the part of the semester's calendar that `today` falls in."""
    if today < dates["starts_on"]:
        return Stage.NOT_STARTED
    if today <= dates["submission_deadline"]:
        return Stage.SUBMISSION
    if today <= dates["ends_on"]:
        return Stage.TERM
    if today <= dates["evaluation_deadline"]:
        return Stage.EVALUATION
    return Stage.ENDED
