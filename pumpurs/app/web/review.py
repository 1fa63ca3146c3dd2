"""One plan's page, opened from an email link: GET and HEAD show, only a POST decides."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse

from pumpurs.app.web import csrf
from pumpurs.app.web.access import record_view
from pumpurs.app.web.effects import after_decision
from pumpurs.app.web.pages import Web, error_page, last_day, on_behalf, page, web, when
from pumpurs.approvals import (
    MAX_REASON,
    Origin,
    Outcome,
    ReasonRequired,
    ReasonTooLong,
    Verified,
    clean_reason,
    decide_link,
    outcome_name,
    past_decisions,
    pending_url,
    plan_views,
    read_link,
    role_name,
    verify,
)
from pumpurs.config import Config
from pumpurs.i18n.formats import fmt_number
from pumpurs.store.access import Page
from pumpurs.store.db import Executor

router = APIRouter()
PURPOSE = "decide"
ACTIONS = {"approve": Outcome.APPROVED, "return": Outcome.RETURNED}


def origin(request: Request) -> Origin:
    """Return where a request came from, for the audit log."""
    return Origin(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


def _review(
    w: Web,
    session: Executor,
    verified: Verified,
    *,
    config: Config,
    status: int = 200,
    error: str | None = None,
    reason: str = "",
) -> HTMLResponse:
    view = plan_views(session, config, [verified.plan_id], w.language)[verified.plan_id]
    history = [
        {
            "when": when(past.decided_at, w.language),
            "revision": past.revision,
            "outcome": past.outcome,
            "outcome_name": outcome_name(past.outcome, w.language),
            "approver_email": on_behalf(w, past.approver_email, past.substitute_email),
            "reason": past.reason,
        }
        for past in past_decisions(session, verified.plan_id)
    ]
    return page(
        w,
        "review",
        status,
        plan=view,
        step=verified,
        role_name=role_name(verified.role, w.language),
        history=history,
        chain_length=len(config.programme.approval_chain),
        valid_until=last_day(verified.expires_at, w.language),
        csrf=csrf.issue(w.settings, verified.nonce, PURPOSE),
        error=error,
        reason=reason,
    )


@router.api_route("/a/{link}", methods=["GET", "HEAD"], response_class=HTMLResponse)
async def show_plan(link: str, request: Request) -> HTMLResponse:
    """Show the plan with its two actions; change nothing (mail scanners open links)."""
    w = web(request)
    return await w.run(_show, w, link, request)


def _show(w: Web, link: str, request: Request) -> HTMLResponse:
    """The plan page: a few short statements on a Core connection, and the view's INSERT."""
    nonce = read_link(w.settings, link)
    config = w.config  # read once: each read checks the config files for changes
    with w.reads.connect() as connection:
        verified = verify(connection, nonce, config)
        shown = _review(w, connection, verified, config=config)
    _seen(w, request, verified)
    return shown


def _seen(w: Web, request: Request, verified: Verified) -> None:
    """Record this view of the plan's page in the access audit."""
    record_view(
        w, request, Page.PLAN, [verified.plan_id], verified.holder, token_id=verified.token_id
    )


@router.post("/a/{link}", response_class=HTMLResponse)
async def decide_plan(
    link: str,
    request: Request,
    background: BackgroundTasks,
    token: Annotated[str, Form(alias="csrf")] = "",
    action: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Approve or return the plan: consumes the link, once."""
    w = web(request)
    return await w.run(_decide, w, link, request, background, token, action, reason)


def _decide(
    w: Web,
    link: str,
    request: Request,
    background: BackgroundTasks,
    token: str,
    action: str,
    reason: str,
) -> HTMLResponse:
    nonce = read_link(w.settings, link)
    if not csrf.is_valid(w.settings, token, nonce, PURPOSE):
        return error_page(w, 403, "csrf")
    outcome = ACTIONS.get(action)
    if outcome is None:
        return error_page(w, 400, "bad_request")
    try:
        with w.sessions.begin() as session:
            decided = decide_link(
                session, w.config, w.settings, nonce, outcome, reason=reason, origin=origin(request)
            )
    except (ReasonRequired, ReasonTooLong) as wrong:
        if isinstance(wrong, ReasonRequired):
            message = w.texts.gettext(
                "Give the reason for returning the plan: the school receives it by email."
            )
        else:
            message = w.texts.gettext(
                "The reason is too long: at most %(limit)s characters fit, and it has "
                "%(length)s. Shorten it and press the button again: nothing was saved.",
                length=fmt_number(len(clean_reason(reason)), w.language, 0),
                limit=fmt_number(MAX_REASON, w.language, 0),
            )
        with w.reads.connect() as connection:
            config = w.config
            verified = verify(connection, nonce, config)
            shown = _review(
                w,
                connection,
                verified,
                config=config,
                status=400,
                error=message,
                reason=clean_reason(reason),
            )
        _seen(w, request, verified)
        return shown
    after_decision(w.settings, decided, background)
    return page(
        w,
        "decided",
        plan=decided,  # the decision carries what the page shows of the plan
        decided=decided,
        decided_when=when(decided.decided_at, w.language),
        decided_by=on_behalf(w, decided.approver_email, decided.substitute_email),
        next_role_name=role_name(decided.next_role, w.language) if decided.next_role else None,
        reason=clean_reason(reason),
        pending_link=pending_url(w.settings, decided.decided_by),
    )
