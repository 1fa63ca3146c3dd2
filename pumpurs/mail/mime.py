"""An outbox row as it goes on the wire: built with the standard library's `email` package.

multipart/alternative of the real text/plain and the HTML (inside multipart/related with its
inline images), wrapped in multipart/mixed when files are attached. The parts are the package's
`email.mime` classes under its compat32 policy with CRLF lines: text in UTF-8 base64, headers
RFC 2047 words (addresses with `formataddr`, file names RFC 2231), folded at 78 characters.
The newer `EmailMessage` API parses every header it is given through its header registry, which
cost several times the sending itself at national scale (hundreds of messages a run).
"""

from __future__ import annotations

from email import encoders
from email.generator import BytesGenerator
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, getaddresses
from io import BytesIO
from typing import cast

from pumpurs.store.models import OutboxAttachment, OutboxMessage

POLICY = compat32.clone(linesep="\r\n", max_line_length=78)


def build_mime(message: OutboxMessage, sender: str) -> bytes:
    """Return the message's bytes: text and HTML alternatives, inline images, attached files."""
    html: Message = MIMEText(_crlf(message.body_html), "html", "utf-8")
    inline = [a for a in message.attachments if a.content_id]
    if inline:
        html = MIMEMultipart("related", _subparts=[html, *(_file(a, "inline") for a in inline)])
    body: Message = MIMEMultipart(
        "alternative", _subparts=[MIMEText(_crlf(message.body_text), "plain", "utf-8"), html]
    )
    files = [a for a in message.attachments if not a.content_id]
    if files:
        body = MIMEMultipart("mixed", _subparts=[body, *(_file(a, "attachment") for a in files)])
    body["From"] = _addresses(sender)
    body["To"] = _addresses(message.recipient)
    subject = message.subject
    # compat32 writes a Header as RFC 2047 words; the cast is for the str-typed item setter.
    body["Subject"] = subject if subject.isascii() else cast(str, Header(subject, "utf-8"))
    body["Date"] = formatdate(localtime=False)
    body["Message-ID"] = message.message_id  # fixed at queueing: the same on every attempt
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=POLICY).flatten(body)
    return out.getvalue()


def _crlf(text: str) -> str:
    """Return text in CRLF lines, each ended (as `EmailMessage.set_content` writes text)."""
    lines = text.encode("utf-8").splitlines()  # at \n, \r and \r\n only, as bytes split
    return b"".join(line + b"\r\n" for line in lines).decode("utf-8")


def _addresses(value: str) -> str:
    """Return address(es) with any non-ASCII display name as RFC 2047 words."""
    return ", ".join(formataddr(pair, "utf-8") for pair in getaddresses([value]))


def _file(item: OutboxAttachment, disposition: str) -> Message:
    """Return one attached file or inline image, base64 (text files as UTF-8)."""
    main, _, sub = item.content_type.partition("/")
    part = MIMEBase(main, sub)
    text = main == "text"
    if text:
        part.set_param("charset", "utf-8")
    # Text files in CRLF lines, as the EmailMessage API wrote them; others byte for byte.
    part.set_payload(_crlf(item.content.decode("utf-8")).encode("utf-8") if text else item.content)
    encoders.encode_base64(part)
    name = item.filename if item.filename.isascii() else ("utf-8", "", item.filename)
    part.add_header("Content-Disposition", disposition, filename=name)
    if item.content_id:
        part.add_header("Content-ID", f"<{item.content_id}>")
    return part
