from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from pumpurs.clock import utcnow
from pumpurs.context import Context
from pumpurs.mail import Attachment, deliver, queue
from pumpurs.models import OutboxMessage
from pumpurs.render import RenderedEmail, render_email
from pumpurs.smtp_sink import SmtpSink

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
    assert (report.sent, report.left_queued) == (1, 0)
    assert _statuses(context) == ["queued", "sent"]
    smtp.stop()
    _queue_one(context, 9)
    down = deliver(context.sessions, context.settings, retry_delays=[0.01])
    assert (down.sent, down.left_queued) == (0, 1)  # the one it could not send, not the other's


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
        continuing=1,
    )
    assert not TAG.search(email.text)
    assert "Liepājas Raiņa 6. vidusskola" in email.text
    expected = "22.09.2026." if language == "lv" else "22 Sept 2026"
    assert expected in email.subject
