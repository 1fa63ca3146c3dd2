"""Sending the outbox: senders claim a few messages at a time and mark each one sent right after
the server accepted it; what could not be sent stays queued for the next run, so nothing queued
is lost.

Exactly once cannot be promised: when the connection breaks after DATA, the server may have
taken the message without the sender hearing so. The message is marked in flight just before
DATA; one whose answer was lost is sent again once (at once if the server answers, else by the
next run), with the same Message-ID, and counted as possibly repeated. A run sends a message at
most twice: if the answer to the repeat is lost too, it stays queued for the next run.
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
from typing import Any, cast

from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from pumpurs.clock import utcnow
from pumpurs.mail.mime import build_mime
from pumpurs.mail.smtp import AnswerLost, SmtpConnection, describe, is_permanent
from pumpurs.settings import Settings
from pumpurs.store.models import MailStatus, OutboxMessage

log = logging.getLogger(__name__)

# A message's marks go through the session's connection (Core): two short transactions a
# message, where the ORM's handling of an UPDATE costs more than the statement.
_OUTBOX = cast(Table, OutboxMessage.__table__)
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
    # Sent again after the server's answer to an earlier attempt was lost: the recipient may
    # have them twice (with the same Message-ID, which most mail programs show as one).
    possibly_repeated: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counts for artifacts and the CLI."""
        return {
            "mail_sent": self.sent,
            "mail_failed": len(self.failed),
            "mail_left_queued": self.left_queued,
            "mail_claimed_elsewhere": self.claimed_elsewhere,
            "mail_possibly_repeated": self.possibly_repeated,
        }


@dataclass(frozen=True)
class _Outcome:
    """What became of one message: sent (perhaps again), refused for good, or left queued."""

    state: str  # "sent", "permanent" or "transient"
    reason: str | None = None
    repeated: bool = False


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
    sent, failed, repeated = 0, [], 0
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
                outcome = _send_one(sessions, connection, message, sender, retry_delays, sleep)
                if outcome.state == "sent":
                    sent += 1
                    repeated += outcome.repeated
                    _mark(sessions, message.id, MailStatus.SENT, None, outcome.repeated)
                elif outcome.state == "permanent":
                    failed.append((message.recipient, str(outcome.reason)))
                    _mark(sessions, message.id, MailStatus.FAILED, outcome.reason)
                else:  # the server is unreachable: stop here, everything else stays queued
                    _release(sessions, [m.id for m in batch[index:]], str(outcome.reason))
                    return DeliveryReport(
                        sent,
                        failed,
                        left_queued=_count_queued(sessions, kind_list),
                        claimed_elsewhere=_count_claimed_elsewhere(sessions, kind_list),
                        last_error=outcome.reason,
                        possibly_repeated=repeated,
                    )
                if on_progress is not None:
                    on_progress(sent + len(failed))
    finally:
        connection.close()
    # Nothing is left by this run: whatever is queued now was queued after its last claim,
    # by a process that sends it itself (the web app's "plan returned" email, another run).
    return DeliveryReport(
        sent,
        failed,
        claimed_elsewhere=_count_claimed_elsewhere(sessions, kind_list),
        possibly_repeated=repeated,
    )


def _send_one(
    sessions: sessionmaker[Session],
    connection: SmtpConnection,
    message: OutboxMessage,
    sender: str,
    retry_delays: Sequence[float],
    sleep: Callable[[float], None],
) -> _Outcome:
    """Try one message a few times; mark it in flight before each DATA.

    A message still in flight when it was claimed lost its answer in an earlier run: this run
    sends it once more. One that loses its answer here is sent again once, then left queued.
    """
    mime = build_mime(message, sender)
    lost = message.sending_since is not None  # an earlier copy may have arrived
    chances = 1 if lost else 2  # sendings after which the answer may still be lost

    started: list[bool] = []  # whether the current attempt has reached DATA

    def in_flight() -> None:
        started.append(True)
        _mark_in_flight(sessions, message.id)

    reason = ""
    for attempt in range(len(retry_delays) + 1):
        started.clear()
        try:
            connection.send(mime, message.recipient, before_data=in_flight)
            return _Outcome("sent", repeated=lost)
        except AnswerLost as exc:
            reason, lost, chances = describe(exc), True, chances - 1
            log.warning("mail to outbox #%s: %s (attempt %s)", message.id, reason, attempt + 1)
            connection.drop()
            if chances == 0:
                break  # sent again once already: the next run tries it once more
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            reason = describe(exc)
            if started and not lost:  # the server refused DATA itself: no copy is out there
                _mark_in_flight(sessions, message.id, False)
            if is_permanent(exc):  # the session itself is still usable after a 5xx reply
                return _Outcome("permanent", reason)
            log.warning(
                "mail to outbox #%s not sent (%s), attempt %s", message.id, reason, attempt + 1
            )
            connection.drop()
        if attempt < len(retry_delays):
            sleep(retry_delays[attempt])
    return _Outcome("transient", reason)


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


def _mark_in_flight(sessions: sessionmaker[Session], message_id: int, flying: bool = True) -> None:
    """Record that DATA is about to go out (or, `flying=False`, that it did not arrive)."""
    with sessions.begin() as session:
        session.connection().execute(
            update(_OUTBOX)
            .where(_OUTBOX.c.id == message_id)
            .values(sending_since=utcnow() if flying else None)
        )


def _mark(
    sessions: sessionmaker[Session],
    message_id: int,
    status: MailStatus,
    error: str | None,
    repeated: bool = False,
) -> None:
    # One short transaction per message: once the server said 250, record it at once.
    values: dict[str, Any] = {
        "status": status,
        "sent_at": utcnow() if status == MailStatus.SENT else None,
        "attempts": _OUTBOX.c.attempts + 1,
        "last_error": error,
        "claim_token": None,
        "claimed_until": None,
        "sending_since": None,
    }
    if repeated:
        values["possibly_repeated"] = True
    with sessions.begin() as session:
        session.connection().execute(
            update(_OUTBOX).where(_OUTBOX.c.id == message_id).values(values)
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
