"""FastAPI application factory: the approval links and the schools' pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from pydantic import SecretStr

from pumpurs.app.web import errors, pending, review, school
from pumpurs.app.web.pages import Web
from pumpurs.i18n.templates import render_page
from pumpurs.settings import Settings
from pumpurs.store import db
from pumpurs.store.context import current_settings


def proxy_options(settings: Settings) -> dict[str, Any]:
    """Return uvicorn's options for `X-Forwarded-For`: believed only from `trusted_proxies`.

    uvicorn on its own believes the header from 127.0.0.1, so anyone on the machine could
    forge the address the audit records; every server of the app is started with these.
    """
    proxies = settings.trusted_proxies
    return {"proxy_headers": bool(proxies), "forwarded_allow_ips": list(proxies) or None}


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for these settings (the ones in force if none are given)."""
    settings = settings or current_settings()
    if settings.secret_key is None:  # read the kept key once, not on every signed link
        settings = settings.model_copy(update={"secret_key": SecretStr(settings.signing_key())})
    language = str(settings.language)
    url = settings.effective_database_url

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # While serving, SQLite's checkpoints happen beside the requests, not in their commits.
        stop = db.checkpoint_apart(url)
        try:
            yield
        finally:
            stop()

    app = FastAPI(
        title="PuMPuRS", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.settings = settings
    app.state.web = Web(settings)
    with suppress(Exception):  # read now, not by the first requests at once; if it is
        _ = app.state.web.config  # broken, the pages say so as before

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse)
    def home() -> str:
        return render_page("home", language)

    app.include_router(review.router)
    app.include_router(pending.router)
    school.install(app)
    errors.install(app)
    return app
