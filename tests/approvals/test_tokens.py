from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import time_machine
from itsdangerous import URLSafeSerializer

from pumpurs.approvals import (
    LinkProblem,
    LinkRefused,
    Origin,
    Outcome,
    approval_url,
    decide_link,
    pending_url,
    plan_link,
    read_link,
    read_pending_link,
    verify,
)
from pumpurs.approvals.tokens import APPROVAL_SALT
from pumpurs.clock import RIGA, utcnow
from pumpurs.store.context import Context
from tests.approvals.factory import KURZEME, issue_links, resubmit, submitted_plan, tamper


def _signed(ctx: Context, nonce: str) -> str:
    return approval_url(ctx.settings, nonce).rsplit("/", 1)[1]


def _refusal(ctx: Context, nonce: str) -> LinkRefused:
    with ctx.sessions() as session, pytest.raises(LinkRefused) as caught:
        verify(session, nonce)
    return caught.value


def test_a_link_carries_its_nonce_signed(context: Context) -> None:
    plan_id = submitted_plan(context)
    nonce = issue_links(context)[plan_id]
    assert read_link(context.settings, _signed(context, nonce)) == nonce
    with context.sessions() as session:
        verified = verify(session, nonce)
    assert (verified.plan_id, verified.revision, verified.approver_email) == (plan_id, 1, KURZEME)
    assert verified.expires_at.astimezone(RIGA).time() == dt.time(0, 0)


@pytest.mark.parametrize(
    ("mangle", "problem"),
    [
        (tamper, LinkProblem.FORGED),
        (lambda s: "x" + s, LinkProblem.FORGED),
        (lambda s: s.split(".")[0], LinkProblem.MALFORMED),  # cut short by a mail program
        (lambda s: s + "<script>", LinkProblem.MALFORMED),
        (lambda s: "", LinkProblem.MALFORMED),
        (lambda s: s * 10, LinkProblem.MALFORMED),
    ],
)
def test_tampered_and_broken_links_are_refused(
    context: Context, mangle: Callable[[str], str], problem: LinkProblem
) -> None:
    signed = _signed(context, "some-nonce")
    with pytest.raises(LinkRefused) as caught:
        read_link(context.settings, mangle(signed))
    assert caught.value.problem == problem


def test_a_link_signed_with_another_key_is_forged(context: Context) -> None:
    forged = URLSafeSerializer("not the key", salt=APPROVAL_SALT).dumps("some-nonce")
    with pytest.raises(LinkRefused) as caught:
        read_link(context.settings, forged)
    assert caught.value.problem == LinkProblem.FORGED and caught.value.status == 403


def test_unknown_expired_superseded_and_decided_links(context: Context) -> None:
    assert _refusal(context, "never-issued").problem == LinkProblem.UNKNOWN
    plan_id = submitted_plan(context)
    nonce = issue_links(context)[plan_id]
    with time_machine.travel(utcnow() + dt.timedelta(days=15), tick=False):
        refused = _refusal(context, nonce)
    assert (refused.problem, refused.status) == (LinkProblem.EXPIRED, 410)
    with time_machine.travel(utcnow() + dt.timedelta(days=13), tick=False):
        with context.sessions() as session:
            verify(session, nonce)  # still valid on day 13
    resubmit(context, plan_id)
    refused = _refusal(context, nonce)
    assert (refused.problem, refused.status) == (LinkProblem.SUPERSEDED, 410)
    fresh = issue_links(context)[plan_id]
    with context.sessions.begin() as session:
        decide_link(
            session, context.config, context.settings, fresh, Outcome.APPROVED,
            reason=None, origin=Origin("127.0.0.1", "pytest"),
        )  # fmt: skip
    refused = _refusal(context, fresh)
    assert (refused.problem, refused.status) == (LinkProblem.DECIDED, 409)
    assert refused.decided is not None and refused.decided.approver_email == KURZEME


def test_the_pending_page_link_names_its_approver_and_expires(context: Context) -> None:
    signed = pending_url(context.settings, "Koordinators@Kurzeme.example").rsplit("/", 1)[1]
    assert read_pending_link(context.settings, context.config, signed) == KURZEME
    with time_machine.travel(utcnow() + dt.timedelta(days=15), tick=False):
        with pytest.raises(LinkRefused) as caught:
            read_pending_link(context.settings, context.config, signed)
    assert caught.value.problem == LinkProblem.EXPIRED
    with pytest.raises(LinkRefused) as caught:
        read_pending_link(context.settings, context.config, _signed(context, "x"))
    assert caught.value.problem == LinkProblem.FORGED


def test_plan_link_finds_the_working_link_of_a_pending_plan(context: Context) -> None:
    plan_id = submitted_plan(context)
    with context.sessions() as session:
        assert plan_link(session, context.settings, plan_id) is None  # not routed yet
    nonce = issue_links(context)[plan_id]
    with context.sessions() as session:
        assert plan_link(session, context.settings, plan_id) == approval_url(
            context.settings, nonce
        )
