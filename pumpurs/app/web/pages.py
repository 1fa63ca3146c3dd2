"""What every page needs: the app's settings and store, rendering, and local times."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session, sessionmaker

from pumpurs.approvals import LinkProblem, LinkRefused
from pumpurs.clock import RIGA
from pumpurs.config import Config
from pumpurs.i18n.templates import render_page
from pumpurs.i18n.texts import fmt_day, translate
from pumpurs.settings import Settings
from pumpurs.store import db
from pumpurs.store.context import cached_config


@dataclass(frozen=True)
class Web:
    """The web app's view of the project: one settings object, its store and config."""

    settings: Settings

    @property
    def language(self) -> str:
        """Return the language pages are shown in."""
        return str(self.settings.language)

    @property
    def sessions(self) -> sessionmaker[Session]:
        """Return the session factory of the configured database."""
        return db.session_factory(self.settings.effective_database_url)

    @property
    def read_sessions(self) -> sessionmaker[Session]:
        """Return the session factory for requests that only read (no write lock on SQLite)."""
        return db.read_session_factory(self.settings.effective_database_url)

    @property
    def config(self) -> Config:
        """Return the programme configuration (read again when its files change)."""
        return cached_config(self.settings.config_dir)

    def t(self, message_id: str, **params: Any) -> str:
        """Return a catalogue message in the app's language."""
        return translate(message_id, self.language, **params)


def web(request: Request) -> Web:
    """Return the app state of the request's app."""
    state: Web = request.app.state.web
    return state


def when(moment: dt.datetime, language: str) -> str:
    """Return a moment as people in Latvia read it: `12.10.2026. 10:15`."""
    local = moment.astimezone(RIGA)
    return f"{fmt_day(local.date(), language)} {local:%H:%M}"


def last_day(expires_at: dt.datetime, language: str) -> str:
    """Return the last day (in Latvia) a link that expires at this moment still works."""
    return fmt_day((expires_at - dt.timedelta(microseconds=1)).astimezone(RIGA).date(), language)


def page(w: Web, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a page template with the given status."""
    return HTMLResponse(render_page(name, w.language, **context), status_code=status)


def error_page(w: Web, status: int, problem: str, **params: Any) -> HTMLResponse:
    """Render a clear error page for `approvals.error.<problem>` with this status."""
    return page(
        w,
        "error",
        status,
        title=w.t(f"approvals.error.{problem}.title"),
        text=w.t(f"approvals.error.{problem}.text", **params),
        code=status,
    )


def refusal_page(w: Web, refused: LinkRefused) -> HTMLResponse:
    """Render why a link was refused; a decided plan says by whom, when and how."""
    params: dict[str, Any] = {}
    problem = refused.problem
    if problem == LinkProblem.DECIDED:
        if refused.decided is None:  # decided, but the record is gone: say only "used"
            problem = LinkProblem.USED
        else:
            params = {
                "approver": refused.decided.approver_email,
                "when": when(refused.decided.decided_at, w.language),
                "outcome": w.t(f"approvals.outcome.{refused.decided.outcome}"),
            }
    return error_page(w, refused.status, problem.value, **params)
