"""What every page needs: the app's settings and store, rendering, and local times."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from pumpurs.approvals import LinkProblem, LinkRefused, outcome_name, role_name
from pumpurs.clock import RIGA
from pumpurs.config import Config
from pumpurs.i18n.catalogue import N_, Texts, texts
from pumpurs.i18n.formats import fmt_day
from pumpurs.i18n.templates import render_page
from pumpurs.settings import Settings
from pumpurs.store import db
from pumpurs.store.context import cached_config

T = TypeVar("T")


@dataclass(frozen=True)
class Web:
    """The web app's view of the project: one settings object, its store and config."""

    settings: Settings

    @cached_property
    def inline(self) -> bool:
        """Return whether requests do their database work on the event loop (SQLite)."""
        return make_url(self.settings.effective_database_url).get_backend_name() == "sqlite"

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """Do a request's work with the database: on the event loop for SQLite, in a worker
        thread for a database server.

        SQLite's statements are short calls in this process, and its writes one at a time
        anyway (every page view writes its audit row): a worker thread per request would only
        add a hand-over and a fight for the interpreter lock. A server's round trips wait on
        the network: worker threads let them overlap. See README, Benchmark.
        """
        if self.inline:
            return work(*args)
        return await run_in_threadpool(work, *args)

    @property
    def language(self) -> str:
        """Return the language pages are shown in."""
        return str(self.settings.language)

    @property
    def sessions(self) -> sessionmaker[Session]:
        """Return the session factory of the configured database."""
        return db.session_factory(self.settings.effective_database_url)

    @property
    def engine(self) -> Engine:
        """Return the engine of the configured database (Core writes, no session)."""
        return db.engine_for(self.settings.effective_database_url)

    @property
    def reads(self) -> Engine:
        """Return the engine for requests that only read, on Core connections (no session)."""
        return db.read_engine(self.settings.effective_database_url)

    @property
    def read_sessions(self) -> sessionmaker[Session]:
        """Return the session factory for requests that only read (no write lock on SQLite)."""
        return db.read_session_factory(self.settings.effective_database_url)

    @property
    def config(self) -> Config:
        """Return the programme configuration (read again when its files change)."""
        return cached_config(self.settings.config_dir)

    @property
    def texts(self) -> Texts:
        """Return the texts of the app's language."""
        return texts(self.language)


def web(request: Request) -> Web:
    """Return the app state of the request's app."""
    state: Web = request.app.state.web
    return state


_ID = re.compile(r"[0-9]{1,10}")
MAX_ID = 2**31 - 1  # PostgreSQL's integer; SQLite's is larger: one rule for both databases


def database_id(value: str) -> int | None:
    """Return a row id sent by a form, or None if it cannot be one (not plain digits, or outside
    1 … 2**31-1): such a request is answered 400, never passed to the database."""
    if not _ID.fullmatch(value):
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


def when(moment: dt.datetime, language: str) -> str:
    """Return a moment as people in Latvia read it: `12.10.2026. 10:15`."""
    local = moment.astimezone(RIGA)
    return f"{fmt_day(local.date(), language)} {local:%H:%M}"


def last_day(expires_at: dt.datetime, language: str) -> str:
    """Return the last day (in Latvia) a link that expires at this moment still works."""
    return fmt_day((expires_at - dt.timedelta(microseconds=1)).astimezone(RIGA).date(), language)


