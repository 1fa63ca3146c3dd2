"""The command line's own cost (issue 20, item 7), measured through the real `pumpurs` command.

- With a Prefect server running, a command that finds nothing to do (`pumpurs route` on a
  routed semester) should return within 3 s: the median of a few runs, with each run's CPU
  time beside it (on a busy machine the wall time also holds the waits for a core).
- Without a server, the first command on a fresh machine (an empty PREFECT_HOME, so Prefect's
  temporary server creates its database first) must not fail: its time and outcome.

`python -m bench.cli [--runs N]` prints the figures and writes `bench/results/cli-latest.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from statistics import median
from typing import Any

from pumpurs.generate import generate
from pumpurs.mail.sink import SmtpSink
from pumpurs.semester import SemesterCode

ROOT = Path(__file__).resolve().parents[1]
SEMESTER = SemesterCode.parse("2026/2027-1")
TARGET_SECONDS = 3.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _pumpurs(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Run one command; return its wall seconds, CPU seconds and exit code."""
    cpu, started = _children_cpu(), time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pumpurs.app.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
    return seconds, _children_cpu() - cpu, done.returncode


def _wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


def measure(runs: int = 5) -> dict[str, Any]:
    """Return the CLI's figures: the idle command with a server, the first one without."""
    work = Path(tempfile.mkdtemp(prefix="pumpurs-bench-cli-"))
    generate("small", 1, work / "data", SEMESTER)
    port = _free_port()
    with SmtpSink() as sink:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PUMPURS_"))}
        env.update(
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PUMPURS_CONFIG_DIR=str(work / "data" / "config"),
            PUMPURS_INBOX_DIR=str(work / "data" / "inbox"),
            PUMPURS_SMTP_HOST=sink.host,
            PUMPURS_SMTP_PORT=str(sink.port),
        )
        first = env | {
            "PUMPURS_VAR_DIR": str(work / "first"),
            "PREFECT_HOME": str(work / "empty"),
            "PREFECT_SERVER_API_PORT": str(_free_port()),
        }
        first_seconds, first_cpu, first_code = _pumpurs(["open-semester", SEMESTER.code], first)
        server_env = env | {"PREFECT_HOME": str(work / "server")}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prefect",
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=server_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for(f"http://127.0.0.1:{port}/api/health", 180)
            served = env | {
                "PUMPURS_VAR_DIR": str(work / "served"),
                "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
            }
            for command in ("open-semester", "collect", "route"):
                assert _pumpurs([command, SEMESTER.code], served)[2] == 0, command
            idle = [_pumpurs(["route", SEMESTER.code], served) for _ in range(runs)]
        finally:
            server.terminate()
            server.wait(timeout=30)
    seconds = median(s for s, _, _ in idle)
    return {
        "idle_route_seconds": round(seconds, 2),
        "idle_route_runs": [
            {"seconds": round(s, 2), "cpu_seconds": round(c, 2)} for s, c, _ in idle
        ],
        "idle_route_met": seconds <= TARGET_SECONDS and all(code == 0 for _, _, code in idle),
        "first_command_seconds": round(first_seconds, 2),
        "first_command_cpu_seconds": round(first_cpu, 2),
        "first_command_ok": first_code == 0,
        "load_average": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    figures = measure(parser.parse_args().runs)
    met = "met" if figures["idle_route_met"] else "missed"
    print(
        f"CLI, nothing to do, server running (≤ {TARGET_SECONDS:.0f} s): "
        f"{figures['idle_route_seconds']} s median, {met}"
    )
    for run in figures["idle_route_runs"]:
        print(f"    {run['seconds']} s wall, {run['cpu_seconds']} s CPU")
    ok = "passed" if figures["first_command_ok"] else "FAILED"
    first, cpu = figures["first_command_seconds"], figures["first_command_cpu_seconds"]
    print(f"CLI, first command, empty PREFECT_HOME, no server: {ok} in {first} s ({cpu} s CPU)")
    print(f"load average: {figures['load_average']}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "cli-latest.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
