"""Error pages: a clear page in the reader's language with the right status, never a trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pumpurs.app.web.pages import error_page, refusal_page, web
from pumpurs.approvals import LinkRefused

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    # Links are capabilities: keep them out of caches, Referer headers and other sites' frames.
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


class SecurityHeaders:
    """Add the security headers to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [
                    (name.encode(), value.encode())
                    for name, value in SECURITY_HEADERS.items()
                    if name.encode() not in names
                ]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LinkRefused)
    return refusal_page(web(request), exc)


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    problem = {404: "not_found", 405: "method"}.get(exc.status_code)
    if problem is None:
        problem = "server" if exc.status_code >= 500 else "bad_request"
    return error_page(web(request), exc.status_code, problem)


async def _invalid(request: Request, exc: Exception) -> Response:
    return error_page(web(request), 400, "bad_request")


async def _crash(request: Request, exc: Exception) -> Response:
    # Starlette answers an unhandled error outside every middleware, `SecurityHeaders` too:
    # the 500 page carries the headers itself.
    log.error("request %s %s failed", request.method, request.url.path, exc_info=exc)
    try:
        response: Response = error_page(web(request), 500, "server")
    except Exception:  # even the error page failed: plain words, still no trace
        response = HTMLResponse("<h1>500</h1>", status_code=500)
    response.headers.update(SECURITY_HEADERS)
    return response


def install(app: FastAPI) -> None:
    """Register the error pages and security headers on the app."""
    app.add_exception_handler(LinkRefused, _refused)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(Exception, _crash)
    app.add_middleware(SecurityHeaders)
