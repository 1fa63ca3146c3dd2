"""Read the mail the local sink kept: the .eml files of the outbox folder, as a mail client would.

The demo and the end-to-end test take the approval links out of these files, and the demo saves
their attachments (the semester figures as XLSX, the rejected rows as CSV) where people look.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpurs.store.models import MailStatus, OutboxMessage

APPROVAL_LINK = re.compile(r"https?://[^\s/]+/a/[A-Za-z0-9_.\-]+")
PENDING_LINK = re.compile(r"https?://[^\s/]+/p/[A-Za-z0-9_.\-]+")


@dataclass(frozen=True)
class Kept:
    """One message as the sink kept it."""

    path: Path
    message: EmailMessage

    @property
    def to(self) -> str:
        """Return the recipient's address."""
        return str(self.message["To"])

    @property
    def subject(self) -> str:
        """Return the subject line."""
        return str(self.message["Subject"])

    @property
    def message_id(self) -> str:
        """Return the Message-ID the mail path fixed when it queued the message."""
        return str(self.message["Message-ID"])

    def text(self) -> str:
        """Return the plain-text body."""
        body = self.message.get_body(("plain",))
        return "" if body is None else str(body.get_content())

    def approval_links(self) -> list[str]:
        """Return the links to single plans, in the order the message lists them."""
        return list(dict.fromkeys(APPROVAL_LINK.findall(self.text())))

    def pending_links(self) -> list[str]:
        """Return the links to the approver's page of pending plans."""
        return list(dict.fromkeys(PENDING_LINK.findall(self.text())))

    def attachments(self) -> list[tuple[str, bytes]]:
        """Return the (file name, content) of each attached file (not the inline images)."""
        found = []
        for part in self.message.iter_attachments():
            name = part.get_filename()
            if name and part.get_content_disposition() == "attachment":
                found.append((name, bytes(part.get_payload(decode=True))))
        return found


def read(path: Path) -> Kept:
    """Parse one .eml file."""
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return Kept(path, parsed)


def read_outbox(folder: Path, after: int = 0) -> list[Kept]:
    """Return the kept messages in the order they arrived, leaving out the first `after`."""
    return [read(path) for path in sorted(folder.glob("*.eml"))[after:]]


def kinds(session: Session) -> dict[str, str]:
    """Return the kind of every message the mail path sent (invitation, summary …) by Message-ID."""
    rows = session.execute(
        select(OutboxMessage.message_id, OutboxMessage.kind).where(
            OutboxMessage.status == MailStatus.SENT
        )
    ).all()
    return {str(message_id): str(kind) for message_id, kind in rows}


def save_attachments(messages: Iterable[Kept], folder: Path, suffix: str) -> list[Path]:
    """Write the attachments whose names end with `suffix` into `folder`; return the paths.

    A name met twice (a school's second report) gets the message's file name in front.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for kept in messages:
        for name, content in kept.attachments():
            if name.lower().endswith(suffix):
                path = folder / Path(name).name  # never outside the folder
                if path in written:
                    path = folder / f"{kept.path.stem}_{path.name}"
                path.write_bytes(content)
                written.append(path)
    return written
