"""Web fixtures: the app on a real uvicorn server with the test's own store and SMTP server."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from pumpurs.app.web.app import create_app
from pumpurs.approvals import approval_url
from pumpurs.settings import Settings
from pumpurs.store.context import Context
from tests.app.web.live import LiveServer, free_port
from tests.approvals.factory import issue_links

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def serve(settings: Settings) -> LiveServer:
    """Return a server of the app for these settings, its base URL set to where it listens."""
    port = free_port()
    live = settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"})
    return LiveServer(create_app(live), port)


@pytest.fixture
def client(context: Context) -> Iterator[httpx.Client]:
    """Return an HTTP client of the app, running on loopback for this test."""
    with serve(context.settings) as server, httpx.Client(base_url=server.url) as http:
        yield http


def plan_paths(ctx: Context) -> dict[int, str]:
    """Issue links for every submitted plan; return the page path of each plan."""
    return {
        plan_id: approval_url(ctx.settings, nonce).removeprefix(ctx.settings.base_url)
        for plan_id, nonce in issue_links(ctx).items()
    }


def csrf_of(html: str) -> str:
    """Return the CSRF token the page's forms carry."""
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)
