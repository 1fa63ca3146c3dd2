"""The one mail path: render → outbox row with a dedupe key → send through yagmail.

A message is written to the outbox before it is sent, keyed by what it is about
(`invitation:2026/2027-1:LV-LIE-006`), so a re-run queues nothing new. Senders claim a few
messages at a time and mark each one sent right after the server accepted it, so nothing
is sent twice and nothing queued is lost: what could not be sent stays queued for the next run.
"""

from __future__ import annotations

import base64
import binascii
import email.policy
import logging
import smtplib
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import formataddr, formatdate, make_msgid
from typing import Any, cast

import yagmail
from sqlalchemy import Table, and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload, sessionmaker

from pumpurs.clock import utcnow
from pumpurs.i18n.templates import RenderedEmail
from pumpurs.settings import Settings, SmtpTls
from pumpurs.store.models import MailStatus, OutboxAttachment, OutboxMessage

log = logging.getLogger(__name__)

CLAIM_SIZE = 50
QUEUE_CHUNK = 200  # messages per lookup and INSERT: bounded statements and memory
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
    # Queued but claimed by another sender whose lease has not run out: it may be sending them
    # now, or it was killed and they go with the first run after the lease (CLAIM_SECONDS).
    claimed_elsewhere: int = 0
    last_error: str | None = None

    def as_dict(self) -> dict[str, object]:
        """Return the counts for artifacts and the CLI."""
        return {
            "mail_sent": self.sent,
            "mail_failed": len(self.failed),
            "mail_left_queued": self.left_queued,
            "mail_claimed_elsewhere": self.claimed_elsewhere,
        }


@dataclass(frozen=True)
class Outgoing:
    """One logical message to queue: its dedupe key, kind, recipient, content, attachments."""

    key: str
    kind: str
    to: str
    email: RenderedEmail
    attachments: Sequence[Attachment] = ()


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
    outgoing = Outgoing(key, kind, to, email, attachments)
    return key in queue_many(session, [outgoing], domain=domain)


def queue_many(
    session: Session, messages: Iterable[Outgoing], *, domain: str = "pumpurs.local"
) -> set[str]:
    """Queue a batch of messages; return the keys queued now (not those queued before).

    One query finds the keys already in the outbox and one multi-row INSERT … ON CONFLICT
    (dedupe_key) DO NOTHING writes the rest, so a run queueing the same key at the same time
    as this one (its row not visible to the first query yet) makes this one skip it: the
    unique key decides, and each message is queued once. The first of repeated keys wins.
    """
    wanted: dict[str, Outgoing] = {}
    for message in messages:
        wanted.setdefault(message.key, message)
    queued: set[str] = set()
    keys = list(wanted)
    for start in range(0, len(keys), QUEUE_CHUNK):
        chunk = keys[start : start + QUEUE_CHUNK]
        known = queued_keys(session, chunk)
        fresh = [wanted[k] for k in chunk if k not in known]
        if fresh:
            queued |= _insert_new(session, fresh, domain)
    return queued


def queued_keys(session: Session, keys: Sequence[str]) -> set[str]:
    """Return which of these dedupe keys are in the outbox already (to skip building them)."""
    found: set[str] = set()
    for start in range(0, len(keys), QUEUE_CHUNK):
        chunk = list(keys[start : start + QUEUE_CHUNK])
        where = OutboxMessage.dedupe_key.in_(chunk)
        found.update(session.scalars(select(OutboxMessage.dedupe_key).where(where)))
    return found


def _insert_new(session: Session, fresh: Sequence[Outgoing], domain: str) -> set[str]:
    """Insert the messages whose key is free; return their keys. Attachments follow them."""
    rows = [
        {
            "dedupe_key": m.key,
            "kind": m.kind,
            "recipient": m.to,
            "subject": m.email.subject,
            "body_text": m.email.text,
            "body_html": m.email.html,
            "message_id": make_msgid(domain=domain),
            "status": MailStatus.QUEUED,
            "attempts": 0,
            "created_at": utcnow(),
        }
        for m in fresh
    ]
    table = _table(OutboxMessage)
    statement = _insert_skipping_known(session, table)
    ids: dict[str, int] = {
        key: id_
        for id_, key in session.execute(
            statement.returning(table.c.id, table.c.dedupe_key), rows
        ).tuples()
    }
    files = [
        {
            "message_id": ids[m.key],
            "filename": a.filename,
            "content_type": a.content_type,
            "content_id": a.content_id,
            "content": a.content,
        }
        for m in fresh
        if m.key in ids
        for a in m.attachments
    ]
    if files:
        session.execute(insert(_table(OutboxAttachment)), files)
    return set(ids)


def _table(model: type[OutboxMessage] | type[OutboxAttachment]) -> Table:
    return cast(Table, model.__table__)


