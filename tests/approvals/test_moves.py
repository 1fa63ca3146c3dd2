"""People change: when the roster names another approver, the next route run moves the pending
steps to them. The old links die saying where the plan went (by role), the new approver gets a
digest, the audit log keeps the move, and a decision made before the move stands."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from pumpurs.approvals import (
    LinkProblem,
    LinkRefused,
    Origin,
    Outcome,
    decide_link,
    decide_step,
    ensure_steps,
    pending_url,
    queue_route_mail,
    read_link,
    verify,
)
from pumpurs.mail.delivery import deliver
from pumpurs.mail.sink import SmtpSink
from pumpurs.semester import SemesterCode
from pumpurs.store.context import Context
from pumpurs.store.models import ApprovalStep, AuditEntry, Decision, Plan, PlanStatus, StepStatus
from pumpurs.store.reference import stored_semester
from tests.app.web.conftest import serve
from tests.approvals.factory import (
    KURZEME,
    RIGA_REGION,
    SEMESTER,
    submitted_plan,
    with_roster,
)

NEW = "jauna.koordinatore@kurzeme.example"
ORIGIN = Origin(ip="192.0.2.9", user_agent="pytest")
LINK = re.compile(r"http://127\.0\.0\.1:8080/a/(\S+)")


def route(ctx: Context) -> dict[str, int]:
    """Do what a route run does with the store and the mail: steps, digests, delivery."""
    with ctx.sessions.begin() as session:
        moved = ensure_steps(session, ctx.config).moved
        semester = stored_semester(session, SemesterCode.parse(SEMESTER))
        counts = queue_route_mail(session, ctx.config, ctx.settings, semester).counts()
    report = deliver(ctx.sessions, ctx.settings, retry_delays=[0.05])
    assert report.left_queued == 0
    return {**counts, "steps_moved": moved}


def links_to(smtp: SmtpSink, recipient: str) -> list[str]:
    """Return the plan links (signed parts) of every digest the recipient received."""
    found = []
    for received in smtp.received:
        if recipient in received.recipients:
            body = received.message().get_body(("plain",))
            assert body is not None
            found += LINK.findall(body.get_content())
    return found


def nonce_of(ctx: Context, signed: str) -> str:
    return read_link(ctx.settings, signed)


def plan_of(ctx: Context, signed: str) -> int:
    with ctx.sessions() as session:
        return verify(session, nonce_of(ctx, signed), ctx.config).plan_id


def test_a_replaced_coordinator_s_pending_plans_move_to_the_new_one(
    context: Context, smtp: SmtpSink, tmp_path: Path
) -> None:
    waiting = submitted_plan(context, ref="P-WAIT1")
    decided = submitted_plan(context, ref="P-DONE1")
    assert route(context)["digests_queued"] == 1
    old_links = {plan_of(context, link): link for link in links_to(smtp, KURZEME)}
    with context.sessions.begin() as session:  # decided before the roster changes: it stands
        nonce = nonce_of(context, old_links[decided])
        decide_link(session, context.config, context.settings, nonce, Outcome.APPROVED,
                    reason=None, origin=ORIGIN)  # fmt: skip

    changed = with_roster(context, tmp_path / "config", "regions.yaml", KURZEME, NEW)
    counts = route(changed)
    assert (counts["steps_moved"], counts["digests_queued"], counts["plans_notified"]) == (1, 1, 1)
    assert route(changed)["steps_moved"] == 0  # a second run moves nothing more

    # The new coordinator got a digest with a working link to the waiting plan.
    new_links = links_to(smtp, NEW)
    assert [plan_of(changed, link) for link in new_links] == [waiting]
    # The old link dies, naming the role.
    with changed.sessions() as session, pytest.raises(LinkRefused) as refused:
        verify(session, nonce_of(changed, old_links[waiting]), changed.config)
    assert (refused.value.problem, refused.value.role) == (
        LinkProblem.MOVED,
        "regional_coordinator",
    )
    with changed.sessions() as session:
        step = session.scalars(select(ApprovalStep).where(ApprovalStep.plan_id == waiting)).one()
        assert (step.approver_email, step.status, step.notified_to) == (NEW, "pending", NEW)
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "approval.step.moved")
        ).one()
        assert (audit.entity_id, audit.details["from"], audit.details["to"]) == (
            waiting, KURZEME, NEW,
        )  # fmt: skip
        assert audit.details["role"] == "regional_coordinator"
        # The decision made before the move stands, with who made it.
        decision = session.scalars(select(Decision).where(Decision.plan_id == decided)).one()
        assert (decision.approver_email, decision.outcome) == (KURZEME, "approved")
        assert session.get(Plan, decided).status == PlanStatus.APPROVED  # type: ignore[union-attr]
        kept = session.scalars(select(ApprovalStep).where(ApprovalStep.plan_id == decided)).one()
        assert (kept.approver_email, kept.status) == (KURZEME, StepStatus.APPROVED)

    # The old coordinator's pending page no longer offers the plan; picking it says it moved.
    with changed.sessions.begin() as session, pytest.raises(LinkRefused) as refused:
        decide_step(session, changed.config, changed.settings, step.id, KURZEME,
                    Outcome.APPROVED, reason=None, origin=ORIGIN)  # fmt: skip
    assert refused.value.problem == LinkProblem.MOVED
    # The new coordinator decides it.
    with changed.sessions.begin() as session:
        done = decide_link(session, changed.config, changed.settings,
                           nonce_of(changed, new_links[0]), Outcome.APPROVED, reason=None,
                           origin=ORIGIN)  # fmt: skip
    assert (done.plan_id, done.approver_email, done.substitute_email) == (waiting, NEW, None)


def test_the_old_link_s_page_names_the_role_and_the_old_pending_page_is_empty(
    context: Context, smtp: SmtpSink, tmp_path: Path
) -> None:
    plan_id = submitted_plan(context, ref="P-PAGE1")
    route(context)
    [old] = links_to(smtp, KURZEME)
    changed = with_roster(context, tmp_path / "config", "regions.yaml", KURZEME, NEW)
    route(changed)
    with serve(changed.settings) as server, httpx.Client(base_url=server.url) as http:
        refused = http.get(f"/a/{old}")
        assert refused.status_code == 410
        assert "reģionālais koordinators" in refused.text and "Plāns pārcelts" in refused.text
        assert NEW not in refused.text and KURZEME not in refused.text
        assert "P-PAGE1" not in refused.text
        base = changed.settings.base_url
        pending = http.get(pending_url(changed.settings, KURZEME).removeprefix(base))
        assert pending.status_code == 200 and "P-PAGE1" not in pending.text
        mine = http.get(pending_url(changed.settings, NEW).removeprefix(base))
        assert "P-PAGE1" in mine.text
    with changed.sessions() as session:
        assert session.get(Plan, plan_id).status == PlanStatus.SUBMITTED  # type: ignore[union-attr]


def test_a_school_moved_to_another_region_moves_its_pending_plans(
    context: Context, smtp: SmtpSink, tmp_path: Path
) -> None:
    moving = submitted_plan(context, "LV-LIE-006", "P-MOVE1")
    staying = submitted_plan(context, "LV-LIE-015", "P-STAY1")
    route(context)
    old = 'code: LV-LIE-006, name: "Liepājas Raiņa 6. vidusskola", municipality: liepaja'
    new = 'code: LV-LIE-006, name: "Liepājas Raiņa 6. vidusskola", municipality: riga'
    changed = with_roster(context, tmp_path / "config", "schools.yaml", old, new)
    assert route(changed)["steps_moved"] == 1
    with changed.sessions() as session:
        query = select(ApprovalStep.plan_id, ApprovalStep.approver_email)
        owners = dict(session.execute(query).tuples().all())
    assert owners == {moving: RIGA_REGION, staying: KURZEME}
    assert [plan_of(changed, link) for link in links_to(smtp, RIGA_REGION)] == [moving]
