from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from pumpurs.approvals import (
    LinkProblem,
    LinkRefused,
    Origin,
    Outcome,
    ReasonRequired,
    decide_link,
    decide_step,
    issue_tokens,
)
from pumpurs.store.context import Context
from pumpurs.store.models import (
    ApprovalStep,
    ApprovalToken,
    AuditEntry,
    Decision,
    OutboxMessage,
    Plan,
    PlanStatus,
)
from tests.approvals.factory import KURZEME, issue_links, submitted_plan

ORIGIN = Origin(ip="192.0.2.7", user_agent="Mozilla/5.0 (pytest)")


def _decide(ctx: Context, nonce: str, outcome: Outcome, reason: str | None = None) -> object:
    with ctx.sessions.begin() as session:
        return decide_link(
            session, ctx.config, ctx.settings, nonce, outcome, reason=reason, origin=ORIGIN
        )


def test_approving_records_decision_audit_and_activates_the_plan(context: Context) -> None:
    plan_id = submitted_plan(context)
    nonce = issue_links(context)[plan_id]
    with context.sessions.begin() as session:  # a reminder's second link for the same step
        step = session.scalars(select(ApprovalStep)).one()
        sibling = issue_tokens(session, context.config, [(step.id, KURZEME, 1)])[step.id]
    _decide(context, nonce, Outcome.APPROVED)
    with context.sessions() as session:
        decision = session.scalars(select(Decision)).one()
        assert (decision.plan_id, decision.outcome, decision.approver_email) == (
            plan_id, "approved", KURZEME,
        )  # fmt: skip
        assert (decision.ip, decision.user_agent) == (ORIGIN.ip, ORIGIN.user_agent)
        audit = session.scalars(select(AuditEntry)).one()
        assert (audit.actor, audit.action, audit.entity_id, audit.ip) == (
            KURZEME, "plan.approved", plan_id, ORIGIN.ip,
        )  # fmt: skip
        assert audit.user_agent == ORIGIN.user_agent and audit.details["via"] == "link"
        assert session.get(Plan, plan_id).status == PlanStatus.APPROVED  # type: ignore[union-attr]
        unused = session.scalar(
            select(func.count()).select_from(ApprovalToken).where(ApprovalToken.used_at.is_(None))
        )
        assert unused == 0  # the sibling link died with the decision
    with pytest.raises(LinkRefused) as caught:
        _decide(context, sibling, Outcome.RETURNED, "late")
    assert caught.value.problem == LinkProblem.DECIDED


def test_returning_needs_a_reason_and_consumes_nothing_without_one(context: Context) -> None:
    plan_id = submitted_plan(context)
    nonce = issue_links(context)[plan_id]
    for reason in (None, "", "   \n"):
        with pytest.raises(ReasonRequired):
            _decide(context, nonce, Outcome.RETURNED, reason)
    with context.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Decision)) == 0
        assert session.scalars(select(ApprovalToken.used_at)).one() is None


def test_returning_queues_the_schools_email_once(context: Context) -> None:
    plan_id = submitted_plan(context, ref="P-RET01")
    nonce = issue_links(context)[plan_id]
    _decide(context, nonce, Outcome.RETURNED, "  Trūkst psihologa stundu pamatojuma.  ")
    with context.sessions() as session:
        assert session.get(Plan, plan_id).status == PlanStatus.RETURNED  # type: ignore[union-attr]
        decision = session.scalars(select(Decision)).one()
        assert decision.reason == "Trūkst psihologa stundu pamatojuma."
        message = session.scalars(select(OutboxMessage)).one()
    assert message.dedupe_key == f"plan-returned:{decision.id}"
    assert (message.kind, message.recipient) == ("plan_returned", "iaps@raina6.liepaja.example")
    assert "P-RET01" in message.subject
    assert "Trūkst psihologa stundu pamatojuma." in message.body_text
    assert "2026-2027-1/LV-LIE-006/plans/" not in message.body_text  # no shared folder here
    assert re.search(r"http://127\.0\.0\.1:8080/s/\S+", message.body_text)  # the school's page


def test_a_step_of_another_approver_is_refused(context: Context) -> None:
    submitted_plan(context)
    issue_links(context)
    with context.sessions.begin() as session, pytest.raises(LinkRefused) as caught:
        step_id = session.scalars(select(ApprovalStep.id)).one()
        decide_step(
            session, context.config, context.settings, step_id, "koordinators@riga.example",
            Outcome.APPROVED, reason=None, origin=ORIGIN,
        )  # fmt: skip
    assert caught.value.problem == LinkProblem.OTHER_APPROVER


def test_of_two_concurrent_decisions_exactly_one_wins(context: Context) -> None:
    plan_id = submitted_plan(context)
    nonce = issue_links(context)[plan_id]
    start = threading.Barrier(2)
    results: list[object] = []

    def attempt(outcome: Outcome) -> None:
        start.wait()
        try:
            results.append(_decide(context, nonce, outcome, "Labot"))
        except LinkRefused as refused:
            results.append(refused)

    threads = [threading.Thread(target=attempt, args=(o,)) for o in Outcome]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    refusals = [r for r in results if isinstance(r, LinkRefused)]
    assert len(results) == 2 and len(refusals) == 1
    assert refusals[0].problem in (LinkProblem.DECIDED, LinkProblem.USED)
    with context.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Decision)) == 1
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1
