"""The README's "Beyond one machine", end to end on one machine: a Prefect server on PostgreSQL
behind basic auth, the process work pool, `prefect deploy --all`, two workers, the application
database on PostgreSQL, and collect triggered twice at once through its deployment."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from pumpurs.mail.sink import SmtpSink
from pumpurs.store.models import Plan, Submission

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("PUMPURS_TEST_DATABASE_URL")
USER, PASSWORD = "pumpurs", "smoke-test-only"
AUTH_STRING = f"{USER}:{PASSWORD}"
POOL = "pumpurs-process"  # the work pool prefect.yaml names
SEMESTER = "2026/2027-1"
SMTP_SECRET = "pumpurs-smtp-password"  # the Secret block the workers resolve at run time
SAVE_SECRET = (
    "import sys; from prefect.blocks.system import Secret; "
    "Secret(value=sys.stdin.read().strip()).save(sys.argv[1], overwrite=True)"
)


@dataclass
class Started:
    """The processes this test started, each in its own process group and with its own log."""

    logs: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, command: list[str], env: dict[str, str], cwd: Path) -> None:
        """Start a long-running process whose output goes to `<logs>/<name>.log`."""
        cwd.mkdir(parents=True, exist_ok=True)
        with (self.logs / f"{name}.log").open("wb") as log:
            self.processes[name] = subprocess.Popen(
                command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def check_alive(self, name: str) -> None:
        """Fail with the end of the process's log if it has ended."""
        process = self.processes[name]
        if process.poll() is not None:
            pytest.fail(f"{name} ended with code {process.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, lines: int = 60) -> str:
        """Return the last lines of a process's log."""
        text = (self.logs / f"{name}.log").read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def tails(self) -> str:
        """Return the end of every log, to explain a failure."""
        return "\n".join(f"--- {name}\n{self.tail(name)}" for name in self.processes)

    def wait(self, name: str, timeout: float) -> str:
        """Wait for a process to end; fail with every log unless it exits 0; return its log."""
        process = self.processes[name]
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{name} did not end within {timeout:.0f} s:\n{self.tails()}")
        log = (self.logs / f"{name}.log").read_text(encoding="utf-8", errors="replace")
        assert process.returncode == 0, f"{name}: {log}\n{self.tails()}"
        return log

    def stop_all(self) -> None:
        """Stop every process group still running, newest first."""
        for process in reversed(self.processes.values()):
            _stop_group(process)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop a process group: SIGTERM, then SIGKILL after 20 s; leave one that ended alone."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _free_port() -> int:
    """Return a loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _clean_env(home: Path, **extra: str) -> dict[str, str]:
    """Return this environment without PREFECT_/PUMPURS_ settings, with its own PREFECT_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PUMPURS_"))}
    return env | {"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"} | extra


def _run(args: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    """Run a command from the repository root; fail with its output unless it exits 0."""
    done = subprocess.run(args, cwd=REPO, env=env, input=stdin, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _prefect(*args: str) -> list[str]:
    """Return the `prefect …` command line of this virtualenv."""
    return [sys.executable, "-m", "prefect", *args]


def _pumpurs(*args: str) -> list[str]:
    """Return the `pumpurs …` command line of this virtualenv."""
    return [sys.executable, "-m", "pumpurs.app.cli", *args]


# --- fixtures: PostgreSQL databases, the started processes, the generated semester -------------


@pytest.fixture
def postgres() -> URL:
    """Return the admin URL of the PostgreSQL server behind PUMPURS_TEST_DATABASE_URL."""
    if not PG_URL:
        pytest.skip("needs PostgreSQL: set PUMPURS_TEST_DATABASE_URL (.ci/run does)")
    admin = make_url(PG_URL).set(database="postgres")
    engine = sa.create_engine(admin)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).splitlines()[0]
        pytest.skip(f"needs PostgreSQL: {admin.host}:{admin.port} does not answer ({reason})")
    finally:
        engine.dispose()
    return admin


@pytest.fixture
def make_database(postgres: URL) -> Iterator[Callable[[str], URL]]:
    """Create uniquely named databases on demand; drop them all at the end, whatever happened."""
    engine = sa.create_engine(postgres, isolation_level="AUTOCOMMIT")
    created: list[str] = []

    def create(purpose: str) -> URL:
        name = f"pumpurs_mm_{purpose}_{uuid.uuid4().hex[:8]}"
        with engine.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return postgres.set(database=name)

    yield create
    with engine.connect() as connection:
        for name in created:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture
def started(tmp_path: Path) -> Iterator[Started]:
    """Track the processes the test starts and stop them all at the end, even on failure."""
    processes = Started(logs=tmp_path)
    try:
        yield processes
    finally:
        processes.stop_all()


@pytest.fixture
def semester_data(tmp_path: Path) -> Path:
    """Generate a small semester (config, inbox, manifest) with the CLI an operator would use."""
    out = tmp_path / "data"
    env = _clean_env(tmp_path / "prefect-cli")
    _run(_pumpurs("generate", "--scale", "small", "--seed", "1", "--out", str(out)), env)
    return out


@pytest.fixture
def prefect_api(make_database: Callable[[str], URL], started: Started, tmp_path: Path) -> str:
    """Start the Prefect server on its own PostgreSQL database behind basic auth; return its API."""
    return _start_server(started, make_database("prefect"), tmp_path / "server")


@pytest.fixture
def client(prefect_api: str) -> Iterator[httpx.Client]:
    """Return an API client that sends the auth string, as the UI does after its login."""
    with httpx.Client(base_url=prefect_api, auth=(USER, PASSWORD), timeout=10) as api_client:
        yield api_client


# --- steps the README describes ----------------------------------------------------------------


def _start_server(started: Started, database: URL, home: Path) -> str:
    """Start `prefect server start` on PostgreSQL with basic auth; return its API URL."""
    port = _free_port()
    asyncpg_url = database.set(drivername="postgresql+asyncpg")
    env = _clean_env(
        home,
        PREFECT_SERVER_DATABASE_CONNECTION_URL=asyncpg_url.render_as_string(hide_password=False),
        PREFECT_SERVER_API_AUTH_STRING=AUTH_STRING,
        # Test speed and isolation only: no cron run may land in the middle of the test, and
        # a run that finds its deployment's slot taken is retried after 2 s instead of 30 s.
        PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false",
        PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS="2",
    )
    command = _prefect("server", "start", "--host", "127.0.0.1", "--port", str(port))
    started.start("server", command, env, cwd=home)
    api = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        started.check_alive("server")
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return api
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"the Prefect server did not answer within 90 s:\n{started.tail('server')}")


def _pool_template(env: dict[str, str], path: Path) -> Path:
    """Write the process pool's default job template; flow runs get the password from a block."""
    _run(_prefect("work-pool", "get-default-base-job-template", "--type", "process",
                  "--file", str(path)), env)  # fmt: skip
    template = json.loads(path.read_text(encoding="utf-8"))
    secret = "{{ prefect.blocks.secret." + SMTP_SECRET + " }}"
    template["variables"]["properties"]["env"]["default"] = {"PUMPURS_SMTP_PASSWORD": secret}
    path.write_text(json.dumps(template, indent=2), encoding="utf-8")
    return path


def _worker_env(
    home: Path, api: str, app_database: URL, data: Path, smtp: SmtpSink
) -> dict[str, str]:
    """Return a worker machine's environment: where the API is, its password, PUMPURS_*."""
    return _clean_env(
        home,
        PREFECT_API_URL=api,
        PREFECT_API_AUTH_STRING=AUTH_STRING,
        PREFECT_WORKER_QUERY_SECONDS="1",  # test speed: poll every second instead of every 10
        PUMPURS_DATABASE_URL=app_database.render_as_string(hide_password=False),
        PUMPURS_CONFIG_DIR=str(data / "config"),
        PUMPURS_INBOX_DIR=str(data / "inbox"),
        PUMPURS_VAR_DIR=str(home / "var"),
        PUMPURS_SMTP_HOST=smtp.host,
        PUMPURS_SMTP_PORT=str(smtp.port),
        PUMPURS_BASE_URL="https://pumpurs.example.lv",
        PUMPURS_SECRET_KEY="smoke-test-signing-key",
    )


def _wait_for_workers(client: httpx.Client, started: Started, count: int) -> None:
    """Wait until `count` workers are online in the pool (each has sent a heartbeat)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for name in started.processes:
            started.check_alive(name)
        workers = client.post(f"/work_pools/{POOL}/workers/filter", json={}).json()
        if sum(w["status"] == "ONLINE" for w in workers) >= count:
            return
        time.sleep(0.5)
    pytest.fail(f"{count} workers did not come online within 60 s:\n{started.tails()}")


def _trigger(started: Started, label: str, deployment: str, env: dict[str, str]) -> None:
    """Start `prefect deployment run <deployment> --watch`: it exits 0 once the run Completed."""
    command = _prefect("deployment", "run", deployment, "--param", f"semester={SEMESTER}",
                       "--watch", "--watch-timeout", "120")  # fmt: skip
    started.start(label, command, env, cwd=REPO)


def _finish(started: Started, label: str) -> str:
    """Wait for a triggered run to complete; return the flow run id its trigger created."""
    output = started.wait(label, timeout=150)
    found = re.search(r"UUID: ([0-9a-f-]{36})", output)
    assert found, output
    return found.group(1)


def _flow_runs(client: httpx.Client, ids: list[str]) -> list[dict[str, Any]]:
    """Return these flow runs as the API shows them, in the order they started."""
    runs = [client.get(f"/flow_runs/{i}").json() for i in ids]
    return sorted(runs, key=lambda run: _time(run["start_time"]))


def _time(value: str) -> dt.datetime:
    """Parse one of the API's ISO 8601 timestamps."""
    return dt.datetime.fromisoformat(value)


def _state_names(client: httpx.Client, flow_run_id: str) -> list[str]:
    """Return the names of every state the flow run went through."""
    states = client.get("/flow_run_states/", params={"flow_run_id": flow_run_id}).json()
    return [s["name"] for s in states]


def _summary(client: httpx.Client, flow_run_id: str) -> dict[str, int]:
    """Return the counts table of the run's `collect-…-summary` artifact (the dashboard)."""
    body = {"artifacts": {"flow_run_id": {"any_": [flow_run_id]},
                          "key": {"any_": ["collect-2026-2027-1-summary"]}}}  # fmt: skip
    found = client.post("/artifacts/filter", json=body).json()
    assert len(found) == 1, found
    rows = re.findall(r"^\| (\w+) \| (\d+) \|$", found[0]["data"], flags=re.MULTILINE)
    return {key: int(value) for key, value in rows}


def _app_counts(database: URL) -> tuple[int, int]:
    """Return (plans, plan files) stored in the application database."""
    engine = sa.create_engine(database)
    try:
        with engine.connect() as connection:
            plans = connection.scalar(sa.select(sa.func.count()).select_from(Plan))
            files = connection.scalar(
                sa.select(sa.func.count()).select_from(Submission).where(Submission.kind == "plans")
            )
    finally:
        engine.dispose()
    return int(plans or 0), int(files or 0)


# --- the smoke test ----------------------------------------------------------------------------


def test_two_workers_run_collect_once_through_the_deployment_behind_basic_auth(
    prefect_api: str,
    client: httpx.Client,
    make_database: Callable[[str], URL],
    started: Started,
    semester_data: Path,
    smtp: SmtpSink,
    tmp_path: Path,
) -> None:
    manifest = json.loads((semester_data / "manifest.json").read_text(encoding="utf-8"))
    plan_files = [f for f in manifest["files"] if f["kind"] == "plans"]
    schools_with_files = {f["school_code"] for f in plan_files}

    api = prefect_api  # 1. the Prefect server on PostgreSQL behind basic auth: a fixture

    # 2. From an operator's machine: the SMTP password in a Secret block, the work pool (its
    # flow runs get the password from the block), and every deployment of prefect.yaml.
    operator = _clean_env(tmp_path / "operator", PREFECT_API_URL=api,
                          PREFECT_API_AUTH_STRING=AUTH_STRING)  # fmt: skip
    _run([sys.executable, "-c", SAVE_SECRET, SMTP_SECRET], operator, stdin="unused-by-the-sink")
    template = _pool_template(operator, tmp_path / "process-pool.json")
    _run(_prefect("work-pool", "create", POOL, "--type", "process",
                  "--base-job-template", str(template)), operator)  # fmt: skip
    _run(_prefect("--no-prompt", "deploy", "--all"), operator)
    deployment = client.get("/deployments/name/collect-plans/collect-plans").json()
    # No pull step in prefect.yaml: deploy records its own directory as the working directory.
    assert deployment["pull_steps"] == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}
    ]
    assert deployment["global_concurrency_limit"]["limit"] == 1
    assert deployment["concurrency_options"]["collision_strategy"] == "ENQUEUE"

    # 3. The application database on PostgreSQL, migrated once before any worker runs a flow.
    app_database = make_database("app")
    envs = [_worker_env(tmp_path / f"worker-{n}", api, app_database, semester_data, smtp)
            for n in (1, 2)]  # fmt: skip
    _run(_pumpurs("db", "upgrade"), envs[0])

    # 4. Two workers, as if on two other machines: neither runs from the repository.
    for n, env in enumerate(envs, start=1):
        command = _prefect("worker", "start", "--pool", POOL, "--name", f"worker-{n}")
        started.start(f"worker-{n}", command, env, cwd=tmp_path / f"worker-{n}")
    _wait_for_workers(client, started, 2)

    # 5. Open the semester, then trigger collect twice at once.
    _trigger(started, "open", "open-semester/open-semester", operator)
    opened = _finish(started, "open")
    invitations = [r.recipients[0] for r in smtp.received]
    assert len(invitations) == len(set(invitations)) > 0
    before = len(smtp.received)
    for label in ("collect-1", "collect-2"):
        _trigger(started, label, "collect-plans/collect-plans", operator)
    run_ids = [_finish(started, label) for label in ("collect-1", "collect-2")]

    # 6. Both Completed, each ran once, one after the other: the deployment's limit held them
    # apart.
    runs = _flow_runs(client, [opened, *run_ids])
    assert [r["state_type"] for r in runs] == ["COMPLETED"] * 3
    assert [r["run_count"] for r in runs] == [1, 1, 1]
    # No other run appeared, but the live view's: the end of a phase run triggers semester-status
    # (debounced: a run a minute after the first end, and no other within that minute), with
    # the semester of the run that ended.
    status = next(d["id"] for d in client.post("/deployments/filter", json={}).json()
                  if d["name"] == "semester-status")  # fmt: skip
    every = client.post("/flow_runs/filter", json={}).json()
    assert len([r for r in every if r["deployment_id"] != status]) == 3
    deadline = time.monotonic() + 30
    while not (live := [r for r in every if r["deployment_id"] == status]):
        assert time.monotonic() < deadline, "the phase runs' ends triggered no semester-status run"
        time.sleep(0.5)
        every = client.post("/flow_runs/filter", json={}).json()
    assert {json.dumps(r["parameters"]) for r in live} == {json.dumps({"semester": SEMESTER})}
    first, second = runs[1:]
    assert _time(first["end_time"]) <= _time(second["start_time"])
    assert "AwaitingConcurrencySlot" in _state_names(client, second["id"])

    # The first run stored the whole semester and mailed each school once; the second nothing.
    once, again = _summary(client, first["id"]), _summary(client, second["id"])
    assert (once["files"], once["plans_new"]) == (len(plan_files), manifest["valid"]["plans"])
    assert once["reports_queued"] == once["mail_sent"] == len(schools_with_files)
    assert [again[k] for k in ("files", "rows_read", "plans_new", "plans_revised")] == [0] * 4
    assert (again["reports_queued"], again["mail_sent"]) == (0, 0)
    assert _app_counts(app_database) == (manifest["valid"]["plans"], len(plan_files))
    reports = Counter(r.recipients[0] for r in smtp.received[before:])
    assert len(reports) == len(schools_with_files) and set(reports.values()) == {1}
    assert set(reports) <= set(invitations)

    # Back to 1: nobody in without the auth string; only the health probes answer without it.
    assert httpx.post(f"{api}/flow_runs/filter", json={}).status_code == 401
    assert httpx.post(f"{api}/flow_runs/filter", json={}, auth=(USER, "wrong")).status_code == 401
    assert httpx.get(f"{api}/deployments/{deployment['id']}").status_code == 401
    assert httpx.get(f"{api}/health").status_code == 200
