"""The access audit at the web edge: every page that shows pupil data records its view.

Pages call `record_view` after rendering, before answering: a view that could not be recorded
is not shown (the request fails). It is one prepared INSERT in a short transaction of its own
(`pumpurs.store.access`), the plan page being the decision path's hot path.

A page of a school's own (its plans, its files) records `Page.SCHOOL` the same way, with the
school's link holder and the plan ids it lists.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Request

from pumpurs.app.web.pages import Web
from pumpurs.store import access
from pumpurs.store.access import Page


def record_view(
    w: Web,
    request: Request,
    page: Page,
    plan_ids: Iterable[int],
    link_holder: str,
    *,
    token_id: int | None = None,
) -> None:
    """Record that this request viewed a page showing these plans (which link, when, from where)."""
    with w.engine.begin() as connection:  # Core: one INSERT needs no session
        access.record_view(
            connection,
            page=page,
            plan_ids=plan_ids,
            link_holder=link_holder,
            token_id=token_id,
            ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
        )
