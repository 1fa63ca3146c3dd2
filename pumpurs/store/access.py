"""The access audit: every view of a page that shows pupil data, one row per view.

Recording a view is on the approval app's hot path (a plan page precedes every decision made
from a link), so it is one prepared INSERT of a Core statement, no ORM object: see
`pumpurs.approvals.decide` for the same habit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from pumpurs.clock import utcnow
from pumpurs.store.db import Executor
from pumpurs.store.models import PageView


class Page(StrEnum):
    PLAN = "plan"  # one plan, from its approval link
    PENDING = "pending"  # an approver's pending plans
    BULK_DONE = "bulk_done"  # what became of the plans approved together on the pending page
    SCHOOL = "school"  # a school's own page (its plans and files)


_TABLE = cast(Table, PageView.__table__)
_INSERT = insert(_TABLE)  # built once: a statement made per request costs more than it runs


def plan_list(plan_ids: Iterable[int]) -> str:
    """Return plan ids as the `plan_ids` column keeps them: `,1,2,3,`."""
    return "," + "".join(f"{int(i)}," for i in sorted(set(plan_ids)))


def record_view(
    session: Executor,
    *,
    page: Page,
    plan_ids: Iterable[int],
    link_holder: str,
    token_id: int | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> None:
    """Record that a page showing these plans was viewed through a link made for `link_holder`.

    `token_id` is the plan link's (approval_token.id); `ip` and `user_agent` are cut to the
    columns' sizes. One INSERT; the caller's transaction commits it.
    """
    session.execute(
        _INSERT,
        {
            "at": utcnow(),
            "page": page.value,
            "plan_ids": plan_list(plan_ids),
            "token_id": token_id,
            "link_holder": link_holder[:254],
            "ip": ip[:64] if ip else None,
            "user_agent": user_agent[:512] if user_agent else None,
        },
    )


@dataclass(frozen=True)
class View:
    at: dt.datetime
    page: str
    link_holder: str
    token_id: int | None
    ip: str | None
    user_agent: str | None


def views_of(session: Session, plan_id: int) -> list[View]:
    """Return every recorded view of a page that showed this plan, oldest first."""
    rows = session.execute(
        select(
            PageView.at,
            PageView.page,
            PageView.link_holder,
            PageView.token_id,
            PageView.ip,
            PageView.user_agent,
        )
        .where(PageView.plan_ids.like(f"%,{int(plan_id)},%"))
        .order_by(PageView.at, PageView.id)
    ).all()
    return [View(*row) for row in rows]
