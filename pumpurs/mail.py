"""The one mail path: render → outbox row with a dedupe key → send through yagmail.

A message is written to the outbox before it is sent, keyed by what it is about
(`invitation:2026/2027-1:LV-LIE-006`), so a re-run queues nothing new. Senders claim a few
messages at a time and mark each one sent right after the server accepted it, so nothing
is sent twice and nothing queued is lost: what could not be sent stays queued for the next run.
"""

from __future__ import annotations

import logging
import smtplib
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

import yagmail
from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from pumpurs.clock import utcnow
from pumpurs.models import MailStatus, OutboxAttachment, OutboxMessage
from pumpurs.render import RenderedEmail
from pumpurs.settings import Settings, SmtpTls

log = logging.getLogger(__name__)

CLAIM_SIZE = 50
CLAIM_SECONDS = 300
RETRY_DELAYS: tuple[float, ...] = (1.0, 3.0, 8.0)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes
    content_id: str | None = None  # an inline image referenced as cid:<content_id>


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (recipient, reason), permanent
    left_queued: int = 0
    last_error: str | None = None

    def as_dict(self) -> dict[str, object]:
        """Return the counts for artifacts and the CLI."""
        return {
            "mail_sent": self.sent,
            "mail_failed": len(self.failed),
            "mail_left_queued": self.left_queued,
        }


def queue(
    session: Session,
    *,
    key: str,
    kind: str,
    to: str,
    email: RenderedEmail,
    attachments: Sequence[Attachment] = (),
    domain: str = "pumpurs.local",
) -> bool:
    """Queue one logical message; return False if a message with this key exists already."""
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)):
        return False
    message = OutboxMessage(
        dedupe_key=key,
        kind=kind,
        recipient=to,
        subject=email.subject,
        body_text=email.text,
        body_html=email.html,
        message_id=make_msgid(domain=domain),
        status=MailStatus.QUEUED,
        attachments=[
            OutboxAttachment(
                filename=a.filename,
                content_type=a.content_type,
                content_id=a.content_id,
                content=a.content,
            )
            for a in attachments
        ],
    )
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:  # another run queued the same key between our check and insert
        return False
    return True


def build_mime(message: OutboxMessage, sender: str) -> EmailMessage:
    """Return the MIME message: real text/plain, HTML with inline images, then attachments."""
    mime = EmailMessage()
    mime["From"] = sender
    mime["To"] = message.recipient
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(localtime=False)
    mime["Message-ID"] = message.message_id
    mime.set_content(message.body_text, subtype="plain", charset="utf-8")
    mime.add_alternative(message.body_html, subtype="html", charset="utf-8")
    html_part = mime.get_body(("html",))
    assert isinstance(html_part, EmailMessage)
    for item in message.attachments:
        main, _, sub = item.content_type.partition("/")
        if item.content_id:
            html_part.add_related(
                item.content, main, sub, cid=f"<{item.content_id}>", filename=item.filename
            )
    for item in message.attachments:
        if not item.content_id:
            main, _, sub = item.content_type.partition("/")
            params = {"charset": "utf-8"} if main == "text" else {}
            mime.add_attachment(
                item.content, maintype=main, subtype=sub, filename=item.filename, params=params
            )
    return mime


class SmtpConnection:
    """One SMTP session through yagmail, opened on first use and reopened after a drop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: yagmail.SMTP | None = None

    def send(self, mime: EmailMessage, recipient: str) -> None:
        """Send one message; raise smtplib/OS errors as they come."""
        client = self._connect()
        refused = client.smtp.send_message(
            mime, from_addr=self._envelope_from(), to_addrs=[recipient]
        )
        if refused:
            code, reason = next(iter(refused.values()))
            raise smtplib.SMTPRecipientsRefused({recipient: (code, reason)})

    def close(self) -> None:
        """Close the session if open."""
        if self._client is not None:
            try:
                self._client.close()
            except (OSError, smtplib.SMTPException):
                pass
            self._client = None

    def drop(self) -> None:
        """Forget a broken session without the polite QUIT."""
        if self._client is not None and self._client.smtp is not None:
            try:
                self._client.smtp.close()
            except OSError:
                pass
        self._client = None

    def _envelope_from(self) -> str:
        from email.utils import parseaddr

        return parseaddr(self.settings.mail_from)[1]

    def _connect(self) -> yagmail.SMTP:
        if self._client is None:
            s = self.settings
            password = s.smtp_password.get_secret_value() if s.smtp_password else None
            client = yagmail.SMTP(
                user=s.smtp_user or self._envelope_from(),
                password=password,
                host=s.smtp_host,
                port=s.smtp_port,
                smtp_ssl=s.smtp_tls == SmtpTls.SSL,
                smtp_starttls=s.smtp_tls == SmtpTls.STARTTLS,
                smtp_skip_login=not s.smtp_user,
                soft_email_validation=False,
                timeout=s.smtp_timeout,
            )
            client.login()
            self._client = client
        return self._client


def is_permanent(exc: BaseException) -> bool:
    """Return whether an SMTP error means "never going to work" (5xx) rather than "try later"."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= exc.smtp_code < 600 and exc.smtp_code not in (552,)
    return False


