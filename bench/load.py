"""Benchmark phases that need servers: the approval app under HTTP load, and mail sending."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from statistics import median, quantiles
from typing import Any

import httpx
import uvicorn
from sqlalchemy import func, select

from bench.measure import Phase, Sample, task_runs_of, timed

CYCLE = "national cycle (open … summaries)"
CLI = "CLI (bench/cli.py)"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _environment(settings: Any) -> dict[str, str]:
    """Return the environment a separate app process reads these settings from."""
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ)
    env.update({
        "PUMPURS_VAR_DIR": str(settings.var_dir),
        "PUMPURS_DATABASE_URL": settings.effective_database_url,
        "PUMPURS_CONFIG_DIR": str(settings.config_dir), "PUMPURS_BASE_URL": settings.base_url,
        "PUMPURS_SMTP_PORT": str(settings.smtp_port), "PUMPURS_LANGUAGE": str(settings.language),
        "PUMPURS_SECRET_KEY": settings.signing_key(),
    })  # fmt: skip
    if PREFECT_API_URL.value():  # the harness's server: events go where the thread's would
        env["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
    return env


class WebApp:
    """The real approval app on a free loopback port.

    With one worker it runs on uvicorn in a thread of this process; with more it runs as a
    deployment does (`pumpurs web --workers N`): `uvicorn --workers N`, processes of its own.
    """

    def __init__(self, workers: int = 1) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, settings: Any) -> None:
        """Serve the app for these settings."""
        if self.workers > 1:
            self._start_processes(settings)
            return
        from pumpurs.app.web.app import create_app

        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port,
                                log_level="warning", access_log=False)  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        while not self._server.started:
            time.sleep(0.05)

    def _start_processes(self, settings: Any) -> None:
        command = [sys.executable, "-m", "uvicorn", "pumpurs.app.web.app:create_app", "--factory",
                   "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers),
                   "--log-level", "warning", "--no-access-log"]  # fmt: skip
        self._process = subprocess.Popen(command, env=_environment(settings))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the app exited with {self._process.returncode}")
            try:
                # Every worker must be up: ask more times than there are workers.
                if all(httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
                       for _ in range(self.workers * 4)):  # fmt: skip
                    time.sleep(1.0)  # the last workers finish importing
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the app did not start in 60 s")

    def __enter__(self) -> WebApp:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def _links(settings: Any, limit: int) -> list[str]:
    from pumpurs.approvals.tokens import approval_url, live_nonces
    from pumpurs.store.context import context
    from pumpurs.store.models import ApprovalStep, StepStatus

    with context().sessions() as session:
        steps = session.scalars(
            select(ApprovalStep.id).where(ApprovalStep.status == StepStatus.PENDING)
            .order_by(ApprovalStep.id).limit(limit)
        ).all()  # fmt: skip
        nonces = live_nonces(session, steps)
    return [approval_url(settings, nonce) for nonce in nonces.values()]


async def _decide_all(links: list[str], clients: int) -> list[float]:
    latencies: list[float] = []
    queue: asyncio.Queue[str] = asyncio.Queue()
    for link in links:
        queue.put_nowait(link)
    # Idle connections are dropped before uvicorn's keep-alive timeout (5 s) closes them: with
    # httpx's default expiry, also 5 s, a request sent on one the server is closing fails.
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients,
                          keepalive_expiry=2.0)  # fmt: skip
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            while not queue.empty():
                link = queue.get_nowait()
                page = await client.get(link)
                token = CSRF.search(page.text)
                assert token, page.status_code
                started = time.perf_counter()
                answer = await client.post(link, data={"csrf": token.group(1), "action": "approve"})
                latencies.append(time.perf_counter() - started)
                assert answer.status_code == 200, answer.status_code

        await asyncio.gather(*(worker() for _ in range(clients)))
    return latencies


def _decide_in_process(links: list[str], clients: int) -> list[float]:
    return asyncio.run(_decide_all(links, clients))


def decide_over_http(settings: Any, url: str, count: int, clients: int, into: Phase) -> Sample:
    """Approve `count` plans through the app's pages with `clients` concurrent clients.

    Each client opens the link (GET, as a person does) and posts the decision; the POSTs are
    what is timed. The clients run in a process of their own, so they do not take the server's
    interpreter lock. Afterwards the decisions are counted in the database: each exactly once.
    """
    from pumpurs.store.context import context
    from pumpurs.store.models import Decision

    links = _links(settings, count)
    latencies: list[float] = []
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(int).result()  # start the process before the clock does
        sample = timed(
            lambda: latencies.extend(pool.submit(_decide_in_process, links, clients).result())
        )
    with context().sessions() as session:
        stored = session.scalar(select(func.count()).select_from(Decision)) or 0
    p99 = quantiles(latencies, n=100)[98] if len(latencies) >= 100 else max(latencies)
    into.rows = len(links)
    runs = into.extra.setdefault("per_run", [])
    runs.append({"decisions_per_s": round(len(links) / sample.seconds),
                 "p99_ms": round(p99 * 1000, 1), "p50_ms": round(median(latencies) * 1000, 1),
                 "stored": stored})  # fmt: skip
    into.extra |= {
        "decisions_per_s": round(median(r["decisions_per_s"] for r in runs)),
        "p99_ms": round(median(r["p99_ms"] for r in runs), 1),
        "p50_ms": round(median(r["p50_ms"] for r in runs), 1),
        "stored": stored, "clients": clients,
    }  # fmt: skip
    assert stored == len(links), f"{stored} decisions stored for {len(links)} POSTs"
    return sample


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
        settings = Settings(_env_file=None, var_dir=work, database_url=url,
                            smtp_port=sink.port)  # fmt: skip
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
        add("open ≤ 5 s (600 invitations with workbooks)", f"{opening.seconds:.1f} s",
            opening.seconds <= 5)  # fmt: skip
    evaluate = phases["evaluate"]
    if evaluate.samples and collect.samples and evaluate.rows and collect.rows:
        per_row = 1e6 * evaluate.seconds / evaluate.rows
        collect_per_row = 1e6 * collect.seconds / collect.rows
        add("evaluate no slower per row than collect",
            f"{per_row:.0f} µs a row against collect's {collect_per_row:.0f} µs",
            per_row <= collect_per_row)  # fmt: skip
    whole = phases.get(CYCLE)
    if whole and whole.samples:
        add("the national cycle (open, collect, route, evaluate, summaries) ≤ 40 s",
            f"{whole.seconds:.1f} s", whole.seconds <= 40)  # fmt: skip
    route = phases["route (digests)"]
    if route.samples:
        add("route with digests for 25,000 plans ≤ 10 s", f"{route.seconds:.1f} s",
            route.seconds <= 10)  # fmt: skip
    decisions = phases["decisions (HTTP)"]
    if decisions.samples:
        rate, p99 = decisions.extra["decisions_per_s"], decisions.extra["p99_ms"]
        add("approval app ≥ 500 decisions/s, 50 clients, p99 ≤ 100 ms",
            f"{rate}/s, p99 {p99} ms, {decisions.extra['stored']} stored",
            rate >= 500 and p99 <= 100)  # fmt: skip
    summaries = phases["summaries"]
    if summaries.samples:
        add(f"summaries ≤ 10 s ({summaries.rows} emails)", f"{summaries.seconds:.1f} s",
            summaries.seconds <= 10)  # fmt: skip
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
        add("task runs do not grow with rows", f"{collect.task_runs} vs {ten.task_runs}",
            collect.task_runs == ten.task_runs)  # fmt: skip
    checks = phases.get("validate 75,000 plan rows")
    if checks and checks.samples:
        add("validate 75,000 plan rows < 2 s", f"{checks.seconds:.2f} s", checks.seconds < 2)
    writers = phases.get("SQLite writers (20 threads × 10)")
    if writers and writers.samples:
        add("20 SQLite writers × 10 writes < 10 s (no 100 ms busy sleeps)",
            f"{writers.seconds:.2f} s", writers.seconds < 10)  # fmt: skip
    handover = phases.get("SQLite lock handover")
    if handover and handover.samples:
        add("a writer waiting on another process's 0.1 s lock has it < 1 s after asking",
            f"{handover.seconds:.3f} s, {handover.extra['after_release_ms']} ms after release",
            handover.seconds < 1)  # fmt: skip
    cli = phases.get(CLI)
    if cli and cli.extra:
        figures = cli.extra
        runs = ", ".join(f"{r['seconds']} s ({r['cpu_seconds']} s CPU)"
                         for r in figures["idle_route_runs"])  # fmt: skip
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
