"""Sending the outbox: senders claim a few messages at a time and mark each one sent right after
the server accepted it, so nothing is sent twice and nothing queued is lost: what could not be
sent stays queued for the next run.
"""

from __future__ import annotations

import logging
import smtplib
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import formataddr
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from pumpurs.clock import utcnow
from pumpurs.mail.mime import build_mime
from pumpurs.mail.smtp import SmtpConnection, describe, is_permanent
from pumpurs.settings import Settings
from pumpurs.store.models import MailStatus, OutboxMessage

log = logging.getLogger(__name__)

CLAIM_SIZE = 50
CLAIM_SECONDS = 300
RETRY_DELAYS: tuple[float, ...] = (1.0, 3.0, 8.0)


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (recipient, reason), permanent
    left_queued: int = 0
    # Queued but claimed by another sender whose lease has not run out: it may be sending them
    # now, or it was killed and they go with the first run after the lease (CLAIM_SECONDS).
    claimed_elsewhere: int = 0
    last_error: str | None = None

    def as_dict(self) -> dict[str, int]:
        """Return the counts for artifacts and the CLI."""
        return {
            "mail_sent": self.sent,
            "mail_failed": len(self.failed),
            "mail_left_queued": self.left_queued,
            "mail_claimed_elsewhere": self.claimed_elsewhere,
        }


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
    sent, failed = 0, []
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
                    sent += 1
                    _mark(sessions, message.id, MailStatus.SENT, None)
                elif outcome[0] == "permanent":
                    failed.append((message.recipient, outcome[1]))
                    _mark(sessions, message.id, MailStatus.FAILED, outcome[1])
                else:  # the server is unreachable: stop here, everything else stays queued
                    _release(sessions, [m.id for m in batch[index:]], outcome[1])
                    return DeliveryReport(
                        sent,
                        failed,
                        left_queued=_count_queued(sessions, kind_list),
                        claimed_elsewhere=_count_claimed_elsewhere(sessions, kind_list),
                        last_error=outcome[1],
                    )
                if on_progress is not None:
                    on_progress(sent + len(failed))
    finally:
        connection.close()
    # Nothing is left by this run: whatever is queued now was queued after its last claim,
    # by a process that sends it itself (the web app's "plan returned" email, another run).
    return DeliveryReport(
        sent, failed, claimed_elsewhere=_count_claimed_elsewhere(sessions, kind_list)
    )


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
            reason = describe(exc)
            if is_permanent(exc):  # the session itself is still usable after a 5xx reply
                return ("permanent", reason)
            log.warning(
                "mail to outbox #%s not sent (%s), attempt %s", message.id, reason, attempt + 1
            )
            connection.drop()
            if attempt < len(retry_delays):
                sleep(retry_delays[attempt])
    return ("transient", reason)


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
