from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pumpurs.calendar import Phase, resolve_semester
from pumpurs.config import load_config

CONFIG = load_config(Path(__file__).resolve().parents[1] / "config")


@pytest.mark.parametrize(
    ("phase", "today", "expected"),
    [
        (Phase.OPEN, dt.date(2026, 9, 1), "2026/2027-1"),
        (Phase.OPEN, dt.date(2027, 1, 5), "2026/2027-2"),
        (Phase.COLLECT, dt.date(2026, 10, 3), "2026/2027-1"),
        (Phase.COLLECT, dt.date(2027, 1, 4), "2026/2027-1"),
        (Phase.ROUTE, dt.date(2027, 7, 15), "2026/2027-2"),
        (Phase.EVALUATE, dt.date(2026, 12, 22), "2026/2027-1"),
        (Phase.EVALUATE, dt.date(2026, 12, 21), "2025/2026-2"),
        (Phase.EVALUATE, dt.date(2027, 1, 5), "2026/2027-1"),
        (Phase.EVALUATE, dt.date(2027, 6, 1), "2026/2027-2"),
        (Phase.SUMMARIES, dt.date(2027, 1, 6), "2026/2027-1"),
        (Phase.SUMMARIES, dt.date(2027, 1, 5), "2025/2026-2"),
        (Phase.SUMMARIES, dt.date(2027, 6, 13), "2026/2027-2"),
    ],
)
def test_scheduled_runs_find_their_semester(phase: Phase, today: dt.date, expected: str) -> None:
    assert resolve_semester(CONFIG, phase, today).code == expected
