"""The outbox: every email is a row written before it is sent, keyed by what it is about.

A message's dedupe key (`invitation:2026/2027-1:LV-LIE-006`) is unique, so a re-run queues
nothing new; `mail.delivery` sends what is queued.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.utils import make_msgid
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from pumpurs.clock import utcnow
from pumpurs.i18n.templates import RenderedEmail
from pumpurs.store.models import MailStatus, OutboxAttachment, OutboxMessage

QUEUE_CHUNK = 200  # messages per lookup and INSERT: bounded statements and memory


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes
    content_id: str | None = None  # an inline image referenced as cid:<content_id>


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
