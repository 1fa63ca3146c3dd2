"""Shared fixtures: real databases, a real SMTP server on loopback, Prefect's test harness."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pumpurs.mail.sink import SmtpSink
from pumpurs.settings import Settings
from pumpurs.store import db
from pumpurs.store.context import Context, load_context, use_settings

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("PUMPURS_TEST_DATABASE_URL")
DATABASES = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that runs on Prefect's test harness, directly or through a fixture.

    `make check` leaves these out (`-m "not prefect ..."`): the harness starts a Prefect server.
    """
    for item in items:
        if "prefect_harness" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.prefect)


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Start Prefect's test server once per session, with the flow heartbeat off."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
        prefect_test_harness(server_startup_timeout=120),
    ):
        yield


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return a fresh, empty database: a SQLite file, and PostgreSQL where configured."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pumpurs.db'}"
    assert PG_URL is not None
    with db.engine_for(PG_URL).begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
    return PG_URL


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpSink]:
    """Run a real SMTP server on a free loopback port."""
    with SmtpSink(outbox=tmp_path / "received") as sink:
        yield sink


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Build the settings of one test: its own var dir and database, the repo's config."""
    return Settings(
        _env_file=None,
        var_dir=tmp_path / "var",
        database_url=database_url,
        config_dir=REPO / "config",
        inbox_dir=tmp_path / "inbox",
        base_url="http://127.0.0.1:8080",
        smtp_port=1,
        smtp_retry_delays=[
            0.05,
            0.05,
        ],  # nothing listens here; tests that send mail use `mail_settings`
    )


@pytest.fixture
def mail_settings(settings: Settings, smtp: SmtpSink) -> Settings:
    """Return the test's settings pointed at the loopback SMTP server."""
    return settings.model_copy(update={"smtp_host": smtp.host, "smtp_port": smtp.port})


@pytest.fixture
def context(mail_settings: Settings) -> Iterator[Context]:
    """Load config into a migrated database and make these settings the ones in force."""
    with use_settings(mail_settings):
        yield load_context(mail_settings)


def latest_artifact(key: str) -> dict[str, object]:
    """Return the newest artifact with this key from the Prefect API."""
    from prefect.client.orchestration import get_client

    body = {"artifacts": {"key": {"any_": [key]}}, "limit": 1, "offset": 0, "sort": "CREATED_DESC"}
    with get_client(sync_client=True) as client:
        response = client.request("POST", "/artifacts/filter", json=body)
    found: list[dict[str, object]] = response.json()
    assert found, f"no artifact with key {key!r}"
    return found[0]


def task_runs(flow_run_id: object, settle: float = 30.0) -> list[tuple[str, int]]:
    """Return the task runs of a finished flow run: (name without suffix, times it ran), sorted.

    Prefect records task runs from events, a moment after the flow has returned: read until
    every task run is in a final state and two reads agree, or `settle` seconds have passed.
    """
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterFlowRunId

    wanted = TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[flow_run_id]))
    deadline, last = time.monotonic() + settle, None
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(task_run_filter=wanted, limit=200, offset=0)
            seen = sorted((run.name.rsplit("-", 1)[0], run.run_count) for run in runs)
            final = all(run.state is not None and run.state.is_final() for run in runs)
            if (final and seen == last) or time.monotonic() > deadline:
                return seen
            last = seen
            time.sleep(0.2)
