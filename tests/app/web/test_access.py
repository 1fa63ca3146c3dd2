"""Every view of a page that shows pupil data is recorded: which page, which plans, which link,
when, from where. A refused link shows no pupil data and records nothing."""

from __future__ import annotations

import datetime as dt

import httpx
import time_machine
from sqlalchemy import select

from pumpurs.approvals import pending_url, read_link
from pumpurs.clock import RIGA
from pumpurs.store.access import plan_list, views_of
from pumpurs.store.context import Context
from pumpurs.store.models import ApprovalToken, PageView
from tests.app.web.conftest import csrf_of, plan_paths
from tests.approvals.factory import KURZEME, submitted_plan

AGENT = {"user-agent": "Mozilla/5.0 (access audit test)"}
NOON = dt.datetime(2026, 10, 6, 12, 0, tzinfo=RIGA)


def views(ctx: Context) -> list[PageView]:
    with ctx.sessions() as session:
        return list(session.scalars(select(PageView).order_by(PageView.id)))


def test_each_view_of_a_plan_page_is_one_row(context: Context, client: httpx.Client) -> None:
    plan_id = submitted_plan(context, ref="P-SEEN1")
    path = plan_paths(context)[plan_id]
    with time_machine.travel(NOON, tick=False):
        assert client.get(path, headers=AGENT).status_code == 200
    assert client.head(path, headers=AGENT).status_code == 200  # a mail scanner's look too
    first, second = views(context)
    with context.sessions() as session:
        token_id = session.scalars(
            select(ApprovalToken.id).where(
                ApprovalToken.nonce == read_link(context.settings, path.rsplit("/", 1)[1])
            )
        ).one()
    assert (first.page, first.plan_ids, first.token_id, first.link_holder) == (
        "plan", plan_list([plan_id]), token_id, KURZEME,
    )  # fmt: skip
    assert (first.ip, first.user_agent, first.at) == ("127.0.0.1", AGENT["user-agent"], NOON)
    assert second.page == "plan" and second.at > first.at
    with context.sessions() as session:
        assert [v.page for v in views_of(session, plan_id)] == ["plan", "plan"]
        assert views_of(session, plan_id + 1000) == []


def test_a_page_shown_again_for_a_missing_reason_is_recorded(
    context: Context, client: httpx.Client
) -> None:
    plan_id = submitted_plan(context, ref="P-SEEN2")
    path = plan_paths(context)[plan_id]
    page = client.get(path).text
    again = client.post(path, data={"csrf": csrf_of(page), "action": "return", "reason": " "})
    assert again.status_code == 400
    assert [v.page for v in views(context)] == ["plan", "plan"]


def test_a_refused_link_records_nothing(context: Context, client: httpx.Client) -> None:
    plan_id = submitted_plan(context, ref="P-SEEN3")
    path = plan_paths(context)[plan_id]
    page = client.get(path).text
    assert client.post(path, data={"csrf": csrf_of(page), "action": "approve"}).status_code == 200
    before = len(views(context))
    assert client.get(path).status_code == 409  # decided: the page says so, without the plan
    assert len(views(context)) == before


def test_the_pending_page_records_the_plans_it_lists(
    context: Context, client: httpx.Client
) -> None:
    listed = [submitted_plan(context, ref=f"P-LIST{i}") for i in range(3)]
    plan_paths(context)  # the steps and their links
    link = pending_url(context.settings, KURZEME).removeprefix(context.settings.base_url)
    assert client.get(link, headers=AGENT).status_code == 200
    [view] = views(context)
    assert (view.page, view.plan_ids, view.link_holder, view.token_id) == (
        "pending", plan_list(listed), KURZEME, None,
    )  # fmt: skip
    nobody = pending_url(context.settings, "neviens@kurzeme.example")
    assert client.get(nobody.removeprefix(context.settings.base_url)).status_code == 200
    assert len(views(context)) == 1  # an empty page shows no pupil: nothing to record
