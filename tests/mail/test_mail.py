from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from pumpurs.clock import utcnow
from pumpurs.i18n.templates import RenderedEmail, render_email
from pumpurs.mail.delivery import deliver
from pumpurs.mail.outbox import Attachment, Outgoing, _insert_new, queue, queue_many
from pumpurs.mail.sink import SmtpSink
from pumpurs.store.context import Context
from pumpurs.store.models import OutboxAttachment, OutboxMessage
from tasks.dashboard import mail_notes

TAG = re.compile(r"<[a-zA-Z/!][^>]*>")


def _email(n: int) -> RenderedEmail:
    return RenderedEmail(
        subject=f"Ziņa {n} — ā č ē", text=f"Teksts {n}\n", html=f"<p>Teksts {n}</p>"
    )


def _queue(ctx: Context, count: int, refuse: str | None = None) -> None:
    with ctx.sessions.begin() as session:
        for n in range(count):
            to = refuse if refuse and n == 1 else f"school{n}@pumpurs.example"
            queue(
                session,
                key=f"test:{n}",
                kind="test",
                to=to,
                email=_email(n),
                attachments=[Attachment("a.csv", "text/csv", b"x;y\n1;2\n")],
            )


def _statuses(ctx: Context) -> list[str]:
    with ctx.sessions() as session:
        return list(session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)))


def test_queue_is_idempotent_by_key(context: Context) -> None:
    _queue(context, 3)
    _queue(context, 3)
    assert _statuses(context) == ["queued"] * 3


def test_delivery_sends_each_message_once_with_a_real_text_part(
    context: Context, smtp: SmtpSink
) -> None:
    _queue(context, 3)
    report = deliver(context.sessions, context.settings)
    again = deliver(context.sessions, context.settings)
    assert (report.sent, again.sent) == (3, 0)
    assert sorted(r.recipients[0] for r in smtp.received) == [
        f"school{n}@pumpurs.example" for n in range(3)
    ]
    message = smtp.received[0].message()
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert not TAG.search(plain.get_content())
    assert "<p>" in html.get_content()
    assert message["Subject"] == "Ziņa 0 — ā č ē"
    assert [p.get_filename() for p in message.iter_attachments()] == ["a.csv"]
    assert _statuses(context) == ["sent"] * 3


def test_a_refused_address_fails_permanently_and_is_not_retried(
    context: Context, smtp: SmtpSink
) -> None:
    smtp.refuse_address("nobody@pumpurs.example")
    _queue(context, 3, refuse="nobody@pumpurs.example")
    report = deliver(context.sessions, context.settings, retry_delays=[0.01])
    assert report.sent == 2
    assert report.failed == [("nobody@pumpurs.example", "550 5.1.1 Mailbox unavailable")]
    assert _statuses(context) == ["sent", "failed", "sent"]
    assert deliver(context.sessions, context.settings).sent == 0
    assert len(smtp.received) == 2


def test_a_server_going_down_mid_batch_leaves_the_rest_queued(
    context: Context, smtp: SmtpSink
) -> None:
    _queue(context, 6)
    smtp.max_messages = 2
    first = deliver(context.sessions, context.settings, retry_delays=[0.01, 0.01])
    assert (first.sent, first.left_queued) == (2, 4)
    assert first.last_error is not None and first.last_error.startswith("421")
    smtp.max_messages = None
    second = deliver(context.sessions, context.settings, retry_delays=[0.01])
    assert second.sent == 4
    recipients = [r.recipients[0] for r in smtp.received]
    assert sorted(recipients) == sorted(set(recipients)) and len(recipients) == 6


def test_a_message_another_sender_is_sending_is_not_left_queued(
    context: Context, smtp: SmtpSink
) -> None:
    _queue(context, 2)
    with context.sessions.begin() as session:  # as the web app does while it sends one
        first = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).first()
        assert first is not None
        first.claim_token, first.claimed_until = "other", utcnow() + dt.timedelta(minutes=5)
    report = deliver(context.sessions, context.settings)
    assert (report.sent, report.left_queued, report.claimed_elsewhere) == (1, 0, 1)
    assert _statuses(context) == ["queued", "sent"]
    smtp.stop()
    _queue_one(context, 9)
    down = deliver(context.sessions, context.settings, retry_delays=[0.01])
    assert (down.sent, down.left_queued) == (0, 1)  # the one it could not send, not the other's


