"""The semester-status flow on Prefect's harness, at a frozen moment: what its artifacts say
after an approver decides in the web app, and how a run with a wrong semester fails."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
import time_machine

from flows.collect_plans import collect_plans
from flows.semester_status import semester_status
from flows.send_summaries import send_summaries
from pumpurs.clock import RIGA
from pumpurs.opening.carry import open_records
from pumpurs.opening.invitations import queue_invitations
from pumpurs.semester import SemesterCode
from pumpurs.store.context import Context
from tests.app.web.conftest import csrf_of, plan_paths, serve
from tests.app.web.live import wait_for
from tests.approvals.factory import SEMESTER, submitted_plan
from tests.conftest import latest_artifact

pytestmark = pytest.mark.usefixtures("prefect_harness")
MONDAY = dt.datetime(2026, 9, 14, 10, 0, tzinfo=RIGA)  # 8 days to the submission deadline
PREFIX = "semester-status-2026-2027-1"


def _table(part: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(str(latest_artifact(f"{PREFIX}-{part}")["data"]))
    return found


def _decision_events(since: dt.datetime) -> list[dict[str, Any]]:
    """Return the approvals and returns Prefect received since `since`, oldest first."""
    from prefect.client.orchestration import get_client

    body = {
        "filter": {
            "event": {"prefix": ["pumpurs.plan."]},
            "occurred": {"since": since.isoformat(), "until": (since + dt.timedelta(days=1))
                         .isoformat()},
            "order": "ASC",
        },
        "limit": 50,
    }  # fmt: skip
    with get_client(sync_client=True) as client:
        response = client.request("POST", "/events/filter", json=body)
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def _opened_and_routed(context: Context) -> dict[int, str]:
    """Open the semester on its first day; three plans submitted on the 3rd, two in Kurzeme;
    return each plan's link path (the plans routed to their approvers)."""
    with (
        time_machine.travel(dt.datetime(2026, 9, 1, 9, tzinfo=RIGA), tick=False),
        context.sessions.begin() as session,
    ):
        opened = open_records(session, context.config, SemesterCode.parse(SEMESTER))
        queue_invitations(session, context.config, context.settings, opened.semester)
    with time_machine.travel(dt.datetime(2026, 9, 3, 12, tzinfo=RIGA), tick=False):
        for school, ref in [("LV-LIE-006", "P-1"), ("LV-LIE-006", "P-2"), ("LV-RIG-T01", "P-3")]:
            submitted_plan(context, school, ref)
        return plan_paths(context)


def test_a_decision_in_the_web_app_shows_in_the_next_status_run(context: Context) -> None:
    paths = _opened_and_routed(context)
    with time_machine.travel(MONDAY, tick=True):
        before = semester_status(SEMESTER)
        assert (before["plans_waiting"], before["schools_not_submitted"]) == (3, 7)
        assert _table("approvals-by-region")[0] == {
            "Reģions": "Kurzemes reģions", "Gaida": 2, "Ilgākā gaidīšana, dienas": 11,
            "Gaida 3+ dienas (atgādinājums)": 2, "Gaida 10+ dienas (eskalācija)": 2,
        }  # fmt: skip
        started = dt.datetime.now(dt.UTC)
        with serve(context.settings) as server, httpx.Client(base_url=server.url) as client:
            path = paths[1]
            decided = client.post(path, data={"csrf": csrf_of(client.get(path).text),
                                              "action": "approve"})  # fmt: skip
            assert decided.status_code == 200
            # The web app tells Prefect; the trigger of the semester-status deployment takes
            # the semester from the event's payload (`{{ event.payload.semester }}`), and so
            # does this run.
            wait_for(lambda: _decision_events(started), 30, "no decision event reached Prefect")
        event = _decision_events(started)[0]
        assert (event["event"], event["payload"]["semester"]) == ("pumpurs.plan.approved", SEMESTER)
        after = semester_status(event["payload"]["semester"])
    assert after["plans_waiting"] == 2
    assert _table("approvals-by-region")[0]["Gaida"] == 1
    not_submitted = {row["Izglītības iestāde"]: row for row in _table("schools-not-submitted")}
    assert len(not_submitted) == 7
    kuldiga = not_submitted["Kuldīgas Centra vidusskola (LV-KUL-001)"]
    assert (kuldiga["E-pasts"], kuldiga["Uzaicināta"], kuldiga["Dienas kopš uzaicinājuma"]) == (
        "iaps@centra.kuldiga.example",
        "01.09.2026.",
        13,
    )
    timeline = {row["Kas"]: row for row in _table("timeline")}
    assert timeline["Plānu iesniegšanas termiņš"]["No šodienas"] == "pēc 8 dienām"
    assert timeline["Semestra beigas"]["No šodienas"] == "pēc 99 dienām"
    headline = str(latest_artifact(f"{PREFIX}-headline")["data"])
    assert "Lēmumu gaida 2 plāni." in headline
    table = latest_artifact(f"{PREFIX}-schools-not-submitted")  # linked: the same run's table
    assert "[Skolas, kas vēl nav iesniegušas plānus](http://" in headline
    assert f"/artifacts/artifact/{table['id']})" in headline
    assert latest_artifact(f"{PREFIX}-progress")["data"] == 100.0


def test_a_mistyped_semester_fails_the_run_at_once_in_latvian(context: Context) -> None:
    for flow in (semester_status, collect_plans):
        state = flow("2026/27-1", return_state=True)
        assert state.is_failed()
        assert "Nederīgs semestra kods “2026/27-1”: jābūt formā 2026/2027-1" in str(state.message)


def test_a_quick_run_of_summaries_in_december_says_when_they_can_go(context: Context) -> None:
    with context.sessions.begin() as session:
        open_records(session, context.config, SemesterCode.parse(SEMESTER))
    with time_machine.travel(dt.datetime(2026, 12, 10, 8, tzinfo=RIGA), tick=True):
        state = send_summaries(return_state=True)  # no semester: the calendar's
    assert state.is_failed()
    message = str(state.message)
    assert "Vēl nav kopsavilkumu, ko sūtīt" in message and "2026/2027-1" in message
    assert "open-semester 2025/2026-2" not in message
