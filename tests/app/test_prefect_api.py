"""Which Prefect server the CLI's flow runs report to: the configured one, the local one
`make serve` runs, or Prefect's temporary one given time for its first start."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator

import pytest
from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_SERVER_ANALYTICS_ENABLED,
    PREFECT_SERVER_API_PORT,
    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
    temporary_settings,
)

from pumpurs.app.prefect_api import FIRST_START_SECONDS, prefect_server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        self.send_response(200 if self.path == "/api/health" else 404)
        self.end_headers()
        self.wfile.write(b"true")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def local_prefect() -> Iterator[int]:
    """Answer Prefect's health check on a free loopback port, as `make serve`'s server does."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_a_configured_api_is_used_as_it_is() -> None:
    with temporary_settings({PREFECT_API_URL: "http://prefect.example/api"}):
        with prefect_server() as ui:
            assert PREFECT_API_URL.value() == "http://prefect.example/api"
    assert ui == "http://prefect.example"


def test_the_local_server_is_found_when_it_answers(local_prefect: int) -> None:
    with temporary_settings({PREFECT_API_URL: None, PREFECT_SERVER_API_PORT: local_prefect}):
        with prefect_server() as ui:
            assert PREFECT_API_URL.value() == f"http://127.0.0.1:{local_prefect}/api"
        assert not PREFECT_API_URL.value()
    assert ui == f"http://127.0.0.1:{local_prefect}"


def test_without_a_server_prefects_temporary_one_gets_time_for_its_first_start() -> None:
    nothing = _free_port()
    with temporary_settings({PREFECT_API_URL: None, PREFECT_SERVER_API_PORT: nothing}):
        assert PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value() == 20  # Prefect's own
        with prefect_server() as ui:
            assert not PREFECT_API_URL.value()
            assert PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value() == FIRST_START_SECONDS
            assert PREFECT_SERVER_ANALYTICS_ENABLED.value() is False
    assert ui is None


def test_an_operators_own_wait_is_kept() -> None:
    with temporary_settings(
        {PREFECT_API_URL: None, PREFECT_SERVER_API_PORT: _free_port(),
         PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: 45},
    ):  # fmt: skip
        with prefect_server():
            assert PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value() == 45
