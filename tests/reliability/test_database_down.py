"""The database unavailable when a flow starts: the command says so in one line, a Prefect run
retries the store step, and nothing is left half done."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect.settings import PREFECT_API_URL
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from flows import open_semester as open_semester_module
from flows.open_semester import open_semester
from pumpurs.mail.sink import SmtpSink
from pumpurs.settings import Settings
from pumpurs.store.context import load_context, use_settings
from pumpurs.store.models import MailStatus, OutboxMessage, Semester
from tasks.common import prepare, prepare_opening
from tests.conftest import PG_URL, REPO, task_runs
from tests.reliability.processes import Cli, cli_env
from tests.reliability.tally import Tally

pytestmark = [pytest.mark.reliability, pytest.mark.usefixtures("prefect_harness")]
SEMESTER = "2026/2027-1"
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/pumpurs"


@pytest.fixture
def refusing_database() -> Iterator[str]:
    """Create a PostgreSQL database that refuses every connection; return its URL."""
    if PG_URL is None:
        pytest.skip("needs PostgreSQL: set PUMPURS_TEST_DATABASE_URL (.ci/run does)")
    name = f"pumpurs_refusing_{os.getpid()}"
    admin = create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
        refuse(connection, name)
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def refuse(connection: Any, name: str) -> None:
    """Make the database refuse new connections and end the ones it has."""
    connection.execute(text(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
    connection.execute(
        text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
        {"name": name},
    )


def allow(url: str) -> None:
    """Let the database take connections again."""
    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
    admin.dispose()


def tables_of(url: str) -> list[str]:
    """Return the tables a PostgreSQL database has."""
    engine = create_engine(url)
    with engine.connect() as connection:
        names = connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).scalars()
        found = sorted(names)
    engine.dispose()
    return found


def test_the_command_fails_in_one_line_naming_the_database(
    tmp_path: Path, tally: Tally, request: pytest.FixtureRequest
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    urls = {
        "unreachable": UNREACHABLE,
        "no folder": f"sqlite:///{blocker / 'var' / 'pumpurs.db'}",
    }
    if PG_URL is not None:
        urls["refusing"] = request.getfixturevalue("refusing_database")
    runs = {}
    for name, url in urls.items():
        env = cli_env(str(PREFECT_API_URL.value()), var_dir=tmp_path / name / "var",
                      config_dir=REPO / "config", database_url=url, smtp_port=1)  # fmt: skip
        (tmp_path / name).mkdir()
        cli = Cli(env, tmp_path / name)
        runs[name] = (cli, cli.start("open-semester", SEMESTER))
        tally.fault()
    for name, (cli, process) in runs.items():
        assert process.wait(120) in (1, 2), name
        err = cli.stderr("open-semester", SEMESTER)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in err, f"{name}: {err}"
        assert lines[0].startswith("pumpurs: Datubāze nav pieejama ("), f"{name}: {err}"
        assert not list((tmp_path / name).rglob("*.db")), name
    if "refusing" in urls:
        allow(urls["refusing"])
        assert tables_of(urls["refusing"]) == []


def _settings(tmp_path: Path, url: str, smtp: SmtpSink | None = None) -> Settings:
    return Settings(
        _env_file=None,
        var_dir=tmp_path / "var",
        database_url=url,
        config_dir=REPO / "config",
        smtp_host=smtp.host if smtp else "127.0.0.1",
        smtp_port=smtp.port if smtp else 1,
        smtp_retry_delays=[0.05],
    )


def test_a_prefect_run_retries_the_store_step_then_fails_clearly(
    tmp_path: Path, tally: Tally, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The production policy (3 retries, only for a database or network that dropped), without
    # its waits: the test needs the retries, not the 22 seconds between them.
    assert (prepare.retries, prepare.retry_delay_seconds) == (3, [2, 5, 15])
    assert (prepare_opening.retries, prepare_opening.retry_delay_seconds) == (3, [2, 5, 15])
    monkeypatch.setattr(
        open_semester_module, "prepare_opening", prepare_opening.with_options(retry_delay_seconds=0)
    )
    with use_settings(_settings(tmp_path, UNREACHABLE)):
        state = open_semester(SEMESTER, return_state=True)
    tally.fault(4)
    assert state.is_failed()
    # In the run's language (Latvian by default), as the run's page in Prefect shows it.
    assert "Datubāze nav pieejama" in str(state.message), state.message
    assert task_runs(state.state_details.flow_run_id) == [("prepare-store", 4)]
    assert not (tmp_path / "var").exists() or not list((tmp_path / "var").rglob("*.db"))


@pytest.mark.postgres
def test_a_database_that_comes_back_between_retries_is_used_once(
    tmp_path: Path, tally: Tally, smtp: SmtpSink, refusing_database: str
) -> None:
    retried = threading.Event()

    class FirstRetry(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "Retry 1/3" in record.getMessage():
                retried.set()

    def reopen() -> None:
        if retried.wait(60):
            allow(refusing_database)

    watcher = FirstRetry()
    logging.getLogger("prefect.task_runs").addHandler(watcher)
    opener = threading.Thread(target=reopen)
    opener.start()
    local = _settings(tmp_path, refusing_database, smtp)
    try:
        with use_settings(local):
            state = open_semester(SEMESTER, return_state=True)  # production retry delays
    finally:
        logging.getLogger("prefect.task_runs").removeHandler(watcher)
        retried.set()
        opener.join(60)
    tally.fault()
    assert state.is_completed(), state.message
    assert dict(task_runs(state.state_details.flow_run_id))["prepare-store"] == 2
    ctx = load_context(local)
    with ctx.sessions() as session:
        semesters = session.scalar(select(func.count()).select_from(Semester))
        mail = session.execute(select(OutboxMessage.recipient, OutboxMessage.status)).all()
    invitees = [s.coordinator.email for s in ctx.config.schools]
    tally.reconcile(invitees, [r for received in smtp.received for r in received.recipients])
    assert semesters == 1 and {status for _, status in mail} == {MailStatus.SENT}
    assert sorted(recipient for recipient, _ in mail) == sorted(invitees)
    assert sorted(r.recipients[0] for r in smtp.received) == sorted(invitees)
