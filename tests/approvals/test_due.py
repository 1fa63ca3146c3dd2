from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from pumpurs.approvals import classify
from pumpurs.clock import RIGA

DAY0 = dt.datetime(2026, 10, 5, 7, 30, tzinfo=RIGA)


def _at(day: int, hour: int = 6) -> dt.datetime:
    return (DAY0 + dt.timedelta(days=day)).replace(hour=hour, minute=0)


def _frame(rows: list[tuple[object, ...]]) -> pd.DataFrame:
    columns = ["step_id", "created_at", "notified_at", "reminded_at", "escalated_at"]
    return pd.DataFrame(rows, columns=columns)


def _moment(day: int | None, hour: int = 7) -> dt.datetime | None:
    return None if day is None else _at(day, hour).astimezone(dt.UTC)


@pytest.mark.parametrize(
    ("today", "notified", "reminded", "escalated", "expected"),
    [
        (0, None, None, None, (True, False, False)),
        (2, 0, None, None, (False, False, False)),
        (3, 0, None, None, (False, True, False)),
        (4, 0, 3, None, (False, False, False)),
        (6, 0, 3, None, (False, True, False)),
        (10, 0, 9, None, (False, False, True)),
        (11, 0, 9, 10, (False, False, False)),
        (12, 0, 9, 10, (False, True, False)),
        (12, None, None, None, (True, False, False)),  # never told: told now, not escalated
    ],
)
def test_classify_counts_calendar_days_in_latvia(
    today: int,
    notified: int | None,
    reminded: int | None,
    escalated: int | None,
    expected: tuple[bool, bool, bool],
) -> None:
    # Created at 23:30 and looked at 00:30 the next day: that is one day in Riga.
    steps = _frame(
        [(1, _moment(0, 23), _moment(notified, 23), _moment(reminded), _moment(escalated))]
    )
    row = classify(steps, _at(today).date(), reminder_days=3, escalation_days=10).iloc[0]
    assert (bool(row["new"]), bool(row["remind"]), bool(row["escalate"])) == expected
    assert row["age_days"] == today