PROBLEMS = {  # why a request was refused: the title and text of its error page
    "malformed": (
        N_("The link is incomplete"),
        N_(
            "This link is incomplete or not correct. Open it again from the email you received; "
            "if your mail program split the link over several lines, copy all of it."
        ),
    ),
    "forged": (
        N_("The link is not valid"),
        N_(
            "This link was not made by the PuMPuRS system, or it was changed. Use only links "
            "from the system's emails, unchanged."
        ),
    ),
    "unknown": (
        N_("The link is not known"),
        N_(
            "This link is not known to the system. Use the link from the latest email you received."
        ),
    ),
    "other_approver": (
        N_("This plan awaits another approver"),
        N_("You can decide only on the plans sent to you. Nothing was changed."),
    ),
    "decided": (
        N_("The plan has already been decided"),
        N_(
            "This plan was already decided on %(day)s by the %(role)s: %(outcome)s. A decision "
            "is taken only once."
        ),
    ),
    "used": (
        N_("The link has been used"),
        N_("This link has already been used and cannot be used again."),
    ),
    "superseded": (
        N_("The plan has a newer revision"),
        N_(
            "After this link was sent the school submitted a new revision of the plan, so the "
            "link is no longer valid. The new revision comes in the next digest."
        ),
    ),
    "expired": (
        N_("The link has expired"),
        N_("This link has expired. The next reminder email brings a new one."),
    ),
    "moved": (
        N_("The plan has moved to another desk"),
        N_(
            "The programme's list of approvers has changed: this plan is now on the desk of the "
            "new %(role)s, who receives it by email. This link no longer works. Nothing was "
            "changed."
        ),
    ),
    "substitution_ended": (
        N_("Your substitution has ended"),
        N_(
            "You stood in for the %(role)s for a time, and that time is over: the plan is back "
            "on their desk. This link no longer works. Nothing was changed."
        ),
    ),
    "csrf": (
        N_("The decision was not saved"),
        N_(
            "A decision can only be taken with the button on the plan's page, and the page may "
            "have been open too long. Open the link from the email again and repeat the decision."
        ),
    ),
    "replaced": (
        N_("The link has been replaced"),
        N_(
            "A new link to your school's page was issued, so this one no longer works. Use the "
            "link from the latest email you received."
        ),
    ),
    "school_expired": (
        N_("The semester is over"),
        N_(
            "This link worked until the semester's evaluation deadline, which has passed. "
            "Contact the programme coordinator if you still need to send a file."
        ),
    ),
    "csrf_upload": (
        N_("The file was not received"),
        N_(
            "A file can only be sent with the form on your school's page, and the page may "
            "have been open too long. Open the link from the email again and send the file again."
        ),
    ),
    "bad_request": (
        N_("The request is not understood"),
        N_("The form was not filled in correctly. Open the page again and try once more."),
    ),
    "not_found": (
        N_("Page not found"),
        N_(
            "There is no such page. Check the address or open the link again from the email you "
            "received."
        ),
    ),
    "method": (
        N_("Action not allowed"),
        N_("This action cannot be done here. Open the link from the email you received."),
    ),
    "server": (
        N_("Something went wrong"),
        N_(
            "An error occurred in the system and the request was not carried out. Try again in a "
            "moment; if it happens again, contact the system's administrator."
        ),
    ),
}


def problem_title(w: Web, problem: str) -> str:
    """Return the short name of why a request was refused (`Saite jau izmantota`)."""
    return w.texts.gettext(PROBLEMS[problem][0])


def page(w: Web, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a page template with the given status."""
    return HTMLResponse(render_page(name, w.language, **context), status_code=status)


def error_page(w: Web, status: int, problem: str, **params: Any) -> HTMLResponse:
    """Render a clear error page for a `PROBLEMS` entry with this status."""
    title, text = PROBLEMS[problem]
    return page(
        w,
        "error",
        status,
        title=w.texts.gettext(title),
        text=w.texts.gettext(text, **params),
        code=status,
    )


def on_behalf(w: Web, approver: str, substitute: str | None) -> str:
    """Return who decided as pages name them: the approver, or `S for A` for a substitute."""
    if substitute is None:
        return approver
    return w.texts.gettext(
        "%(substitute)s for %(approver)s", substitute=substitute, approver=approver
    )


def refusal_page(w: Web, refused: LinkRefused) -> HTMLResponse:
    """Render why a link was refused; a decided plan says by which role, on which day and how;
    a plan that moved to another desk names the role whose desk it is on. Never a person's
    address: whoever holds the link (a mail scanner too) reads this page."""
    params: dict[str, Any] = {}
    problem = refused.problem
    if problem in (LinkProblem.MOVED, LinkProblem.SUBSTITUTION_ENDED):
        params = {"role": role_name(refused.role or "", w.language)}
    if problem == LinkProblem.DECIDED:
        if refused.decided is None:  # decided, but the record is gone: say only "used"
            problem = LinkProblem.USED
        else:
            decided = refused.decided
            params = {
                "role": role_name(decided.role or "", w.language),
                "day": fmt_day(decided.decided_at.astimezone(RIGA).date(), w.language),
                "outcome": outcome_name(decided.outcome, w.language),
            }
    return error_page(w, refused.status, problem.value, **params)
