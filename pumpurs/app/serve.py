"""`pumpurs serve`: a local Prefect server, every deployment served with its schedules, and
the approval web app — one command for one machine, stopped cleanly by Ctrl-C or SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from types import FrameType
from typing import Any

from pumpurs.app.deployments import PREFECT_YAML, read_deployments
from pumpurs.app.runs import flow_at
from pumpurs.config import Config
from pumpurs.i18n.catalogue import texts

REPO = Path(__file__).resolve().parents[2]


def _wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process ended with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, env=env, cwd=REPO, start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def runner_deployments(config: Config, path: Path = PREFECT_YAML) -> list[Any]:
    """Return every deployment of prefect.yaml to serve: the cycle's with the calendar's
    schedules, each with its triggers."""
    from prefect.schedules import Cron

    deployments = []
    for spec in read_deployments(config, path):
        flow: Any = flow_at(spec.entrypoint)
        deployments.append(
            flow.to_deployment(
                name=spec.name,
                description=spec.description,
                tags=spec.tags,
                parameters=spec.parameters,
                concurrency_limit=spec.concurrency_limit,
                schedules=[
                    Cron(s.cron, timezone=s.timezone, day_or=s.day_or, slug=s.slug)
                    for s in spec.schedules
                ],
                triggers=triggers(spec.name, spec.triggers),
            )
        )
    return deployments


def triggers(deployment: str, specs: list[dict[str, Any]]) -> list[Any]:
    """Return a deployment's triggers from their prefect.yaml form, named as `prefect deploy`
    names the unnamed ones, so that serving creates the same automations as deploying."""
    from prefect.events import DeploymentTriggerTypes
    from pydantic import TypeAdapter

    adapter: TypeAdapter[Any] = TypeAdapter(DeploymentTriggerTypes)
    return [
        adapter.validate_python({"name": f"{deployment}__automation_{number}", **spec})
        for number, spec in enumerate(specs, start=1)
    ]


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve(
    config: Config,
    host: str = "127.0.0.1",
    prefect_port: int = 4200,
    web_port: int = 8080,
    language: str = "lv",
    settings_env: Mapping[str, str] | None = None,
    also: Mapping[str, str] | None = None,
) -> int:
    """Run everything until interrupted; return the exit code.

    `settings_env` (PUMPURS_* variables) reaches the web app and every flow run; `also` adds
    lines (label, what) to the addresses printed at the start.
    """
    t = texts(language)
    prefect_url = f"http://{host}:{prefect_port}"
    web_url = f"http://{host}:{web_port}"
    env = dict(
        os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_API_URL=f"{prefect_url}/api"
    )
    env.update(settings_env or {})
    env.setdefault("PREFECT_HOME", str(REPO / "var" / "prefect"))
    env.setdefault("PUMPURS_PREFECT_UI_URL", prefect_url)  # the escalations' live-view link
    os.environ.update(  # the flow runs, started from this process, inherit it
        {name: value for name, value in env.items() if name.startswith("PUMPURS_")},
        PREFECT_API_URL=env["PREFECT_API_URL"],
        PREFECT_HOME=env["PREFECT_HOME"],
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    with ExitStack() as stack:
        try:
            server = _start(
                [
                    sys.executable,
                    "-m",
                    "prefect",
                    "server",
                    "start",
                    "--host",
                    host,
                    "--port",
                    str(prefect_port),
                ],
                env,
            )
            stack.callback(_stop, server)
            web = _start(
                [
                    sys.executable,
                    "-m",
                    "pumpurs.app.cli",
                    "web",
                    "--host",
                    host,
                    "--port",
                    str(web_port),
                ],
                env,
            )
            stack.callback(_stop, web)
            # Import Prefect and build the deployments while the servers start: the seconds
            # this takes are not spent after the addresses are printed, when a stop is expected.
            from prefect import serve as prefect_serve

            deployments = runner_deployments(config)
            _wait_until_up(f"{prefect_url}/api/health", server, 120)
            _wait_until_up(f"{web_url}/healthz", web, 60)
            urls = {
                t.gettext("Prefect UI:"): prefect_url,
                t.gettext("Approval web app:"): web_url,
                **(also or {}),
            }
            width = max(len(label) for label in urls) + 2
            for label, url in urls.items():
                print(f"{label.ljust(width)}{url}", flush=True)
            prefect_serve(*deployments, print_starting_message=False)
        except KeyboardInterrupt:
            print(t.gettext("Stopping…"), flush=True)
        finally:
            signal.signal(signal.SIGTERM, previous)
    return 0
