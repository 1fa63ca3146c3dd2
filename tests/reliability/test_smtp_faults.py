"""The SMTP server down, answering 421, cutting the connection mid-batch or dying between DATA
and its reply, during real flows: once it is back, every message arrives, counted at the server:
once, or (when the server's answer was lost) once more with the same Message-ID, as the run
says."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from flows.collect_plans import collect_plans
from flows.open_semester import open_semester
from pumpurs.generate import generate
from pumpurs.mail.sink import SmtpSink
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store.context import Context, load_context, use_settings
from pumpurs.store.models import MailStatus, OutboxMessage
from pumpurs.store.reference import ensure_semester
from tasks.common import MailNotDelivered
from tests.reliability.conftest import SQLITE_ONLY
from tests.reliability.tally import Tally

pytestmark = [pytest.mark.reliability, pytest.mark.usefixtures("prefect_harness"), SQLITE_ONLY]
SEMESTER = SemesterCode.parse("2026/2027-1")


def down(smtp: SmtpSink) -> None:
    smtp.stop()


def refusing_after_3(smtp: SmtpSink) -> None:
    smtp.max_messages = 3


def cutting_after_4(smtp: SmtpSink) -> None:
    smtp.drop_after = 4


def dying_after_data_of_the_4th(smtp: SmtpSink) -> None:
    smtp.lose_answer(after=3, die=True)


def heal(smtp: SmtpSink) -> None:
    """Bring the server back in its normal state."""
    smtp.max_messages = None
    smtp.drop_after = None
    if not smtp.running:
        smtp.start()


def message_ids(smtp: SmtpSink) -> list[str]:
    """Return the Message-ID of every message the server accepted, in order."""
    return [str(received.message()["Message-ID"]) for received in smtp.received]


def outbox(ctx: Context) -> list[tuple[str, str, str]]:
    """Return (message id, recipient, status) of every queued message."""
    with ctx.sessions() as session:
        rows = session.execute(
            select(OutboxMessage.message_id, OutboxMessage.recipient, OutboxMessage.status)
        ).all()
    return [(str(m), str(r), str(s)) for m, r, s in rows]


def check_each_once(ctx: Context, smtp: SmtpSink, expected: list[str], tally: Tally) -> None:
    """Hold the server's count against the expected recipients and the outbox, once each."""
    recipients = [r for received in smtp.received for r in received.recipients]
    queued = outbox(ctx)
    tally.reconcile(expected, recipients)
    assert sorted(recipients) == sorted(expected)
    assert sorted(message_ids(smtp)) == sorted(m for m, _, _ in queued)
    assert {s for _, _, s in queued} == {MailStatus.SENT}


@pytest.mark.parametrize("fault", [down, refusing_after_3, cutting_after_4])
def test_open_semester_delivers_each_invitation_once_after_the_server_is_back(
    context: Context, smtp: SmtpSink, tally: Tally, fault: Callable[[SmtpSink], None]
) -> None:
    invitees = [school.coordinator.email for school in context.config.schools]
    fault(smtp)
    tally.fault()
    broken = open_semester(SEMESTER.code, return_state=True)
    delivered = message_ids(smtp)
    # Still broken: a second run must neither lose nor repeat what the first one left queued.
    still_broken = open_semester(SEMESTER.code, return_state=True)
    heal(smtp)
    healed = open_semester(SEMESTER.code, return_state=True)
    check_each_once(context, smtp, invitees, tally)
    assert broken.is_failed() and still_broken.is_failed(), (broken.message, still_broken.message)
    assert len(delivered) == len(set(delivered)) < len(invitees)
    assert healed.is_completed(), healed.message
    assert healed.result()["invitations_queued"] == 0
    assert healed.result()["mail_sent"] == len(invitees) - len(delivered)
    again = open_semester(SEMESTER.code)
    assert (again["invitations_queued"], again["mail_sent"]) == (0, 0)
    check_each_once(context, smtp, invitees, tally)


def test_a_connection_cut_once_mid_batch_is_retried_within_the_run(
    context: Context, smtp: SmtpSink, tally: Tally
) -> None:
    invitees = [school.coordinator.email for school in context.config.schools]
    held = smtp.hold_after(4)
    # The fifth message is held at DATA, then its connection is cut: the mail path reconnects.

    def release() -> None:
        if held.wait(60):
            smtp.release()

    releaser = threading.Thread(target=release)
    releaser.start()
    state = open_semester(SEMESTER.code, return_state=True)
    releaser.join(60)
    tally.fault()
    check_each_once(context, smtp, invitees, tally)
    assert held.is_set() and state.is_completed(), state.message


def test_collect_reports_go_once_each_after_the_server_refused_mid_batch(
    settings: Settings, smtp: SmtpSink, tmp_path: Path, tally: Tally
) -> None:
    generate("small", 2, tmp_path / "data", SEMESTER)
    manifest = json.loads((tmp_path / "data" / "manifest.json").read_text(encoding="utf-8"))
    local = settings.model_copy(update={
        "config_dir": tmp_path / "data" / "config", "inbox_dir": tmp_path / "data" / "inbox",
        "smtp_host": smtp.host, "smtp_port": smtp.port})  # fmt: skip
    with use_settings(local):
        ctx = load_context(local)
        with ctx.sessions.begin() as session:
            ensure_semester(session, ctx.config, SEMESTER)
        smtp.max_messages = 2
        tally.fault()
        broken = collect_plans(SEMESTER.code, return_state=True)
        heal(smtp)
        state = collect_plans(SEMESTER.code, return_state=True)
    schools = {f["school_code"] for f in manifest["files"] if f["kind"] == "plans"}
    coordinators = [s.coordinator.email for s in ctx.config.schools if s.code in schools]
    check_each_once(ctx, smtp, coordinators, tally)
    assert isinstance(broken.result(raise_on_failure=False), MailNotDelivered)
    assert state.is_completed(), state.message
    assert len(coordinators) > 2 and state.result()["files"] == 0


def test_a_server_dying_between_data_and_its_reply_repeats_one_message_and_says_so(
    context: Context, smtp: SmtpSink, tally: Tally
) -> None:
    invitees = [school.coordinator.email for school in context.config.schools]
    dying_after_data_of_the_4th(smtp)
    tally.fault()
    broken = open_semester(SEMESTER.code, return_state=True)
    assert broken.is_failed() and len(smtp.received) == 4, broken.message
    heal(smtp)
    healed = open_semester(SEMESTER.code, return_state=True)
    assert healed.is_completed(), healed.message
    ids = message_ids(smtp)
    queued = outbox(context)
    # Counted at the server: one delivery more than messages, all of them distinct by
    # Message-ID (so a mail program shows one), and the run that repeated it says so.
    assert len(ids) == len(invitees) + 1
    assert len(set(ids)) == len(queued) == len(invitees)
    assert healed.result()["mail_possibly_repeated"] == 1
    assert healed.result()["mail_sent"] == len(invitees) - 3
    assert ids.count(ids[3]) == 2 and {s for _, _, s in queued} == {MailStatus.SENT}
    # The declared repeat is the same message (one Message-ID), not a duplicate to count.
    tally.reconcile(invitees, {r for m in smtp.received for r in m.recipients})
    assert sorted(set(ids)) == sorted(m for m, _, _ in queued)
    again = open_semester(SEMESTER.code)
    assert (again["mail_sent"], again["mail_possibly_repeated"]) == (0, 0)
