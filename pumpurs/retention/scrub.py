"""What every erasure shares: irreversible tokens, audit details without free text, email
bodies and attachments let go, and counting what would change before changing it."""

from __future__ import annotations

import secrets
from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, or_, select, update
from sqlalchemy.orm import Session

from pumpurs.store.models import AuditEntry, MailStatus, OutboxAttachment, OutboxMessage

TOKEN_PREFIX = "erased-"
FREE_TEXT = frozenset({"reason", "comment", "goal", "pupil_ref", "pupil"})
"""Keys of audit details that may hold what a school or an approver wrote about a pupil."""
BATCH = 5000


def token() -> str:
    """Return a new irreversible token to stand for a pupil reference: random, so nothing
    (no key, no table) leads back from it to the reference it replaced."""
    return TOKEN_PREFIX + secrets.token_hex(8)


def count(session: Session, query: Select[Any]) -> int:
    """Return how many rows a query selects."""
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def without_free_text(details: Any) -> Any:
    """Return audit details with every free-text value about a pupil set to None."""
    if isinstance(details, dict):
        return {
            key: None if key in FREE_TEXT and value is not None else without_free_text(value)
            for key, value in details.items()
        }
    if isinstance(details, list):
        return [without_free_text(value) for value in details]
    return details


def scrub_audit(session: Session, plan_ids: Collection[int], dry_run: bool) -> int:
    """Clear free text from the audit details of these plans; return how many entries held it.

    The entries stay (who did what, when); only what was written about the pupil goes.
    """
    ids, changed = sorted(plan_ids), 0
    for start in range(0, len(ids), BATCH):
        rows = session.execute(
            select(AuditEntry.id, AuditEntry.details).where(
                AuditEntry.entity == "plan", AuditEntry.entity_id.in_(ids[start : start + BATCH])
            )
        ).all()
        for entry_id, details in rows:
            cleaned = without_free_text(details)
            if cleaned != details:
                changed += 1
                if not dry_run:
                    session.execute(
                        update(AuditEntry).where(AuditEntry.id == entry_id).values(details=cleaned)
                    )
    return changed


def erase_messages(session: Session, which: ColumnElement[bool], dry_run: bool) -> tuple[int, int]:
    """Let go of the subject, bodies and attachments of the messages `which` selects; return
    how many messages and attachments held something.

    The row stays (kind, recipient, when, dedupe key): what was sent to whom is still known,
    and a re-run of the flow that sent it sends nothing again. A message still queued is
    marked failed, never sent empty.
    """
    holding = or_(
        OutboxMessage.body_text != "", OutboxMessage.body_html != "", OutboxMessage.subject != ""
    )
    messages = count(session, select(OutboxMessage.id).where(which, holding))
    ids = select(OutboxMessage.id).where(which).scalar_subquery()
    attachments = count(
        session, select(OutboxAttachment.id).where(OutboxAttachment.message_id.in_(ids))
    )
    if not dry_run:
        session.execute(
            update(OutboxMessage)
            .where(which, OutboxMessage.status == MailStatus.QUEUED)
            .values(status=MailStatus.FAILED, last_error="erased (retention)")
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(OutboxMessage)
            .where(which, holding)
            .values(subject="", body_text="", body_html="")
            .execution_options(synchronize_session=False)
        )
        session.execute(
            delete(OutboxAttachment)
            .where(OutboxAttachment.message_id.in_(ids))
            .execution_options(synchronize_session=False)
        )
    return messages, attachments
