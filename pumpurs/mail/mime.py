"""An outbox row as it goes on the wire: built with the standard library's `email` package.

multipart/alternative of the real text/plain and the HTML (inside multipart/related with its
inline images), wrapped in multipart/mixed when files are attached; headers folded and encoded
by the SMTP policy (RFC 5322 lines, RFC 2047 words, CRLF).
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate

from pumpurs.store.models import OutboxMessage


def build_mime(message: OutboxMessage, sender: str) -> bytes:
    """Return the message's bytes: text and HTML alternatives, inline images, attached files."""
    mime = EmailMessage(policy=SMTP)
    mime["From"] = sender
    mime["To"] = message.recipient
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(localtime=False)
    mime["Message-ID"] = message.message_id  # fixed at queueing: the same on every attempt
    mime.set_content(message.body_text, charset="utf-8")
    mime.add_alternative(message.body_html, subtype="html", charset="utf-8")
    inline = [a for a in message.attachments if a.content_id]
    if inline:
        html = next(p for p in mime.iter_parts() if p.get_content_type() == "text/html")
        for item in inline:
            main, _, sub = item.content_type.partition("/")
            html.add_related(item.content, main, sub, cid=f"<{item.content_id}>",
                             filename=item.filename, disposition="inline")  # fmt: skip
    for item in (a for a in message.attachments if not a.content_id):
        main, _, sub = item.content_type.partition("/")
        if main == "text":
            text = item.content.decode("utf-8")
            mime.add_attachment(text, subtype=sub, charset="utf-8", cte="base64",
                                filename=item.filename)  # fmt: skip
        else:
            mime.add_attachment(item.content, main, sub, filename=item.filename)
    return mime.as_bytes()
