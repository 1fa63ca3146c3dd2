"""Every flow publishes every one of its artifacts on every run, even one that found nothing to
do, so the newest version of each key always belongs to the newest run; and its progress ends
at 100 %."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from functools import partial
from typing import Any
from uuid import UUID

import pytest
import time_machine

from flows.collect_plans import collect_plans
from flows.evaluate_semester import evaluate_semester
from flows.open_semester import open_semester
from flows.route_approvals import route_approvals
from flows.semester_status import semester_status
from flows.send_summaries import send_summaries
from pumpurs.clock import RIGA
from pumpurs.store.context import Context
from tests.approvals.factory import SEMESTER

pytestmark = pytest.mark.usefixtures("prefect_harness")
MAIL = ["summary", "failed-mail", "progress"]  # what every flow that sends mail publishes
PARTS = ["timeline", "schools-by-municipality", "schools-not-submitted", "schools-unresolved",
         "approvals-by-region", "approvals-by-approver", "evaluation-by-region",
         "evaluations-missing"]  # fmt: skip
FLOWS: list[tuple[str, Callable[..., Any], list[str]]] = [
    ("open-semester", open_semester, MAIL),
    ("collect", collect_plans, [*MAIL, "schools", "file-problems"]),
    ("route-approvals", route_approvals, [*MAIL, "pending-by-region", "pending-by-age",
                                          "decided-today", "reminders-sent", "escalations-sent"]),
    ("evaluate", evaluate_semester, [*MAIL, "schools", "missing-evaluations", "flags",
                                     "file-problems"]),
    ("summaries", partial(send_summaries, provisional=True),  # before the evaluation deadline
     [*MAIL, "charts", "regions", "schools"]),
    ("semester-status", semester_status, ["headline", "progress", *PARTS]),
]  # fmt: skip


def _artifacts(flow_run_id: UUID) -> dict[str, dict[str, Any]]:
    """Return the keyed artifacts one flow run published, by key."""
    from prefect.client.orchestration import get_client

    body = {"artifacts": {"flow_run_id": {"any_": [str(flow_run_id)]}}, "limit": 100}
    with get_client(sync_client=True) as client:
        response = client.request("POST", "/artifacts/filter", json=body)
    return {found["key"]: found for found in response.json() if found["key"]}


def test_a_run_with_nothing_to_do_publishes_every_artifact_and_ends_at_100(
    context: Context,
) -> None:
    published: dict[str, Any] = {}
    with time_machine.travel(dt.datetime(2026, 9, 10, 9, tzinfo=RIGA), tick=True):
        open_semester(SEMESTER)  # the semester, invited; the runs below find nothing new
        for flow, run, parts in FLOWS:
            state = run(SEMESTER, return_state=True)
            assert state.is_completed(), (flow, state.message)
            found = _artifacts(state.state_details.flow_run_id)
            keys = {f"{flow}-2026-2027-1-{part}" for part in parts}
            assert set(found) == keys, flow
            assert found[f"{flow}-2026-2027-1-progress"]["data"] == 100.0, flow
            tables = [k for k, a in found.items() if a["type"] == "table"]
            empty = [k for k in tables if not json.loads(found[k]["data"])]
            assert not empty, f"{flow}: tables published without a row: {empty}"
            published.update({key: json.loads(a["data"]) for key, a in found.items()
                              if a["type"] == "table"})  # fmt: skip
    assert published["collect-2026-2027-1-file-problems"] == [{"file-problems": "nav"}]
    assert published["semester-status-2026-2027-1-approvals-by-region"] == [
        {"Reģions": "nav", "Gaida": "", "Ilgākā gaidīšana, dienas": "",
         "Gaida 3+ dienas (atgādinājums)": "", "Gaida 10+ dienas (eskalācija)": ""}
    ]  # fmt: skip
