"""`pumpurs status`: the live view read straight from the database, as tables or JSON."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import time_machine

from pumpurs.app.deployments import next_runs
from pumpurs.clock import RIGA
from pumpurs.config import load_config
from pumpurs.opening.carry import open_records
from pumpurs.opening.invitations import queue_invitations
from pumpurs.semester import SemesterCode
from pumpurs.store.context import Context
from tests.app.test_cli import pumpurs
from tests.approvals.factory import submitted_plan


def _opened(context: Context) -> None:
    with (
        time_machine.travel(dt.datetime(2026, 9, 1, 9, tzinfo=RIGA), tick=False),
        context.sessions.begin() as session,
    ):
        opened = open_records(session, context.config, SemesterCode.parse("2026/2027-1"))
        queue_invitations(session, context.config, context.settings, opened.semester)
    submitted_plan(context, "LV-LIE-006", "P-1")


def _env(context: Context) -> dict[str, str]:
    return {"PUMPURS_DATABASE_URL": context.settings.effective_database_url}


def test_status_prints_the_headline_and_a_table_per_part(context: Context, tmp_path: Path) -> None:
    _opened(context)
    result = pumpurs(["status", "2026/2027-1"], tmp_path, COLUMNS="300", **_env(context))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Semestris 2026/2027-1 tagad (")
    assert "Skolas, kas iesniegušas plānus: 1 no 9." in out
    assert "8 skolas vēl nav iesniegušas plānus." in out
    assert "Lēmumu gaida 1 plāns." in out
    for title in ("Termiņi", "Skolas, kas vēl nav iesniegušas plānus", "Izvērtēšana pa reģioniem"):
        assert title in out
    assert "Kuldīgas Centra vidusskola (LV-KUL-001)" in out
    assert "│ nav " in out  # an empty table says so


def test_status_json_has_the_figures_and_every_part(context: Context, tmp_path: Path) -> None:
    _opened(context)
    result = pumpurs(["status", "2026/2027-1", "--json"], tmp_path, **_env(context))
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["figures"]["schools_not_submitted"] == 8
    assert found["figures"]["plans_waiting"] == 1
    assert len(found["schools"]) == 9 and found["opened"] is True
    assert {run["deployment"] for run in found["timeline"]["upcoming"]} == {
        "open-semester",
        "collect-plans",
        "route-approvals",
        "evaluate-semester",
        "send-summaries",
    }


def test_status_of_a_mistyped_semester_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = pumpurs(["status", "2026/27-1"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "pumpurs: Nederīgs semestra kods “2026/27-1”: jābūt formā 2026/2027-1 (mācību gads un "
        "semestris 1 vai 2)."
    )


CONFIG = load_config(Path(__file__).resolve().parents[2] / "config")


def test_next_runs_are_prefect_yaml_schedules_as_the_scheduler_computes_them() -> None:
    friday_evening = dt.datetime(2026, 11, 20, 19, 0, tzinfo=RIGA)
    runs = {run.deployment: run.at.astimezone(RIGA) for run in next_runs(CONFIG, friday_evening)}
    assert runs["collect-plans"] == dt.datetime(2026, 11, 23, 6, 0, tzinfo=RIGA)  # Monday
    assert runs["semester-status"] == dt.datetime(2026, 11, 23, 7, 0, tzinfo=RIGA)
    assert runs["evaluate-semester"] == dt.datetime(2026, 12, 22, 18, 0, tzinfo=RIGA)
    left_out = next_runs(CONFIG, friday_evening, leave_out="semester-status")
    assert "semester-status" not in {run.deployment for run in left_out}
