"""The demo's approvers: the real approval web app on loopback, decided over HTTP.

Each decision goes the way a person's does: open the plan's link (GET, which changes nothing),
take the form's CSRF token from the page, and press a button (POST approve or return).
"""

from __future__ import annotations

import contextvars
import random
import re
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType

import httpx
import uvicorn

from pumpurs.app.demo.outbox import APPROVAL_LINK
from pumpurs.settings import Settings

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def free_port() -> int:
    """Return a loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class WebApp:
    """The approval app on uvicorn in a thread: `with WebApp(settings, port):`.

    `settings.base_url` must point at `127.0.0.1:<port>`, so the emailed links reach this app.
    The thread runs in the caller's context, so the app sends its events to the same Prefect.
    """

    def __init__(self, settings: Settings, port: int) -> None:
        from pumpurs.app.web.app import create_app, proxy_options

        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            ws="none",
            access_log=False,
            **proxy_options(settings),
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=contextvars.copy_context().run,
            args=(self.server.run,),
            name="pumpurs-web",
            daemon=True,
        )

    def __enter__(self) -> WebApp:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the approval web app did not start at {self.url}")
            time.sleep(0.02)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.should_exit = True
        self.thread.join(20)


@dataclass
class Decisions:
    """What the approvers did in one round."""

    approved: int = 0
    returned: list[str] = field(default_factory=list)  # the links of the returned plans
    from_pages: int = 0  # links found on the pending-plans pages, not in an email

    @property
    def total(self) -> int:
        """Return how many plans were decided."""
        return self.approved + len(self.returned)


class Approver:
    """Decide plans through the web app, returning about `return_share` of them with a reason."""

    def __init__(
        self, return_share: float = 0.0, reasons: Sequence[str] = (), seed: int = 1
    ) -> None:
        self.return_share, self.reasons = return_share, reasons
        self.rng = random.Random(seed)
        self.http = httpx.Client(timeout=30)
        self.done = Decisions()
        self.seen: set[str] = set()

    def close(self) -> None:
        """Close the HTTP connections."""
        self.http.close()

    def decide_all(self, links: Iterable[str], pending_pages: Iterable[str]) -> Decisions:
        """Decide every linked plan, then whatever the approvers' pending pages still list."""
        for link in links:
            self.decide(link)
        for page in pending_pages:
            while fresh := [link for link in self._listed(page) if link not in self.seen]:
                self.done.from_pages += len(fresh)
                for link in fresh:
                    self.decide(link)
        return self.done

    def decide(self, link: str) -> None:
        """Open one plan's page and press approve, or return it with a reason."""
        self.seen.add(link)
        shown = self.http.get(link)
        shown.raise_for_status()
        found = CSRF.search(shown.text)
        if found is None:
            raise RuntimeError(f"{link}: the plan page has no form")
        form = {"csrf": found.group(1), "action": "approve", "reason": ""}
        if self.rng.random() < self.return_share:
            form |= {"action": "return", "reason": self.rng.choice(self.reasons)}
        self.http.post(link, data=form).raise_for_status()
        if form["action"] == "return":
            self.done.returned.append(link)
        else:
            self.done.approved += 1

    def _listed(self, page: str) -> list[str]:
        shown = self.http.get(page)
        shown.raise_for_status()
        return list(dict.fromkeys(APPROVAL_LINK.findall(shown.text)))
