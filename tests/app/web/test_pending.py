from __future__ import annotations

import datetime as dt
import re

import httpx
import time_machine
from sqlalchemy import func, select

from pumpurs.app.web.pending import PAGE_SIZE
from pumpurs.approvals import pending_url
from pumpurs.clock import utcnow
from pumpurs.store.context import Context
from pumpurs.store.models import ApprovalStep, AuditEntry, Decision, Plan, PlanStatus
from tests.app.web.conftest import csrf_of, plan_paths
from tests.approvals.factory import KURZEME, RIGA_REGION, submitted_plan

STEP = re.compile(r'name="step" value="(\d+)"')


def _pending_path(ctx: Context, approver: str) -> str:
    return pending_url(ctx.settings, approver).removeprefix(ctx.settings.base_url)


def _decisions(ctx: Context) -> int:
    with ctx.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Decision)) or 0)


def _step_of(ctx: Context, approver: str) -> int:
    with ctx.sessions() as session:
        return session.scalars(
            select(ApprovalStep.id).where(ApprovalStep.approver_email == approver)
        ).one()


def test_the_page_lists_only_the_approvers_plans_and_approves_several_at_once(
    context: Context, client: httpx.Client
) -> None:
    mine = [submitted_plan(context, ref=f"P-000{i}") for i in (1, 2, 3)]
    submitted_plan(context, "LV-RIG-T01", "P-RIGA1")
    plan_paths(context)
    path = _pending_path(context, KURZEME)
    page = client.get(path)
    assert page.status_code == 200 and client.head(path).status_code == 200
    assert "P-0001" in page.text and "P-RIGA1" not in page.text
    assert page.text.count('href="http://127.0.0.1:') == 3  # each plan's own review link
    steps = STEP.findall(page.text)
    assert len(steps) == 3 and _decisions(context) == 0
    done = client.post(path, data={"csrf": csrf_of(page.text), "step": steps[:2]})
    assert done.status_code == 200 and "Apstiprināti plāni: 2. Neapstrādāti: 0." in done.text
    again = client.post(path, data={"csrf": csrf_of(page.text), "step": steps[:2]})
    assert again.status_code == 200 and "Apstiprināti plāni: 0. Neapstrādāti: 2." in again.text
    assert "Par plānu jau ir lemts" in again.text
    with context.sessions() as session:
        statuses = dict(session.execute(select(Plan.id, Plan.status)).tuples().all())
        vias = [a.details["via"] for a in session.scalars(select(AuditEntry))]
    assert sorted(statuses[p] for p in mine) == ["approved", "approved", PlanStatus.SUBMITTED]
    assert vias == ["pending-page", "pending-page"] and _decisions(context) == 2
    left = client.get(path)
    assert len(STEP.findall(left.text)) == 1


def test_another_approvers_plan_is_refused_and_nothing_is_decided(
    context: Context, client: httpx.Client
) -> None:
    submitted_plan(context)
    submitted_plan(context, "LV-RIG-T01", "P-RIGA1")
    plan_paths(context)
    path = _pending_path(context, KURZEME)
    token = csrf_of(client.get(path).text)
    steps = [_step_of(context, KURZEME), _step_of(context, RIGA_REGION)]
    refused = client.post(path, data={"csrf": token, "step": [str(s) for s in steps]})
    assert refused.status_code == 403 and "cita apstiprinātāja" in refused.text
    unknown = client.post(path, data={"csrf": token, "step": ["999999"]})
    assert unknown.status_code == 404
    assert _decisions(context) == 0


def test_csrf_selection_and_expiry_of_the_pending_page(
    context: Context, client: httpx.Client
) -> None:
    submitted_plan(context)
    submitted_plan(context, "LV-RIG-T01", "P-RIGA1")
    plan_paths(context)
    path = _pending_path(context, KURZEME)
    step = str(_step_of(context, KURZEME))
    assert client.post(path, data={"step": [step]}).status_code == 403
    other_page = csrf_of(client.get(_pending_path(context, RIGA_REGION)).text)
    assert client.post(path, data={"csrf": other_page, "step": [step]}).status_code == 403
    token = csrf_of(client.get(path).text)
    nothing = client.post(path, data={"csrf": token})
    assert nothing.status_code == 400 and "Atzīmējiet vismaz vienu plānu" in nothing.text
    assert client.post(path, data={"csrf": token, "step": ["x"]}).status_code == 400
    with time_machine.travel(utcnow() + dt.timedelta(days=15), tick=False):
        expired = client.get(path)
    assert expired.status_code == 410 and "derīguma termiņš" in expired.text
    assert _decisions(context) == 0


def test_a_long_list_shows_the_oldest_page_first(context: Context, client: httpx.Client) -> None:
    for number in range(PAGE_SIZE + 1):
        submitted_plan(context, ref=f"P-{number:04d}")
    plan_paths(context)
    page = client.get(_pending_path(context, KURZEME))
    assert len(STEP.findall(page.text)) == PAGE_SIZE
    # 201 ends in 1: the noun is singular (genitive after "no")
    assert f"Parādīti vecākie {PAGE_SIZE} no {PAGE_SIZE + 1} plāna." in page.text
