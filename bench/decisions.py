"""Decisions under HTTP load, beside the ceiling of the stack they run on.

Load comes from Debian's `wrk` (a compiled generator: the cores are left to the server) with
`bench/decisions.lua`: one connection per wrk thread, each over its own distinct approval links
of one routed semester. Per run, on a fresh copy of that semester:

1. the plan page alone: GET of the links, over and over (each view is recorded in the access
   audit, as in production);
2. decisions: per link a GET of the page, the CSRF token read from its body, a POST approving
   the plan (each decision emits its Prefect event, the harness's server receiving it); then
   the same on the other half of the links with no Prefect API (no events: what they cost);
   afterwards the database is counted: every answered decision stored exactly once;
3. the ceiling: a trivial FastAPI app (`bench/trivial.py`, a 2.7 kB page and a form endpoint)
   under the same wrk settings and the same uvicorn options, GET alone, then GET + POST pairs.

Both apps run as `python -m uvicorn … --factory` with `SERVER_OPTIONS` (one worker), in a
process of their own. On PostgreSQL (a throw-away database beside the given URL, dropped after)
steps 1 and 2 run again; the ceiling does not touch a database and is measured once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from statistics import median
from typing import Any

import httpx
from sqlalchemy import func, select

from bench import load
from bench.measure import Phase, Sample

HERE = Path(__file__).resolve().parent
LUA = HERE / "decisions.lua"
SEMESTER = "2026/2027-1"
SQLITE, POSTGRES = "decisions (wrk, SQLite)", "decisions (wrk, PostgreSQL)"
NAMES = [SQLITE, POSTGRES]
# The same for the app and the ceiling; what `pumpurs web` runs with.
SERVER_OPTIONS = [
    "--workers",
    "1",
    "--log-level",
    "warning",
    "--no-access-log",
    "--no-proxy-headers",
]
WARM_UP_SECONDS = 2
TRIVIAL_LINKS = 400_000  # the ceiling makes a few thousand pairs a second: enough for 60 s


class Server:
    """An ASGI app factory served by uvicorn in a process of its own on a free loopback port."""

    def __init__(self, factory: str, env: dict[str, str] | None = None) -> None:
        self.port = load._free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            factory,
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *SERVER_OPTIONS,
        ]
        self.process = subprocess.Popen(command, env=env or dict(os.environ))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{factory} exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{factory} did not start in 60 s")

    def peak_rss(self) -> int:
        """Return the server process's peak resident memory so far (Linux)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self) -> None:
        """Stop the server and wait for it."""
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wrk(url: str, links: Path, mode: str, connections: int, seconds: float) -> dict[str, Any]:
    """Run wrk with the Lua script (`mode` get or decide); return what its done() printed."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is missing: run `scripts/setup.sh --bench` (make bench does)")
    command = [
        "wrk",
        "-t",
        str(connections),
        "-c",
        str(connections),
        "-d",
        f"{seconds:g}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        url,
        "--",
        str(links),
        mode,
        str(connections),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    line = next(x for x in reversed(done.stdout.splitlines()) if x.startswith("{"))
    result: dict[str, Any] = json.loads(line)
    if result["exhausted_threads"]:
        raise RuntimeError(f"wrk ran out of links ({result}); give fewer seconds")
    return result


def _figures(result: dict[str, Any]) -> dict[str, float]:
    seconds = result["duration_us"] / 1e6
    return {
        "requests_per_s": round(result["requests"] / seconds),
        "p50_ms": round(result["latency_us"]["p50"] / 1000, 1),
        "p99_ms": round(result["latency_us"]["p99"] / 1000, 1),
        "pairs_per_s": round(result["posts_ok"] / seconds),
    }


def link_files(settings: Any, folder: Path) -> tuple[Path, Path, int]:
    """Write the paths of every live approval link, and the trivial app's.

    `links.txt` has the first half, `links-quiet.txt` the second (for the run without events).
    """
    base = settings.base_url.rstrip("/")
    paths = [url.removeprefix(base) for url in load._links(settings, 10**9)]
    half = len(paths) // 2
    app = folder / "links.txt"
    app.write_text("".join(path + "\n" for path in paths[:half]))
    (folder / "links-quiet.txt").write_text("".join(path + "\n" for path in paths[half:]))
    trivial = folder / "trivial-links.txt"
    trivial.write_text("".join(f"/t/{n}\n" for n in range(TRIVIAL_LINKS)))
    return app, trivial, len(paths)


def _stored() -> dict[str, int]:
    from pumpurs.store.context import context
    from pumpurs.store.models import Decision

    with context().sessions() as session:
        total, steps = session.execute(
            select(func.count(), func.count(func.distinct(Decision.step_id)))
        ).one()
    return {"stored": int(total), "stored_steps": int(steps)}


def app_run(
    settings: Any, folder: Path, connections: int, seconds: float, into: Phase
) -> dict[str, Any]:
    """Serve the app on the settings' database; GET alone, then decisions; count them."""
    from pumpurs.store import db

    links, _, count = link_files(settings, folder)
    env = load._environment(settings)
    with Server("pumpurs.app.web.app:create_app", env) as server:
        wrk(server.url, links, "get", connections, WARM_UP_SECONDS)
        page = wrk(server.url, links, "get", connections, seconds)
        decide = wrk(server.url, links, "decide", connections, seconds)
        peak = server.peak_rss()
    # The same without a Prefect API: no event per decision (what the events cost).
    quiet_env = {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
    with Server("pumpurs.app.web.app:create_app", quiet_env) as server:
        wrk(server.url, folder / "links-quiet.txt", "get", connections, WARM_UP_SECONDS)
        quiet = wrk(server.url, folder / "links-quiet.txt", "decide", connections, seconds)
    db.engine_for(settings.effective_database_url).dispose()
    stored = _stored()
    get, pairs, without = _figures(page), _figures(decide), _figures(quiet)
    run = {
        "links": count,
        "page_get_per_s": get["requests_per_s"],
        "page_get_p99_ms": get["p99_ms"],
        "page_get_p50_ms": get["p50_ms"],
        "requests_per_s": pairs["requests_per_s"],
        "decisions_per_s": pairs["pairs_per_s"],
        "p99_ms": pairs["p99_ms"],
        "p50_ms": pairs["p50_ms"],
        "decisions_per_s_without_events": without["pairs_per_s"],
        "p99_ms_without_events": without["p99_ms"],
        "answered_with_events": decide["posts_ok"],
        "answered": decide["posts_ok"] + quiet["posts_ok"],
        "sent": decide["posts"] + quiet["posts"],
        "pages_without_token": decide["no_token"] + quiet["no_token"],
        "errors": decide["errors"],
        **stored,
    }
    into.samples.append(Sample(decide["duration_us"] / 1e6, peak))
    return run


def trivial_run(folder: Path, connections: int, seconds: float) -> dict[str, Any]:
    """The ceiling: the trivial app, GET alone, then GET + POST pairs."""
    links = folder / "trivial-links.txt"  # written by link_files beside the app's
    with Server("bench.trivial:create_app") as server:
        wrk(server.url, links, "get", connections, WARM_UP_SECONDS)
        page = wrk(server.url, links, "get", connections, seconds)
        decide = wrk(server.url, links, "decide", connections, seconds)
    get, pairs = _figures(page), _figures(decide)
    return {
        "trivial_get_per_s": get["requests_per_s"],
        "trivial_get_p99_ms": get["p99_ms"],
        "trivial_requests_per_s": pairs["requests_per_s"],
        "trivial_pairs_per_s": pairs["pairs_per_s"],
        "trivial_p99_ms": pairs["p99_ms"],
    }


def record(phase: Phase, run: dict[str, Any]) -> None:
    """Add one run's figures to the phase; its figures are the medians over the runs."""
    runs = phase.extra.setdefault("per_run", [])
    runs.append(run)
    for key, value in run.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            phase.extra[key] = round(median(r[key] for r in runs if key in r), 1)
    phase.extra["stored_once"] = all(_once(r) for r in runs)
    phase.rows = int(phase.extra["answered_with_events"])


def _once(run: dict[str, Any]) -> bool:
    """Every answered decision stored, none twice (a POST wrk stopped waiting for may be too)."""
    return bool(
        run["stored"] == run["stored_steps"] and run["answered"] <= run["stored"] <= run["sent"]
    )


def benchmark(
    data: Path,
    work: Path,
    phases: dict[str, Phase],
    *,
    runs: int,
    connections: int,
    seconds: float,
    postgres: str | None,
    prepared: Path | None = None,
    save_prepared: Path | None = None,
) -> None:
    """Route one semester, then measure `runs` times on fresh copies; PostgreSQL if given."""
    from bench.run import _pg_database, _settings
    from pumpurs.mail.sink import SmtpSink
    from pumpurs.store import db
    from pumpurs.store.context import load_context, use_settings

    routed = work / "decisions-routed.db"
    if prepared is not None:
        shutil.copy(prepared / "routed.db", routed)
    else:
        _route(data, work, _settings(data, routed, 1, "http://127.0.0.1:1"), "decisions")
    if save_prepared is not None:
        save_prepared.mkdir(parents=True, exist_ok=True)
        shutil.copy(routed, save_prepared / "routed.db")
        shutil.copytree(data / "config", save_prepared / "config", dirs_exist_ok=True)
    for run in range(runs):
        folder = work / f"decisions-{run}"
        folder.mkdir()
        shutil.copy(routed, folder / "pumpurs.db")
        with SmtpSink() as sink:
            settings = _settings(data, folder / "pumpurs.db", sink.port, "http://127.0.0.1:1")
            with use_settings(settings):
                load_context(settings)
                figures = app_run(settings, folder, connections, seconds, phases[SQLITE])
        figures |= trivial_run(folder, connections, seconds)
        record(phases[SQLITE], figures)
        print(f"decisions, SQLite, run {run + 1}: {figures}", flush=True)
    if postgres is None or not _reachable(postgres):
        print(f"decisions on PostgreSQL skipped: no server at {postgres}", flush=True)
        return
    trivial = {k: v for k, v in phases[SQLITE].extra.items() if k.startswith("trivial_")}
    url = _pg_database(postgres, "routed")
    _route(data, work, _settings(data, routed, 1, "http://127.0.0.1:1"), "decisions-pg", url)
    db.engine_for(url).dispose()  # a template has no users
    try:
        for run in range(runs):
            folder = work / f"decisions-pg-{run}"
            folder.mkdir()
            copy = _pg_database(postgres, f"run{run}", template="routed")
            with SmtpSink() as sink:
                settings = _settings(data, folder / "unused.db", sink.port, "http://127.0.0.1:1")
                settings = settings.model_copy(update={"database_url": copy})
                with use_settings(settings):
                    load_context(settings)
                    figures = app_run(settings, folder, connections, seconds, phases[POSTGRES])
            db.engine_for(copy).dispose()
            _pg_database(postgres, f"run{run}", drop=True)
            record(phases[POSTGRES], figures)
            print(f"decisions, PostgreSQL, run {run + 1}: {figures}", flush=True)
        phases[POSTGRES].extra |= trivial  # the ceiling beside, measured in the SQLite runs
    finally:
        _pg_database(postgres, "routed", drop=True)


def _reachable(url: str) -> bool:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    engine = create_engine(make_url(url).set(database="postgres"))
    try:
        with engine.connect():
            return True
    except Exception:
        return False
    finally:
        engine.dispose()


def _route(data: Path, work: Path, settings: Any, name: str, url: str | None = None) -> None:
    """Open, collect and route the semester into the settings' database (or `url`)."""
    from flows.collect_plans import collect_plans
    from flows.open_semester import open_semester
    from flows.route_approvals import route_approvals
    from pumpurs.mail.sink import SmtpSink
    from pumpurs.store.context import load_context, use_settings

    inbox = work / f"{name}-inbox"
    shutil.copytree(data / "inbox", inbox)  # collect masks personal codes in place
    with SmtpSink() as sink:
        update: dict[str, Any] = {"inbox_dir": inbox, "smtp_port": sink.port}
        if url is not None:
            update["database_url"] = url
        settings = settings.model_copy(update=update)
        with use_settings(settings):
            load_context(settings)
            for flow in (open_semester, collect_plans, route_approvals):
                flow(SEMESTER)
    shutil.rmtree(inbox, ignore_errors=True)


def judge(phases: dict[str, Phase]) -> list[dict[str, Any]]:
    """The decisions' targets: measured value and met or missed, the ceiling beside."""
    out: list[dict[str, Any]] = []

    def add(target: str, measured: str, met: bool) -> None:
        out.append({"target": target, "measured": measured, "met": bool(met)})

    for name, database in ((SQLITE, "SQLite"), (POSTGRES, "PostgreSQL")):
        phase = phases.get(name)
        if phase is None or not phase.samples:
            continue
        x = phase.extra
        share = x["page_get_per_s"] / x["trivial_get_per_s"]
        page = f"{x['page_get_per_s']:.0f}/s, p99 {x['page_get_p99_ms']} ms"
        trivial = f"{x['trivial_get_per_s']:.0f}/s, p99 {x['trivial_get_p99_ms']} ms"
        add(
            f"plan page GET ≥ 50 % of the trivial GET's rate ({database})",
            f"{page} = {share:.0%} of the trivial {trivial}",
            share >= 0.5,
        )
        rate, p99 = x["decisions_per_s"], x["p99_ms"]
        quiet = f"{x['decisions_per_s_without_events']:.0f}/s, p99 {x['p99_ms_without_events']} ms"
        pairs = f"{x['trivial_pairs_per_s']:.0f}/s, p99 {x['trivial_p99_ms']} ms"
        add(
            f"≥ 500 decisions/s (GET + POST), p99 ≤ 100 ms, one worker ({database})",
            f"{rate:.0f}/s, p99 {p99} ms (without Prefect events {quiet}); trivial pairs {pairs}",
            rate >= 500 and p99 <= 100,
        )
        add(
            f"every decision stored exactly once ({database})",
            f"{x['stored']:.0f} stored, {x['answered']:.0f} answered, {x['sent']:.0f} sent "
            "(medians)",
            x["stored_once"],
        )
    return out
