"""A substitute stands in for an approver over dates: during them the digests and links go to
the substitute, who decides on the approver's behalf; outside them everything is the approver's,
and the substitute's links stop working."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from pumpurs.approvals import (
    LinkProblem,
    LinkRefused,
    Origin,
    Outcome,
    decide_link,
    decide_step,
    desks,
    pending_for,
    verify,
)
from pumpurs.clock import RIGA
from pumpurs.config import Substitute, load_config
from pumpurs.errors import ConfigError
from pumpurs.mail.sink import SmtpSink
from pumpurs.store.context import Context
from pumpurs.store.models import ApprovalToken, AuditEntry, Decision
from tests.approvals.factory import KURZEME, submitted_plan, with_roster
from tests.approvals.test_moves import links_to, nonce_of, plan_of, route
from tests.conftest import REPO

SUBSTITUTE = "aizvietotaja@kurzeme.example"
ROSTER_LINE = (
    'coordinator: {name: "Kurzemes reģionālais koordinators", '
    'email: "koordinators@kurzeme.example"}'
)
ON_LEAVE = ROSTER_LINE[:-1] + (
    ', substitute: {name: "Aizvietotāja", email: "aizvietotaja@kurzeme.example",'
    " from: 2026-10-12, to: 2026-10-16}}"
)
ORIGIN = Origin(ip="192.0.2.10", user_agent="pytest")


def day(number: int) -> dt.datetime:
    """Return 07:30 in Riga on 5 October 2026 + `number` days."""
    return dt.datetime(2026, 10, 5 + number, 7, 30, tzinfo=RIGA)


def test_digests_and_decisions_go_to_the_substitute_in_the_range_and_back_after(
    context: Context, smtp: SmtpSink, tmp_path: Path
) -> None:
    ctx = with_roster(context, tmp_path / "config", "regions.yaml", ROSTER_LINE, ON_LEAVE)
    with time_machine.travel(day(0), tick=False):  # Monday 5 October: before the range
        early = submitted_plan(ctx, ref="P-EARLY")
        route(ctx)
    [approver_link] = links_to(smtp, KURZEME)
    with time_machine.travel(day(7), tick=False):  # Monday 12 October: the substitute's
        late = submitted_plan(ctx, ref="P-LATE")
        counts = route(ctx)
        assert (counts["digests_queued"], counts["plans_notified"]) == (1, 2)
        assert links_to(smtp, KURZEME) == [approver_link]  # nothing more to the approver
        substitute_links = {plan_of(ctx, link): link for link in links_to(smtp, SUBSTITUTE)}
        assert set(substitute_links) == {early, late}
        with ctx.sessions() as session:
            on_behalf = set(session.scalars(select(ApprovalToken.on_behalf_of)))
            assert on_behalf == {None, KURZEME}
            # The substitute's pending page lists the approver's plans.
            assert {s.plan_id for s in pending_for(session, SUBSTITUTE, [KURZEME])} == {
                early, late,
            }  # fmt: skip
        with ctx.sessions.begin() as session:
            decided = decide_link(session, ctx.config, ctx.settings,
                                  nonce_of(ctx, substitute_links[late]), Outcome.RETURNED,
                                  reason="Precizējiet mērķi", origin=ORIGIN)  # fmt: skip
        assert (decided.approver_email, decided.substitute_email) == (KURZEME, SUBSTITUTE)
        assert route(ctx)["digests_queued"] == 0  # a second run the same day: nothing new
    with ctx.sessions() as session:
        decision = session.scalars(select(Decision)).one()
        assert (decision.approver_email, decision.substitute_email) == (KURZEME, SUBSTITUTE)
        returned = select(AuditEntry).where(AuditEntry.action == "plan.returned")
        audit = session.scalars(returned).one()
        assert (audit.actor, audit.details["on_behalf_of"]) == (SUBSTITUTE, KURZEME)

    with time_machine.travel(day(12), tick=False):  # Saturday 17 October: the range is over
        counts = route(ctx)
        assert (counts["digests_queued"], counts["plans_notified"]) == (1, 1)
        back = [link for link in links_to(smtp, KURZEME) if link != approver_link]
        assert [plan_of(ctx, link) for link in back] == [early]
        with ctx.sessions() as session, pytest.raises(LinkRefused) as refused:
            verify(session, nonce_of(ctx, substitute_links[early]), ctx.config)
        assert (refused.value.problem, refused.value.role) == (
            LinkProblem.SUBSTITUTION_ENDED,
            "regional_coordinator",
        )
        with ctx.sessions.begin() as session, pytest.raises(LinkRefused) as refused:
            step_id = verify(session, nonce_of(ctx, back[0]), ctx.config).step_id
            decide_step(session, ctx.config, ctx.settings, step_id, SUBSTITUTE,
                        Outcome.APPROVED, reason=None, origin=ORIGIN)  # fmt: skip
        assert refused.value.problem == LinkProblem.SUBSTITUTION_ENDED
        with ctx.sessions.begin() as session:
            again = decide_link(session, ctx.config, ctx.settings, nonce_of(ctx, back[0]),
                                Outcome.APPROVED, reason=None, origin=ORIGIN)  # fmt: skip
        assert (again.plan_id, again.approver_email, again.substitute_email) == (
            early, KURZEME, None,
        )  # fmt: skip


def test_the_approver_s_own_links_keep_working_during_the_range(
    context: Context, smtp: SmtpSink, tmp_path: Path
) -> None:
    ctx = with_roster(context, tmp_path / "config", "regions.yaml", ROSTER_LINE, ON_LEAVE)
    with time_machine.travel(day(0), tick=False):
        plan_id = submitted_plan(ctx, ref="P-OWN")
        route(ctx)
    [own] = links_to(smtp, KURZEME)
    with time_machine.travel(day(8), tick=False), ctx.sessions.begin() as session:
        done = decide_link(session, ctx.config, ctx.settings, nonce_of(ctx, own),
                           Outcome.APPROVED, reason=None, origin=ORIGIN)  # fmt: skip
    assert (done.plan_id, done.substitute_email) == (plan_id, None)


def test_the_desks_rule() -> None:
    config = load_config(REPO / "config")
    substitute = Substitute.model_validate(
        {"name": "A", "email": SUBSTITUTE, "from": "2026-10-12", "to": "2026-10-16"}
    )
    region = config.regions[0].model_copy(
        update={"coordinator": config.regions[0].coordinator.model_copy(
            update={"substitute": substitute})}
    )  # fmt: skip
    rule = desks(config.model_copy(update={"regions": [region, *config.regions[1:]]}))
    first, last = dt.date(2026, 10, 12), dt.date(2026, 10, 16)
    for when, desk in [(first - dt.timedelta(days=1), KURZEME), (first, SUBSTITUTE),
                       (last, SUBSTITUTE), (last + dt.timedelta(days=1), KURZEME)]:  # fmt: skip
        assert rule.desk(KURZEME, when) == desk
        assert rule.stands_in(SUBSTITUTE.upper(), KURZEME, when) == (desk == SUBSTITUTE)
        assert rule.stood_in_for(SUBSTITUTE, when) == ([KURZEME] if desk == SUBSTITUTE else [])
    assert rule.desk("koordinators@riga.example", first) == "koordinators@riga.example"


@pytest.mark.parametrize(
    ("substitute", "problem"),
    [
        ("{name: X, email: x@kurzeme.example, from: 2026-10-16, to: 2026-10-12}", "`to`"),
        ("{name: X, email: koordinators@kurzeme.example, from: 2026-10-12, to: 2026-10-16}",
         "someone else"),
        ("{name: X, email: x@kurzeme.example, from: 2026-10-12}", "Field required"),
    ],
)  # fmt: skip
def test_a_wrong_substitute_is_refused_naming_the_key(
    tmp_path: Path, substitute: str, problem: str
) -> None:
    shutil.copytree(REPO / "config", tmp_path / "config")
    path = tmp_path / "config" / "regions.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(ROSTER_LINE, ROSTER_LINE[:-1] + f", substitute: {substitute}}}"), "utf-8"
    )
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path / "config")
    assert error.value.key.startswith("regions.0.coordinator")
    assert problem in error.value.problem
