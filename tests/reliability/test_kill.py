"""Processes killed with SIGKILL mid-collect, mid-route and mid-decision: a re-run completes
with no duplicate plan, approval step, decision or email, and nothing half-stored.

The real `pumpurs` commands run in subprocesses and are killed at points inside their work,
found from outside without any hook in the code: a proxy in front of the Prefect API holds a
progress update the flow sends from inside its transaction, the SMTP server holds a message
mid-batch, and SQLite's write lock shows when a transaction has begun.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import time_machine
from prefect.settings import PREFECT_API_URL
from sqlalchemy import func, select

from pumpurs.approvals import pending_url
from pumpurs.clock import utcnow
from pumpurs.generate import generate
from pumpurs.mail.delivery import CLAIM_SECONDS, deliver
from pumpurs.mail.sink import SmtpSink
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store.context import Context, load_context, use_settings
from pumpurs.store.models import (
    ApprovalStep,
    AuditEntry,
    Decision,
    MailStatus,
    OutboxMessage,
    Plan,
    PlanMeasure,
    PlanRevision,
    Pupil,
    RowRejection,
    School,
    Submission,
)
from pumpurs.store.reference import ensure_semester
from tests.app.web.conftest import csrf_of
from tests.app.web.live import free_port
from tests.approvals.factory import KURZEME, issue_links, submitted_plan
from tests.conftest import REPO
from tests.reliability.conftest import SQLITE_ONLY
from tests.reliability.processes import (
    ApiProxy,
    Cli,
    cli_env,
    kill,
    progress_update,
    wait_until,
    writer_active,
)
from tests.reliability.tally import Tally

pytestmark = [pytest.mark.reliability, pytest.mark.usefixtures("prefect_harness"), SQLITE_ONLY]
SEMESTER = SemesterCode.parse("2026/2027-1")
HEADER = "school_code;pupil_ref;grade;risk_categories;goal;measure;subject;provider_ref;"
HEADER += "hours_per_month;eur_per_month"


@dataclass
class Programme:
    """A generated semester in an inbox, its database, and the command to run on both."""

    ctx: Context
    cli: Cli
    proxy: ApiProxy
    database: Path
    manifest: dict[str, Any]
    files: list[Path]

    def counts(self) -> dict[str, int]:
        """Return how many rows each table of the intake, the approvals and the mail holds."""
        models = (Submission, RowRejection, Plan, PlanRevision, ApprovalStep, OutboxMessage)
        with self.ctx.sessions() as session:
            return {
                m.__tablename__: int(session.scalar(select(func.count()).select_from(m)) or 0)
                for m in models
            }

    def schools_with_files(self) -> set[str]:
        """Return the schools that sent plan files."""
        return {f["school_code"] for f in self.manifest["files"] if f["kind"] == "plans"}

    def recipients(self, smtp: SmtpSink, kind: str) -> list[str]:
        """Return the recipient of every message of this kind the server accepted."""
        with self.ctx.sessions() as session:
            ids = set(
                session.scalars(
                    select(OutboxMessage.message_id).where(OutboxMessage.kind == kind)
                ).all()
            )
        return [
            rcpt for r in smtp.received if r.message()["Message-ID"] in ids for rcpt in r.recipients
        ]


@pytest.fixture
def programme(settings: Settings, smtp: SmtpSink, tmp_path: Path) -> Iterator[Programme]:
    """Generate a small programme, open its semester, and point the command at it."""
    data = tmp_path / "data"
    generate("small", 3, data, SEMESTER)
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    # One school also sends a file naming one pupil by a personal code.
    school = manifest["files"][0]["school_code"]
    extra = data / "inbox" / SEMESTER.folder / school / "plans" / "papildu.csv"
    rows = [f"{school};P-KILL01;7;learning;Mērķis;psychologist;;T-1;2;",
            f"{school};120309-12345;8;family;Mērķis;meals;;;;40"]  # fmt: skip
    extra.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    local = settings.model_copy(update={
        "database_url": None, "config_dir": data / "config", "inbox_dir": data / "inbox",
        "smtp_host": smtp.host, "smtp_port": smtp.port, "smtp_retry_delays": [0.05]})  # fmt: skip
    proxy = ApiProxy(str(PREFECT_API_URL.value()))
    env = cli_env(proxy.url, var_dir=local.var_dir, config_dir=local.config_dir,
                  inbox_dir=data / "inbox", smtp_host=smtp.host, smtp_port=smtp.port,
                  smtp_retry_delays="[0.05]")  # fmt: skip
    with use_settings(local):
        ctx = load_context(local)
        with ctx.sessions.begin() as session:
            ensure_semester(session, ctx.config, SEMESTER)
        files = sorted(local.effective_inbox_dir.rglob("*/plans/*"))
        cli = Cli(env, tmp_path)
        yield Programme(ctx, cli, proxy, local.var_dir / "pumpurs.db", manifest, files)
    proxy.close()


def kill_at_progress(programme: Programme, command: str, percent: float, tally: Tally) -> None:
    """Start the command and kill it while Prefect is told it reached `percent`."""
    held = programme.proxy.hold(progress_update(percent))
    process = programme.cli.start(command, SEMESTER.code)
    reached = held.wait(60)
    kill(process)
    assert reached, f"{command} never reported {percent} %"
    programme.proxy.release(forward=False)
    tally.fault()


def kill_mid_mail(programme: Programme, smtp: SmtpSink, command: str, tally: Tally) -> None:
    """Kill the command while the server holds its second message (the first was accepted)."""
    before = len(smtp.received)
    held = smtp.hold_after(before + 1)
    process = programme.cli.start(command, SEMESTER.code)
    reached = held.wait(60)
    kill(process)
    assert reached, f"{command} never sent its second message"
    smtp.release()
    tally.fault()
    assert len(smtp.received) == before + 1


def rerun_after_claims_expire(programme: Programme, smtp: SmtpSink, command: str) -> int:
    """Re-run at once, then send once the dead run's claim expired; return what the re-run sent.

    What the dead run had claimed is neither sent twice nor given up: it waits for its claim
    to expire. The re-run either says so (exit 1, one line) or leaves it to the next run.
    """
    sent = len(smtp.received)
    rerun = programme.cli.run(command, SEMESTER.code)
    if rerun.returncode != 0:
        assert rerun.returncode == 1 and "paliek rindā" in rerun.stderr, rerun.stderr
    later = utcnow() + dt.timedelta(seconds=CLAIM_SECONDS + 1)
    with time_machine.travel(later, tick=True):  # the next run's mail step, five minutes on
        report = deliver(programme.ctx.sessions, programme.ctx.settings, retry_delays=[0.05])
    assert report.sent > 0 and report.left_queued == 0
    return len(smtp.received) - sent - report.sent


def test_collect_killed_in_its_transaction_and_mid_mail_loses_and_repeats_nothing(
    programme: Programme, smtp: SmtpSink, tally: Tally
) -> None:
    # 30 %: files read, kept and masked in the inbox; 100 %: plans stored and reports queued.
    for percent in (30, 100):
        kill_at_progress(programme, "collect", percent, tally)
        assert set(programme.counts().values()) == {0}, f"half-stored after a kill at {percent} %"
        assert sorted(programme.ctx.settings.effective_inbox_dir.rglob("*/plans/*")) == (
            programme.files
        )
    kill_mid_mail(programme, smtp, "collect", tally)
    resent = rerun_after_claims_expire(programme, smtp, "collect")
    check_collected(programme, smtp, tally)
    assert resent == 0


def check_collected(programme: Programme, smtp: SmtpSink, tally: Tally) -> None:
    """Hold the store and the server against the manifest: everything once, nothing half."""
    with programme.ctx.sessions() as session:
        plans = session.execute(
            select(School.code, Pupil.ref).join(Plan, Plan.pupil_id == Pupil.id).join(School)
        ).all()
        revisions = session.scalars(
            select(func.count(PlanRevision.id)).join(Plan).group_by(Plan.id)
        ).all()
        measures = session.scalar(select(func.count()).select_from(PlanMeasure))
        rejected = session.execute(
            select(Submission.filename, RowRejection.row_number, RowRejection.rule).join(Submission)
        ).all()
        statuses = set(session.scalars(select(OutboxMessage.status)).all())
    valid = programme.manifest["valid"]
    tally.count(valid["plans"] + 1, [tuple(p) for p in plans])
    assert len(plans) == len(set(plans)) == valid["plans"] + 1
    assert set(revisions) == {1} and measures == valid["rows"] + 1
    assert not any("*" in ref for _, ref in plans)  # a masked code never became a pupil
    assert ("papildu.csv", 3, "personal_code") in [tuple(r) for r in rejected]
    assert programme.counts()["submission"] == len(programme.files)
    coordinators = [
        s.coordinator.email
        for s in programme.ctx.config.schools
        if s.code in programme.schools_with_files()
    ]
    reports = programme.recipients(smtp, "collect_report")
    tally.reconcile(coordinators, reports)
    assert sorted(reports) == sorted(coordinators)
    assert statuses == {MailStatus.SENT}


def test_route_killed_between_and_inside_its_transactions_and_mid_mail(
    programme: Programme, smtp: SmtpSink, tally: Tally
) -> None:
    from flows.collect_plans import collect_plans

    collect_plans(SEMESTER.code)
    plans = programme.counts()["plan"]
    kill_at_progress(programme, "route", 25, tally)  # approval steps stored, no digest queued
    assert programme.counts()["approval_step"] == plans
    assert programme.recipients(smtp, "approval_digest") == [] and digests(programme) == 0
    # Killed as soon as the transaction that queues the digests has begun.
    held = programme.proxy.hold(progress_update(25))
    process = programme.cli.start("route", SEMESTER.code)
    try:
        assert held.wait(60), "route never reported 25 %"
        programme.proxy.release(forward=True)
        wait_until(lambda: writer_active(programme.database), 60, "the digest transaction")
    finally:
        kill(process)
    tally.fault()
    assert digests(programme) == 0 and notified(programme) == 0
    kill_mid_mail(programme, smtp, "route", tally)
    resent = rerun_after_claims_expire(programme, smtp, "route")
    with programme.ctx.sessions() as session:
        steps = session.execute(
            select(ApprovalStep.plan_id, ApprovalStep.revision, ApprovalStep.step_index)
        ).all()
        approvers = set(session.scalars(select(ApprovalStep.approver_email)).all())
    received = programme.recipients(smtp, "approval_digest")
    tally.count(plans, [tuple(s) for s in steps])
    tally.reconcile(approvers, received)
    assert len(steps) == len(set(steps)) == plans and notified(programme) == plans
    assert sorted(received) == sorted(approvers) and resent == 0


def digests(programme: Programme) -> int:
    """Return how many digests are queued or sent."""
    with programme.ctx.sessions() as session:
        query = select(func.count()).where(OutboxMessage.kind == "approval_digest")
        return int(session.scalar(query.select_from(OutboxMessage)) or 0)


def notified(programme: Programme) -> int:
    """Return how many approval steps a digest covers."""
    with programme.ctx.sessions() as session:
        query = select(func.count()).where(ApprovalStep.notified_at.is_not(None))
        return int(session.scalar(query.select_from(ApprovalStep)) or 0)


def test_the_web_app_killed_mid_bulk_approval_decides_each_plan_once(
    settings: Settings, smtp: SmtpSink, tmp_path: Path, tally: Tally
) -> None:
    local = settings.model_copy(update={
        "database_url": None, "smtp_host": smtp.host, "smtp_port": smtp.port})  # fmt: skip
    with use_settings(local):
        ctx = load_context(local)
        plans = [submitted_plan(ctx, ref=f"P-{number:04d}") for number in range(120)]
        issue_links(ctx)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = cli_env(str(PREFECT_API_URL.value()), var_dir=local.var_dir, config_dir=REPO / "config",
                  base_url=base, smtp_host=smtp.host, smtp_port=smtp.port)  # fmt: skip
    cli = Cli(env, tmp_path)
    path = pending_url(local, KURZEME).removeprefix(local.base_url)
    database = local.var_dir / "pumpurs.db"
    process = start_web(cli, base)
    try:
        page = httpx.get(base + path, timeout=30).text
        steps, token = re.findall(r'name="step" value="(\d+)"', page), csrf_of(page)
        assert len(steps) == len(plans)

        def approve_all() -> None:
            try:
                httpx.post(base + path, data={"csrf": token, "step": steps}, timeout=120)
            except httpx.HTTPError:
                pass  # the server died under the request

        for _ in range(3):  # each time the approver presses the button again
            wanted = decisions(database) + 10
            posting = threading.Thread(target=approve_all)
            posting.start()
            wait_until(lambda: decisions(database) >= wanted, 60, "more decisions")  # noqa: B023
            wait_until(lambda: writer_active(database), 60, "a decision in progress")
            kill(process)  # inside the transaction of one decision
            posting.join(60)
            tally.fault()
            process = start_web(cli, base)
        assert decisions(database) < len(plans)
        again = httpx.post(base + path, data={"csrf": token, "step": steps}, timeout=120)
    finally:
        kill(process)
    assert again.status_code == 200
    with ctx.sessions() as session:
        per_step = session.execute(
            select(Decision.step_id, func.count()).group_by(Decision.step_id)
        ).all()
        audits = session.scalar(select(func.count()).select_from(AuditEntry))
        statuses = set(session.scalars(select(Plan.status)).all())
    tally.reconcile([int(s) for s in steps], [s for s, n in per_step for _ in range(n)])
    assert sorted(s for s, _ in per_step) == sorted(int(s) for s in steps)
    assert {n for _, n in per_step} == {1} and audits == len(plans) and statuses == {"approved"}


def start_web(cli: Cli, base: str) -> subprocess.Popen[bytes]:
    """Start the approval app as `pumpurs web` does and wait until it answers."""
    process = cli.start("web", "--port", base.rsplit(":", 1)[1])

    def answers() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return process.poll() is not None

    try:
        wait_until(answers, 60, "the web app")
    finally:
        if process.poll() is not None or not answers():
            kill(process)
    assert process.poll() is None, cli.stderr("web", "--port", base.rsplit(":", 1)[1])
    return process


def decisions(database: Path) -> int:
    """Return how many decisions are stored, reading without taking the write lock."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        return int(connection.execute("SELECT count(*) FROM decision").fetchone()[0])
    finally:
        connection.close()
