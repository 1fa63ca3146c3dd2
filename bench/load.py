"""Benchmark phases that need servers: the approval app during the cycle, and mail sending.

The decisions under HTTP load are `bench.decisions`'.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.measure import Phase, task_runs_of, timed

CYCLE = "national cycle (open … summaries)"
CLI = "CLI (bench/cli.py)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _environment(settings: Any) -> dict[str, str]:
    """Return the environment a separate app process reads these settings from."""
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ)
    env.update(
        {
            "PUMPURS_VAR_DIR": str(settings.var_dir),
            "PUMPURS_DATABASE_URL": settings.effective_database_url,
            "PUMPURS_CONFIG_DIR": str(settings.config_dir),
            "PUMPURS_BASE_URL": settings.base_url,
            "PUMPURS_SMTP_PORT": str(settings.smtp_port),
            "PUMPURS_LANGUAGE": str(settings.language),
            "PUMPURS_SECRET_KEY": settings.signing_key(),
        }
    )
    if PREFECT_API_URL.value():  # the harness's server: events go where the thread's would
        env["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
    return env


def _links(settings: Any, limit: int) -> list[str]:
    from pumpurs.approvals.tokens import approval_url, live_nonces
    from pumpurs.store.context import context
    from pumpurs.store.models import ApprovalStep, StepStatus

    with context().sessions() as session:
        steps = session.scalars(
            select(ApprovalStep.id)
            .where(ApprovalStep.status == StepStatus.PENDING)
            .order_by(ApprovalStep.id)
            .limit(limit)
        ).all()
        nonces = live_nonces(session, steps)
    return [approval_url(settings, nonce) for nonce in nonces.values()]


def approve_the_rest(settings: Any) -> None:
    """Approve the plans nobody decided in the load test, so evaluation sees a full semester."""
    from pumpurs.store import lifecycle
    from pumpurs.store.context import context
    from pumpurs.store.models import PlanStatus

    with context().sessions.begin() as session:
        lifecycle.move_all(session, PlanStatus.SUBMITTED, PlanStatus.APPROVED)


def mail_phase(work: Path, count: int, phase: Phase) -> None:
    """Queue `count` messages and time sending them to a loopback SMTP server."""
    from pumpurs.i18n.templates import RenderedEmail
    from pumpurs.mail.delivery import deliver
    from pumpurs.mail.outbox import Attachment, queue
    from pumpurs.mail.sink import SmtpSink
    from pumpurs.settings import Settings
    from pumpurs.store import db

    with SmtpSink() as sink:
        url = f"sqlite:///{work / 'mail.db'}"
        db.ensure_schema(url)
        sessions = db.session_factory(url)
        settings = Settings(_env_file=None, var_dir=work, database_url=url, smtp_port=sink.port)
        with sessions.begin() as session:
            for n in range(count):
                email = RenderedEmail(f"Ziņa {n}", f"Teksts {n}\n" * 20, f"<p>Teksts {n}</p>" * 20)
                queue(
                    session,
                    key=f"bench:{n}",
                    kind="bench",
                    to=f"s{n}@pumpurs.example",
                    email=email,
                    attachments=[Attachment("a.csv", "text/csv", b"a;b\n" * 50)],
                )
        sample = timed(lambda: deliver(sessions, settings))
        assert sample.result.sent == count and len(sink.received) == count
    phase.samples.append(sample)
    phase.rows = count


def collect_once(data: Path, work: Path, phase: Phase, make_settings: Any) -> None:
    """Collect a (10×) semester once, in this process, and record time and memory."""
    from flows.collect_plans import collect_plans
    from flows.open_semester import open_semester
    from pumpurs.mail.sink import SmtpSink
    from pumpurs.store.context import load_context, use_settings

    with SmtpSink() as sink:
        settings = make_settings(data, work / "ten.db", sink.port, "http://127.0.0.1:1")
        with use_settings(settings):
            load_context(settings)
            open_semester("2026/2027-1")
            state: list[Any] = []
            sample = timed(lambda: state.append(collect_plans("2026/2027-1", return_state=True)))
    phase.samples.append(sample)
    phase.rows = int(state[0].result()["rows_read"])
    phase.task_runs = task_runs_of(state[0].state_details.flow_run_id)


def judge(phases: dict[str, Phase]) -> list[dict[str, Any]]:
    """Check each target of the issue against what was measured."""
    out: list[dict[str, Any]] = []

    def add(target: str, measured: Any, met: bool) -> None:
        out.append({"target": target, "measured": measured, "met": bool(met)})

    collect, base = phases["collect"], phases["baseline collect"]
    if collect.samples and base.samples:
        ratio = collect.seconds / base.seconds
        add("collect ≤ 1.5× baseline", f"{ratio:.2f}×", ratio <= 1.5)
    opening = phases["open (600 invitations)"]
    if opening.samples:
        add(
            "open ≤ 5 s (600 invitations with workbooks)",
            f"{opening.seconds:.1f} s",
            opening.seconds <= 5,
        )
    evaluate = phases["evaluate"]
    if evaluate.samples and collect.samples and evaluate.rows and collect.rows:
        per_row = 1e6 * evaluate.seconds / evaluate.rows
        collect_per_row = 1e6 * collect.seconds / collect.rows
        add(
            "evaluate no slower per row than collect",
            f"{per_row:.0f} µs a row against collect's {collect_per_row:.0f} µs",
            per_row <= collect_per_row,
        )
    whole = phases.get(CYCLE)
    if whole and whole.samples:
        add(
            "the national cycle (open, collect, route, evaluate, summaries) ≤ 40 s",
            f"{whole.seconds:.1f} s",
            whole.seconds <= 40,
        )
    route = phases["route (digests)"]
    if route.samples:
        add(
            "route with digests for 25,000 plans ≤ 10 s",
            f"{route.seconds:.1f} s",
            route.seconds <= 10,
        )
    summaries = phases["summaries"]
    if summaries.samples:
        add(
            f"summaries ≤ 10 s ({summaries.rows} emails)",
            f"{summaries.seconds:.1f} s",
            summaries.seconds <= 10,
        )
    mail = phases["mail"]
    if mail.samples:
        rate = mail.rows / mail.seconds
        add("mail ≥ 150 messages/s", f"{rate:.0f}/s", rate >= 150)
    ten = phases["collect ×10"]
    if ten.samples and collect.samples:
        ratio = ten.seconds / collect.seconds
        add(
            "10× national collect: time ≤ 11× the 1× collect and peak ≤ 1 GiB",
            f"{ratio:.1f}×, {ten.peak_mib:.0f} MiB",
            ratio <= 11 and ten.peak_mib <= 1024,
        )
        add(
            "task runs do not grow with rows",
            f"{collect.task_runs} vs {ten.task_runs}",
            collect.task_runs == ten.task_runs,
        )
    checks = phases.get("validate 75,000 plan rows")
    if checks and checks.samples:
        add("validate 75,000 plan rows < 2 s", f"{checks.seconds:.2f} s", checks.seconds < 2)
    writers = phases.get("SQLite writers (20 threads × 10)")
    if writers and writers.samples:
        add(
            "20 SQLite writers × 10 writes < 10 s (no 100 ms busy sleeps)",
            f"{writers.seconds:.2f} s",
            writers.seconds < 10,
        )
    handover = phases.get("SQLite lock handover")
    if handover and handover.samples:
        add(
            "a writer waiting on another process's 0.1 s lock has it < 1 s after asking",
            f"{handover.seconds:.3f} s, {handover.extra['after_release_ms']} ms after release",
            handover.seconds < 1,
        )
    cli = phases.get(CLI)
    if cli and cli.extra:
        figures = cli.extra
        runs = ", ".join(
            f"{r['seconds']} s ({r['cpu_seconds']} s CPU)" for r in figures["idle_route_runs"]
        )
        add(
            "CLI with a Prefect server, nothing to do ≤ 3 s (median)",
            f"{figures['idle_route_seconds']} s; runs: {runs}",
            figures["idle_route_met"],
        )
        outcome = "passed" if figures["first_command_ok"] else "failed"
        add(
            "CLI first command, empty PREFECT_HOME, no server: never fails",
            f"{outcome} in {figures['first_command_seconds']} s",
            figures["first_command_ok"],
        )
    return out
