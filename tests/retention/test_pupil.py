"""A school's or a parent's question about one pupil reference: everything held about it, and
its erasure on request (the reference becomes a token everywhere, an audit entry says so)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from pumpurs.intake.collect import collect
from pumpurs.retention import erase_pupil, pupil_report
from pumpurs.store.context import Context
from pumpurs.store.models import AuditEntry, Submission
from pumpurs.store.reference import stored_semester
from tests.retention.lived import OLD, REASON, SCHOOL, dump, holding, lived

__all__ = ["lived"]  # the fixture
REPO = Path(__file__).resolve().parents[2]
TOKEN = re.compile(r"erased-[0-9a-f]{16}")


def test_the_report_lists_everything_held_about_one_reference(lived: Context) -> None:
    with lived.sessions() as session:
        report = pupil_report(session, lived.settings, SCHOOL, "P-RETAIN2")
    assert report.known
    [plan] = report.plans
    assert plan["semester"] == OLD.code and plan["status"] == "returned"
    assert plan["revisions"][0]["goal"] == "Apmeklēt visas stundas"
    assert plan["revisions"][0]["measures"][0]["eur_per_month"] == 40
    assert [(d["outcome"], d["reason"]) for d in plan["decisions"]] == [("returned", REASON)]
    assert [f["file"] for f in report.files] == ["plani.csv"]
    assert [Path(p).name for p in report.inbox_files] == ["plani.csv"]
    kinds = sorted(m["kind"] for m in report.emails)
    assert kinds == ["approval_digest", "plan_returned"]
    assert [(v["page"], v["ip"]) for v in report.views] == [("plan", "192.0.2.1")]
    assert "plan.returned" in [a["action"] for a in report.audit]
    json.dumps(report.as_dict())  # plain values throughout
    with lived.sessions() as session:
        refused = pupil_report(session, lived.settings, SCHOOL, "P-RETAIN3")
    assert not refused.known and [r["row"] for r in refused.rejected_rows] == [4]
    with lived.sessions() as session:
        nobody = pupil_report(session, lived.settings, SCHOOL, "P-NOBODY")
    assert not any(nobody.counts().values())


def test_erasure_on_request_replaces_the_reference_everywhere_and_is_audited(
    lived: Context,
) -> None:
    ctx = lived
    before = dump(ctx)
    with ctx.sessions.begin() as session:
        counted = erase_pupil(session, ctx.settings, SCHOOL, "P-RETAIN2", actor="test", apply=False)
    assert dump(ctx) == before and counted.token is None  # only counted
    with ctx.sessions.begin() as session:
        erased = erase_pupil(session, ctx.settings, SCHOOL, "P-RETAIN2", actor="test", apply=True)
    assert erased.counts() == counted.counts()
    assert (erased.plans, erased.goals, erased.reasons, erased.files, erased.inbox_files) == (
        1, 1, 1, 1, 1,
    )  # fmt: skip
    assert erased.token is not None and TOKEN.fullmatch(erased.token)
    gone = ["P-RETAIN2", REASON, "Apmeklēt visas stundas"]
    assert holding(ctx, gone) == []
    inbox = ctx.settings.effective_inbox_dir / OLD.folder / SCHOOL / "plans" / "plani.csv"
    content = inbox.read_text(encoding="utf-8")
    assert "P-RETAIN2" not in content and erased.token in content
    assert "P-RETAIN1" in content  # the other pupils' rows are as they were
    with ctx.sessions() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "pupil.erased")).one()
        assert (audit.actor, audit.details["token"], audit.details["goals"]) == (
            "test", erased.token, 1,
        )  # fmt: skip
        assert "P-RETAIN2" not in json.dumps(audit.details)
        assert not any(pupil_report(session, ctx.settings, SCHOOL, "P-RETAIN2").counts().values())
        kept = session.scalars(select(Submission.content).where(Submission.kind == "plans")).one()
        assert kept is not None and erased.token.encode() in kept
    # The changed inbox file is known by its new checksum: collect reads nothing again.
    with ctx.sessions.begin() as session:
        report = collect(session, ctx.config, ctx.settings, stored_semester(session, OLD))
    assert (report.files, report.skipped) == (0, 1)


def test_the_pupil_commands(lived: Context, tmp_path: Path) -> None:
    env = dict(os.environ, PUMPURS_VAR_DIR=str(tmp_path / "var"),
               PUMPURS_CONFIG_DIR=str(REPO / "config"),
               PUMPURS_DATABASE_URL=lived.settings.effective_database_url,
               PUMPURS_INBOX_DIR=str(lived.settings.effective_inbox_dir))  # fmt: skip

    def pumpurs(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pumpurs.app.cli", *args]
        return subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=120)  # fmt: skip

    shown = pumpurs("pupil", "show", SCHOOL, "P-RETAIN1")
    assert shown.returncode == 0, shown.stderr
    assert "Par skolas LV-LIE-006 skolēna identifikatoru P-RETAIN1 glabājas:" in shown.stdout
    assert "Plāni: 2" in shown.stdout and "Sasniegt 6 balles matemātikā" in shown.stdout
    as_json = json.loads(pumpurs("pupil", "show", SCHOOL, "P-RETAIN1", "--json").stdout)
    assert [p["semester"] for p in as_json["plans"]] == ["2026/2027-1", "2027/2028-1"]
    dry = pumpurs("pupil", "erase", SCHOOL, "P-RETAIN1")
    assert dry.returncode == 0 and "Nekas vēl nav dzēsts" in dry.stdout
    done = json.loads(pumpurs("pupil", "erase", SCHOOL, "P-RETAIN1", "--yes", "--json").stdout)
    assert done["erased"] is True and TOKEN.fullmatch(done["token"]) and done["plans"] == 2
    again = pumpurs("pupil", "erase", SCHOOL, "P-RETAIN1", "--yes")
    assert "nekas netiek glabāts" in again.stdout
    with lived.sessions() as session:
        actors = session.scalars(
            select(AuditEntry.actor).where(AuditEntry.action == "pupil.erased")
        ).all()
    assert len(actors) == 1 and actors[0].startswith("cli:")
