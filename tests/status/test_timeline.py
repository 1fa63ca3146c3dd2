"""The timeline's stage and days left are plain date arithmetic on the semester's four dates."""

from __future__ import annotations

import datetime as dt

import pytest

from pumpurs.i18n.catalogue import texts
from pumpurs.status.tables import days_from_today
from pumpurs.status.timeline import Stage, Upcoming, stage_on, timeline

DATES = {
    "starts_on": dt.date(2027, 1, 5),
    "submission_deadline": dt.date(2027, 1, 26),
    "ends_on": dt.date(2027, 5, 29),
    "evaluation_deadline": dt.date(2027, 6, 12),
}


@pytest.mark.parametrize(
    ("today", "stage"),
    [
        (dt.date(2027, 1, 4), Stage.NOT_STARTED),
        (dt.date(2027, 1, 5), Stage.SUBMISSION),
        (dt.date(2027, 1, 26), Stage.SUBMISSION),
        (dt.date(2027, 1, 27), Stage.TERM),
        (dt.date(2027, 5, 29), Stage.TERM),
        (dt.date(2027, 5, 30), Stage.EVALUATION),
        (dt.date(2027, 6, 12), Stage.EVALUATION),
        (dt.date(2027, 6, 13), Stage.ENDED),
    ],
)
def test_each_day_falls_in_one_stage(today: dt.date, stage: Stage) -> None:
    assert stage_on(DATES, today) == stage


def test_the_next_date_is_today_or_later_and_the_runs_come_in_order() -> None:
    at = dt.datetime(2027, 1, 27, 6, tzinfo=dt.UTC)
    runs = [Upcoming("route-approvals", at + dt.timedelta(hours=2)), Upcoming("collect-plans", at)]
    line = timeline(DATES, dt.date(2027, 1, 26), runs)
    assert line.next_milestone is not None
    assert (line.next_milestone.name, line.next_milestone.days_left) == ("submission_deadline", 0)
    assert [run.deployment for run in line.upcoming] == ["collect-plans", "route-approvals"]
    assert timeline(DATES, dt.date(2027, 6, 13)).next_milestone is None


@pytest.mark.parametrize(
    ("days", "latvian", "english"),
    [
        (0, "šodien", "today"),
        (1, "pēc 1 dienas", "in 1 day"),
        (2, "pēc 2 dienām", "in 2 days"),
        (10, "pēc 10 dienām", "in 10 days"),
        (11, "pēc 11 dienām", "in 11 days"),
        (21, "pēc 21 dienas", "in 21 days"),
        (22, "pēc 22 dienām", "in 22 days"),
        (-1, "pirms 1 dienas", "1 day ago"),
        (-21, "pirms 21 dienas", "21 days ago"),
        (-30, "pirms 30 dienām", "30 days ago"),
    ],
)
def test_days_from_today_in_both_languages(days: int, latvian: str, english: str) -> None:
    assert days_from_today(days, texts("lv")) == latvian
    assert days_from_today(days, texts("en")) == english
