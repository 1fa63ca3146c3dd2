"""An approver's page of pending plans: several can be approved at once, each exactly once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from pumpurs.app.web import csrf
from pumpurs.app.web.access import record_view
from pumpurs.app.web.effects import after_decision
from pumpurs.app.web.pages import (
    Web,
    database_id,
    error_page,
    page,
    problem_title,
    web,
    when,
)
from pumpurs.app.web.review import origin
from pumpurs.approvals import (
    LinkProblem,
    LinkRefused,
    Outcome,
    approval_url,
    decide_step,
    desks,
    held_before,
    live_nonces,
    outcome_name,
    pending_for,
    pending_url,
    plan_views,
    read_pending_link,
    step_owners,
)
from pumpurs.clock import RIGA, today_riga
from pumpurs.store.access import Page

router = APIRouter()
PURPOSE = "approve-selected"
PAGE_SIZE = 200  # the oldest plans first; a page of thousands is no use on a phone
MAX_SELECTED = PAGE_SIZE  # a larger selection did not come from our page


def _pending(
    w: Web, session: Session, approver: str, *, status: int = 200, error: str | None = None
) -> tuple[HTMLResponse, list[int]]:
    """Render the approver's page (with the plans of those they stand in for today); return it
    and the plans it shows."""
    today = today_riga()
    stands_in_for = desks(w.config).stood_in_for(approver, today)
    waiting = pending_for(session, approver, stands_in_for)
    steps = waiting[:PAGE_SIZE]
    views = plan_views(session, w.config, {s.plan_id for s in steps}, w.language)
    nonces = live_nonces(session, [s.step_id for s in steps], approver)
    items = [
        {
            "step_id": s.step_id,
            "plan": views[s.plan_id],
            "link": approval_url(w.settings, nonces[s.step_id]) if s.step_id in nonces else None,
            "since": when(s.since, w.language),
            "days": (today - s.since.astimezone(RIGA).date()).days,
        }
        for s in steps
        if s.plan_id in views
    ]
    shown = page(
        w,
        "pending",
        status,
        approver=approver,
        stands_in_for=stands_in_for,
        items=items,
        count=len(waiting),
        csrf=csrf.issue(w.settings, approver, PURPOSE),
        error=error,
    )
    return shown, [s.plan_id for s in steps if s.plan_id in views]


def _seen(w: Web, request: Request, approver: str, plan_ids: list[int], kind: Page) -> None:
    """Record this view of plans (none shown: nothing to record) in the access audit."""
    if plan_ids:
        record_view(w, request, kind, plan_ids, approver)


@router.api_route("/p/{link}", methods=["GET", "HEAD"], response_class=HTMLResponse)
def show_pending(link: str, request: Request) -> HTMLResponse:
    """List the approver's pending plans; change nothing."""
    w = web(request)
    approver = read_pending_link(w.settings, w.config, link)
    with w.read_sessions() as session:
        shown, plan_ids = _pending(w, session, approver)
    _seen(w, request, approver, plan_ids, Page.PENDING)
    return shown


@router.post("/p/{link}", response_class=HTMLResponse)
def approve_selected(
    link: str,
    request: Request,
    background: BackgroundTasks,
    token: Annotated[str, Form(alias="csrf")] = "",
    step: Annotated[list[str] | None, Form()] = None,
) -> HTMLResponse:
    """Approve every selected plan, each in its own transaction; report each outcome."""
    w = web(request)
    approver = read_pending_link(w.settings, w.config, link)
    if not csrf.is_valid(w.settings, token, approver, PURPOSE):
        return error_page(w, 403, "csrf")
    picked = [database_id(value) for value in step or []]
    if None in picked:
        return error_page(w, 400, "bad_request")
    step_ids = list(dict.fromkeys(step_id for step_id in picked if step_id is not None))
    if len(step_ids) > MAX_SELECTED:
        return error_page(w, 400, "bad_request")
    with w.read_sessions() as session:
        if not step_ids:
            message = w.texts.gettext("Select at least one plan to approve.")
            shown, plan_ids = _pending(w, session, approver, status=400, error=message)
            _seen(w, request, approver, plan_ids, Page.PENDING)
            return shown
        owners = step_owners(session, step_ids)
        mine = {approver.lower(), *desks(w.config).stood_in_for(approver, today_riga())}
        others = [s for s, (email, _) in owners.items() if email.lower() not in mine]
        held = held_before(session, others, approver)
    if len(owners) != len(step_ids):
        raise LinkRefused(LinkProblem.UNKNOWN)
    if any(step_id not in held for step_id in others):
        # One approver's page used on another's plan: refuse it all and decide nothing. (A plan
        # that was theirs and moved to another desk is refused alone, saying so, below.)
        raise LinkRefused(LinkProblem.OTHER_APPROVER)
    outcomes: list[tuple[int, str | None]] = []
    for step_id in step_ids:
        try:
            with w.sessions.begin() as session:
                decided = decide_step(
                    session,
                    w.config,
                    w.settings,
                    step_id,
                    approver,
                    Outcome.APPROVED,
                    reason=None,
                    origin=origin(request),
                )
        except LinkRefused as refused:
            outcomes.append((step_id, refused.problem.value))
            continue
        after_decision(w.settings, decided, background)
        outcomes.append((step_id, None))
    plans = {k: plan for k, (_, plan) in owners.items()}
    done = _bulk_done(w, outcomes, plans, approver)
    _seen(w, request, approver, list(plans.values()), Page.BULK_DONE)
    return done


def _bulk_done(
    w: Web, outcomes: list[tuple[int, str | None]], plans: dict[int, int], approver: str
) -> HTMLResponse:
    with w.read_sessions() as session:
        views = plan_views(session, w.config, set(plans.values()), w.language)
    rows: list[dict[str, Any]] = [
        {
            "step_id": step_id,
            "plan": views.get(plans[step_id]),
            "text": outcome_name("approved", w.language)
            if problem is None
            else problem_title(w, problem),
        }
        for step_id, problem in outcomes
    ]
    approved = sum(1 for _, problem in outcomes if problem is None)
    return page(
        w,
        "bulk_done",
        rows=rows,
        approved=approved,
        refused=len(rows) - approved,
        pending_link=pending_url(w.settings, approver),
    )