def deliver(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    kinds: Iterable[str] | None = None,
    retry_delays: Sequence[float] = RETRY_DELAYS,
    sleep: Callable[[float], None] = time.sleep,
    on_progress: Callable[[int], None] | None = None,
) -> DeliveryReport:
    """Send every queued message (of the given kinds); leave what cannot go now queued."""
    report = DeliveryReport()
    connection = SmtpConnection(settings)
    sender = (
        formataddr(("PuMPuRS", settings.mail_from))
        if "<" not in settings.mail_from
        else (settings.mail_from)
    )
    kind_list = list(kinds) if kinds is not None else None
    try:
        while True:
            batch = _claim(sessions, kind_list)
            if not batch:
                break
            for index, message in enumerate(batch):
                outcome = _send_one(connection, message, sender, retry_delays, sleep)
                if outcome is None:
                    report.sent += 1
                    _mark(sessions, message.id, MailStatus.SENT, None)
                elif outcome[0] == "permanent":
                    report.failed.append((message.recipient, outcome[1]))
                    _mark(sessions, message.id, MailStatus.FAILED, outcome[1])
                else:  # the server is unreachable: stop here, everything else stays queued
                    report.last_error = outcome[1]
                    _release(sessions, [m.id for m in batch[index:]], outcome[1])
                    report.left_queued = _count_queued(sessions, kind_list)
                    return report
                if on_progress is not None:
                    on_progress(report.sent + len(report.failed))
    finally:
        connection.close()
    # Nothing is left by this run: whatever is queued now was queued after its last claim,
    # by a process that sends it itself (the web app's "plan returned" email, another run).
    return report


def _send_one(
    connection: SmtpConnection,
    message: OutboxMessage,
    sender: str,
    retry_delays: Sequence[float],
    sleep: Callable[[float], None],
) -> tuple[str, str] | None:
    mime = build_mime(message, sender)
    for attempt in range(len(retry_delays) + 1):
        try:
            connection.send(mime, message.recipient)
            return None
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            reason = _describe(exc)
            if is_permanent(exc):  # the session itself is still usable after a 5xx reply
                return ("permanent", reason)
            log.warning(
                "mail to outbox #%s not sent (%s), attempt %s", message.id, reason, attempt + 1
            )
            connection.drop()
            if attempt < len(retry_delays):
                sleep(retry_delays[attempt])
    return ("transient", reason)


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        return f"{code} {_text(text)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}"[:300]


def _claim(sessions: sessionmaker[Session], kinds: list[str] | None) -> list[OutboxMessage]:
    token = uuid.uuid4().hex
    now = utcnow()
    free = and_(
        OutboxMessage.status == MailStatus.QUEUED,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )
    if kinds is not None:
        free = and_(free, OutboxMessage.kind.in_(kinds))
    with sessions.begin() as session:
        ids = list(
            session.scalars(
                select(OutboxMessage.id).where(free).order_by(OutboxMessage.id).limit(CLAIM_SIZE)
            )
        )
        if not ids:
            return []
        # The conditions are repeated so a concurrent claimer re-checks them on each row.
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), free)
            .values(claim_token=token, claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
        )
    with sessions() as session:
        return list(
            session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.claim_token == token)
                .options(selectinload(OutboxMessage.attachments))
                .order_by(OutboxMessage.id)
            )
        )


def _mark(
    sessions: sessionmaker[Session], message_id: int, status: MailStatus, error: str | None
) -> None:
    # One short transaction per message: once the server said 250, record it at once.
    with sessions.begin() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(
                status=status,
                sent_at=utcnow() if status == MailStatus.SENT else None,
                attempts=OutboxMessage.attempts + 1,
                last_error=error,
                claim_token=None,
                claimed_until=None,
            )
        )


def _release(sessions: sessionmaker[Session], ids: list[int], error: str) -> None:
    """Give claimed messages back to the queue; the first one is the one that failed."""
    with sessions.begin() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == MailStatus.QUEUED)
            .values(claim_token=None, claimed_until=None)
        )
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == ids[0])
            .values(last_error=error, attempts=OutboxMessage.attempts + 1)
        )


def _count_queued(sessions: sessionmaker[Session], kinds: list[str] | None) -> int:
    """Count the messages left queued: not those another sender has claimed and is sending."""
    from sqlalchemy import func

    unclaimed = or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < utcnow())
    query = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status == MailStatus.QUEUED, unclaimed)
    )
    if kinds is not None:
        query = query.where(OutboxMessage.kind.in_(kinds))
    with sessions() as session:
        return int(session.scalar(query) or 0)