def test_a_killed_senders_claim_is_reported_until_its_lease_runs_out(
    context: Context, smtp: SmtpSink
) -> None:
    _queue(context, 3)
    with context.sessions.begin() as session:  # a sender killed after claiming two
        for message in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id).limit(2)):
            message.claim_token, message.claimed_until = (
                "killed",
                utcnow() + dt.timedelta(minutes=5),
            )
    report = deliver(context.sessions, context.settings)
    assert (report.sent, report.left_queued, report.claimed_elsewhere) == (1, 0, 2)
    assert report.as_dict()["mail_claimed_elsewhere"] == 2
    (note,) = mail_notes({**report.as_dict(), "last_error": None})
    assert "cits sūtītājs: 2" in note
    with context.sessions.begin() as session:  # the lease runs out
        for message in session.scalars(
            select(OutboxMessage).where(OutboxMessage.claim_token.is_not(None))
        ):
            message.claimed_until = utcnow() - dt.timedelta(seconds=1)
    again = deliver(context.sessions, context.settings)
    assert (again.sent, again.claimed_elsewhere) == (2, 0)
    assert mail_notes({**again.as_dict(), "last_error": None}) == []
    assert sorted(r.recipients[0] for r in smtp.received) == [
        f"school{n}@pumpurs.example" for n in range(3)
    ]


def _outgoing(n: int, files: int = 1) -> Outgoing:
    attachments = [
        Attachment(f"{n}-{i}.png", "image/png", bytes([n, i]), f"c{i}@p") for i in range(files)
    ]
    return Outgoing(f"test:{n}", "test", f"school{n}@pumpurs.example", _email(n), attachments)


def test_a_batch_is_queued_at_once_and_only_what_is_new(context: Context) -> None:
    _queue(context, 2)  # test:0 and test:1 are there already
    with context.sessions.begin() as session:
        batch = [_outgoing(1), _outgoing(2, files=2), _outgoing(3, files=0), _outgoing(2)]
        assert queue_many(session, batch) == {"test:2", "test:3"}
        assert queue_many(session, batch) == set()
    with context.sessions() as session:
        messages = {m.dedupe_key: m for m in session.scalars(select(OutboxMessage))}
        assert sorted(messages) == ["test:0", "test:1", "test:2", "test:3"]
        assert [a.filename for a in messages["test:1"].attachments] == ["a.csv"]  # untouched
        assert [(a.filename, a.content) for a in messages["test:2"].attachments] == [
            ("2-0.png", b"\x02\x00"),
            ("2-1.png", b"\x02\x01"),
        ]
        assert messages["test:3"].attachments == [] and messages["test:2"].status == "queued"
        assert len({m.message_id for m in messages.values()}) == 4


def test_a_key_another_run_queued_after_the_lookup_is_skipped_not_doubled(
    context: Context,
) -> None:
    # As if another run committed test:5 between this run's lookup of known keys and its insert.
    _queue_one(context, 5)
    with context.sessions.begin() as session:
        assert _insert_new(session, [_outgoing(5, files=2), _outgoing(6)], "pumpurs.local") == {
            "test:6"
        }
    with context.sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
        files = session.scalars(select(OutboxAttachment.filename).order_by(OutboxAttachment.id))
        assert list(files) == ["6-0.png"]  # none of the skipped message's attachments


def _queue_one(ctx: Context, n: int) -> None:
    with ctx.sessions.begin() as session:
        queue(session, key=f"test:{n}", kind="test", to=f"school{n}@pumpurs.example",
              email=_email(n))  # fmt: skip


def test_a_server_that_is_not_there_loses_nothing(context: Context, smtp: SmtpSink) -> None:
    _queue(context, 2)
    smtp.stop()
    report = deliver(context.sessions, context.settings, retry_delays=[0.01])
    assert (report.sent, report.left_queued) == (0, 2)
    assert "ConnectionRefusedError" in (report.last_error or "")
    smtp.start()
    assert deliver(context.sessions, context.settings).sent == 2
    assert len(smtp.received) == 2


@pytest.mark.parametrize("language", ["lv", "en"])
def test_every_email_template_pair_renders_text_without_tags(language: str) -> None:
    import datetime as dt
    from types import SimpleNamespace

    semester = SimpleNamespace(
        code="2026/2027-1",
        starts_on=dt.date(2026, 9, 1),
        ends_on=dt.date(2026, 12, 22),
        submission_deadline=dt.date(2026, 9, 22),
    )
    school = SimpleNamespace(name="Liepājas Raiņa 6. vidusskola", code="LV-LIE-006")
    email = render_email(
        "invitation",
        language,
        school=school,
        semester=semester,
        template_name="t.xlsx",
        cap=300,
        max_hours=20,
        inbox_path="x/",
        page_url="https://pumpurs.example.lv/s/abc.def",
        shared_folder=False,
        continuing=1,
    )
    assert not TAG.search(email.text)
    assert "Liepājas Raiņa 6. vidusskola" in email.text
    expected = "22.09.2026." if language == "lv" else "22 Sept 2026"
    assert expected in email.subject


