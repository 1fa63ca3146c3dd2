"""Which Prefect server the flows run in this process report to.

A flow run needs a Prefect API. The one named by PREFECT_API_URL is used if set; else the local
server `make serve` (or `prefect server start`) runs, if it answers at Prefect's own server
address (PREFECT_SERVER_API_HOST and _PORT, 127.0.0.1:4200 by default); else Prefect starts a
temporary server in the background for this process, which keeps the runs in PREFECT_HOME. Its
first start on a machine creates Prefect's database, which can take far longer than Prefect's
default 20 s wait on a busy machine: it is given several minutes.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prefect.settings.legacy import Setting

FIRST_START_SECONDS = 300
"""How long to wait for Prefect's temporary server (its first start migrates a new database)."""


def local_server() -> str:
    """Return the address where a Prefect server of this machine listens by default."""
    from prefect.settings import get_current_settings

    api = get_current_settings().server.api
    return f"http://{api.host}:{api.port}"


def answers(url: str, timeout: float = 0.5) -> bool:
    """Return whether a Prefect API answers its health check at `url` (…/api)."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def prefect_server() -> Iterator[str | None]:
    """Point this process's flow runs at a running Prefect server; yield the address of its UI.

    None is yielded when there is none: the runs go to Prefect's temporary server then.
    """
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_SERVER_ANALYTICS_ENABLED,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
        PREFECT_UI_URL,
        get_current_settings,
        temporary_settings,
    )

    configured = PREFECT_API_URL.value()
    if configured:
        yield PREFECT_UI_URL.value() or str(configured).removesuffix("/api")
        return
    local = local_server()
    if answers(f"{local}/api"):
        with temporary_settings({PREFECT_API_URL: f"{local}/api"}):
            yield local
        return
    server = get_current_settings().server
    wanted: dict[Setting, Any] = {}
    if "startup_timeout_seconds" not in server.ephemeral.model_fields_set:
        wanted[PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS] = FIRST_START_SECONDS
    if "analytics_enabled" not in server.model_fields_set:
        # Its telemetry writes to the new database while it migrates, and calls out.
        wanted[PREFECT_SERVER_ANALYTICS_ENABLED] = False
    with temporary_settings(wanted):
        yield None
