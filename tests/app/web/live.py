"""The app on a real uvicorn server in a thread, on a free loopback port."""

from __future__ import annotations

import contextvars
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from pumpurs.app.web.app import proxy_options


def free_port() -> int:
    """Return a loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LiveServer:
    """Start with `with LiveServer(app, port) as server:`; `server.url` is its base URL."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            ws="none",
            access_log=False,
            # Started as `pumpurs web` starts it: X-Forwarded-For only from trusted proxies.
            **proxy_options(app.state.settings),
        )
        self.server = uvicorn.Server(config)
        # The server runs in the caller's context, so settings it set (Prefect's) apply there.
        context = contextvars.copy_context()
        self.thread = threading.Thread(
            target=context.run, args=(self.server.run,), name="uvicorn", daemon=True
        )

    @property
    def url(self) -> str:
        """Return the server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_for(lambda: self.server.started, 20, "uvicorn did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(20)


def wait_for(condition: Callable[[], object], seconds: float, failure: str) -> None:
    """Poll until `condition()` is true, or fail the test after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(failure)
        time.sleep(0.02)
