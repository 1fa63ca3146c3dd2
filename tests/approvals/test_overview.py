from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from pumpurs.approvals import (
    Origin,
    Outcome,
    age_band,
    decide_link,
    decided_on,
    ensure_steps,
    pending_tables,
)
from pumpurs.clock import RIGA
from pumpurs.store.context import Context
from pumpurs.store.models import Semester
from tests.approvals.factory import issue_links, submitted_plan


@pytest.mark.parametrize(
    ("days", "band"),
    [(0, "0–2"), (2, "0–2"), (3, "3–6"), (6, "3–6"), (7, "7–13"), (13, "7–13"), (14, "14+")],
)
def test_age_bands(days: int, band: str) -> None:
    assert age_band(days) == band


def test_pending_per_region_and_age_and_decided_today(context: Context) -> None:
    start = dt.datetime(2026, 10, 1, 9, 0, tzinfo=RIGA)
    with time_machine.travel(start, tick=False):
        submitted_plan(context, "LV-LIE-006", "P-0001")
        with context.sessions.begin() as session:
            ensure_steps(session, context.config)
    with time_machine.travel(start + dt.timedelta(days=8), tick=False):
        submitted_plan(context, "LV-LIE-006", "P-0002")
        submitted_plan(context, "LV-RIG-T01", "P-0003")
        decided = submitted_plan(context, "LV-DAU-010", "P-0004")
        nonce = issue_links(context)[decided]
        with context.sessions.begin() as session:
            decide_link(
                session, context.config, context.settings, nonce, Outcome.APPROVED,
                reason=None, origin=Origin(None, None),
            )  # fmt: skip
        with context.sessions() as session:
            semester_id = session.scalars(select(Semester.id)).one()
            today = start.date() + dt.timedelta(days=8)
            tables = pending_tables(session, semester_id, today)
            decisions = decided_on(session, semester_id, today)
            yesterday = decided_on(session, semester_id, today - dt.timedelta(days=1))
    assert tables["pending-by-region"] == [
        {"region": "Kurzemes reģions", "pending": 2, "oldest_days": 8},
        {"region": "Rīgas reģions", "pending": 1, "oldest_days": 0},
    ]
    assert tables["pending-by-age"] == [
        {"days": "0–2", "pending": 2},
        {"days": "3–6", "pending": 0},
        {"days": "7–13", "pending": 1},
        {"days": "14+", "pending": 0},
    ]
    assert [(d["plan"], d["outcome"], d["at"]) for d in decisions] == [
        (decided, "approved", "09:00")
    ]
    assert decisions[0]["approver"] == "koordinators@latgale.example" and yesterday == []