def _insert_skipping_known(session: Session, table: Table) -> Any:
    """Return INSERT … ON CONFLICT (dedupe_key) DO NOTHING in the session's SQL dialect."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
    if name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
    raise NotImplementedError(f"the outbox needs SQLite or PostgreSQL, not {name}")


def build_mime(message: OutboxMessage, sender: str) -> bytes:
    """Return the message as it goes on the wire: text/plain, HTML with inline images, files.

    The structure is multipart/mixed (when files are attached) around multipart/alternative of
    the real text/plain and the HTML, the HTML inside multipart/related with its inline images.
    Parts are written straight to bytes (base64 and quoted-printable by binascii): the `email`
    package's object model, header parsing and generator cost several times more than the
    sending itself for a summary with four charts.
    """
    inline = [a for a in message.attachments if a.content_id]
    files = [a for a in message.attachments if not a.content_id]
    html = _text_part("html", message.body_html)
    if inline:
        html = _multipart("related", [html, *(_file_part(a, "inline") for a in inline)])
    body = _multipart("alternative", [_text_part("plain", message.body_text), html])
    if files:
        body = _multipart("mixed", [body, *(_file_part(a, "attachment") for a in files)])
    head = b"".join(
        _header(name, value)
        for name, value in (
            ("From", sender),
            ("To", message.recipient),
            ("Subject", message.subject),
            ("Date", formatdate(localtime=False)),
            ("Message-ID", message.message_id),
            ("MIME-Version", "1.0"),
        )
    )
    return head + body


SMTP_POLICY = email.policy.SMTP  # folds headers at 78 characters, RFC 2047 words, CRLF
CRLF = b"\r\n"
MAX_LINE = 78  # longer text lines go quoted-printable


def _header(name: str, value: str) -> bytes:
    """Return one header folded the way the `email` package sends it (RFC 2047/2231 words)."""
    return SMTP_POLICY.fold_binary(name, SMTP_POLICY.header_factory(name, value))


def _text_part(subtype: str, text: str) -> bytes:
    """Return a UTF-8 text part: as it is when its lines are short, else quoted-printable."""
    lines = text.encode("utf-8").splitlines()
    data = CRLF.join(lines) + CRLF
    if max((len(line) for line in lines), default=0) <= MAX_LINE:
        cte = "7bit" if data.isascii() else "8bit"
    else:
        cte = "quoted-printable"
        data = binascii.b2a_qp(data, istext=True)
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {cte}'
    return head.encode("ascii") + CRLF + CRLF + data


def _file_part(item: OutboxAttachment, disposition: str) -> bytes:
    """Return a base64 part of one attachment or inline image (`Content-ID` for the latter)."""
    main, _, sub = item.content_type.partition("/")
    kind = f'{main}/{sub}; charset="utf-8"' if main == "text" else f"{main}/{sub}"
    lines = [f"Content-Type: {kind}".encode("ascii"), b"Content-Transfer-Encoding: base64"]
    name = item.filename.replace("\\", "\\\\").replace('"', '\\"')
    if name.isascii() and len(name) < 200:
        lines.append(f'Content-Disposition: {disposition};\r\n filename="{name}"'.encode("ascii"))
    else:  # RFC 2231 words, in continuations when long: the email package knows how
        lines.append(_header("Content-Disposition", f'{disposition}; filename="{name}"').rstrip())
    if item.content_id:
        lines.append(f"Content-ID: <{item.content_id}>".encode("ascii"))
    data = base64.encodebytes(item.content).replace(b"\n", CRLF)
    return CRLF.join(lines) + CRLF + CRLF + data


def _multipart(subtype: str, parts: Sequence[bytes]) -> bytes:
    """Return the parts as one multipart part, with a boundary none of them contains."""
    while True:
        boundary = f"=_{uuid.uuid4().hex}"
        marker = boundary.encode("ascii")
        if not any(marker in part for part in parts):
            break
    head = f'Content-Type: multipart/{subtype};\r\n boundary="{boundary}"'.encode("ascii")
    delimiter = CRLF + b"--" + marker + CRLF
    return (
        head + CRLF + CRLF + b"--" + marker + CRLF + delimiter.join(parts)
        + CRLF + b"--" + marker + b"--" + CRLF
    )  # fmt: skip


class SmtpConnection:
    """One SMTP session through yagmail, opened on first use and reopened after a drop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: yagmail.SMTP | None = None

    def send(self, mime: bytes, recipient: str) -> None:
        """Send one message; raise smtplib/OS errors as they come."""
        client = self._connect()
        refused = client.smtp.sendmail(self._envelope_from(), [recipient], mime)
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
                    report.claimed_elsewhere = _count_claimed_elsewhere(sessions, kind_list)
                    return report
                if on_progress is not None:
                    on_progress(report.sent + len(report.failed))
    finally:
        connection.close()
    # Nothing is left by this run: whatever is queued now was queued after its last claim,
    # by a process that sends it itself (the web app's "plan returned" email, another run).
    report.claimed_elsewhere = _count_claimed_elsewhere(sessions, kind_list)
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
    unclaimed = or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < utcnow())
    return _count(sessions, kinds, unclaimed)


def _count_claimed_elsewhere(sessions: sessionmaker[Session], kinds: list[str] | None) -> int:
    """Count the queued messages another sender holds a lease on (this run has released its own)."""
    return _count(sessions, kinds, OutboxMessage.claimed_until >= utcnow())


def _count(sessions: sessionmaker[Session], kinds: list[str] | None, condition: Any) -> int:
    query = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status == MailStatus.QUEUED, condition)
    )
    if kinds is not None:
        query = query.where(OutboxMessage.kind.in_(kinds))
    with sessions() as session:
        return int(session.scalar(query) or 0)