def _rows(ctx: Context) -> list[tuple[str, str, bool, bool]]:
    """Return (Message-ID, status, in flight, possibly repeated) of every message, in order."""
    with ctx.sessions() as session:
        found = session.execute(
            select(
                OutboxMessage.message_id,
                OutboxMessage.status,
                OutboxMessage.sending_since,
                OutboxMessage.possibly_repeated,
            ).order_by(OutboxMessage.id)
        ).all()
    return [(str(m), str(s), flying is not None, bool(r)) for m, s, flying, r in found]


def _ids_received(smtp: SmtpSink) -> list[str]:
    return [str(received.message()["Message-ID"]) for received in smtp.received]


def test_a_message_whose_answer_died_with_the_server_goes_again_once_with_its_message_id(
    context: Context, smtp: SmtpSink
) -> None:
    _queue(context, 3)
    smtp.lose_answer(after=1, die=True)  # takes the second message, then dies before replying
    broken = deliver(context.sessions, context.settings, retry_delays=[0.01])
    assert (broken.sent, broken.left_queued, broken.possibly_repeated) == (1, 2, 0)
    ids = [m for m, _, _, _ in _rows(context)]
    assert _ids_received(smtp) == ids[:2]  # the second one arrived, unknown to the sender
    assert _rows(context)[1] == (ids[1], "queued", True, False)  # in flight: answer lost
    smtp.start()
    healed = deliver(context.sessions, context.settings)
    assert (healed.sent, healed.left_queued, healed.possibly_repeated) == (2, 0, 1)
    assert healed.as_dict()["mail_possibly_repeated"] == 1
    assert _ids_received(smtp) == [ids[0], ids[1], ids[1], ids[2]]  # the same Message-ID
    assert _rows(context) == [
        (ids[0], "sent", False, False),
        (ids[1], "sent", False, True),
        (ids[2], "sent", False, False),
    ]
    assert len(set(ids)) == 3
    (note,) = mail_notes({**healed.as_dict(), "last_error": None})
    assert "1" in note and "Message-ID" in note
    assert deliver(context.sessions, context.settings).sent == 0


def test_an_answer_lost_mid_batch_is_sent_again_once_in_the_same_run(
    context: Context, smtp: SmtpSink
) -> None:
    _queue(context, 3)
    smtp.lose_answer(after=1)  # the connection breaks after the second DATA; the server lives
    report = deliver(context.sessions, context.settings, retry_delays=[0.01])
    assert (report.sent, report.left_queued, report.possibly_repeated) == (3, 0, 1)
    ids = [m for m, _, _, _ in _rows(context)]
    assert _ids_received(smtp) == [ids[0], ids[1], ids[1], ids[2]]
    assert [r for _, _, _, r in _rows(context)] == [False, True, False]


def test_a_message_whose_answer_is_always_lost_goes_at_most_twice_a_run(
    context: Context, smtp: SmtpSink
) -> None:
    _queue(context, 2)
    smtp.drop_after = 0  # every DATA is cut before the reply (and nothing is kept)
    first = deliver(context.sessions, context.settings, retry_delays=[0.01, 0.01, 0.01])
    assert (first.sent, first.left_queued) == (0, 2)
    assert first.last_error is not None and "no answer after DATA" in first.last_error
    assert [(s, f) for _, s, f, _ in _rows(context)] == [("queued", True), ("queued", False)]
    second = deliver(context.sessions, context.settings, retry_delays=[0.01, 0.01, 0.01])
    assert (second.sent, second.left_queued) == (0, 2)
    with context.sessions() as session:
        attempts = list(session.scalars(select(OutboxMessage.attempts).order_by(OutboxMessage.id)))
    assert attempts == [2, 0]  # each run left it queued once; the second one waited behind it
    assert smtp.cuts == 3  # sent twice by the first run (once and once again), once by the next
    smtp.drop_after = None
    healed = deliver(context.sessions, context.settings)
    assert (healed.sent, healed.possibly_repeated) == (2, 1)
    assert len(smtp.received) == 2
