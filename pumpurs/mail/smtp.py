"""One SMTP session through yagmail, and what an SMTP error means for the message."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from email.utils import parseaddr

import yagmail

from pumpurs.settings import Settings, SmtpTls


class AnswerLost(Exception):
    """The message went out after DATA but the server's answer never came: it may have arrived."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"no answer after DATA: {describe(cause)}")
        self.cause = cause


class SmtpConnection:
    """One SMTP session through yagmail, opened on first use and reopened after a drop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: yagmail.SMTP | None = None

    def send(
        self, mime: bytes, recipient: str, before_data: Callable[[], None] | None = None
    ) -> None:
        """Send one message; raise smtplib/OS errors as they come, `AnswerLost` after DATA.

        `before_data` runs once the server has taken the sender and the recipient, just before
        DATA: from there on a broken connection leaves it unknown whether the message arrived.
        """
        smtp = self._connect().smtp
        sender = self._envelope_from()
        smtp.ehlo_or_helo_if_needed()
        options = [f"size={len(mime)}"] if smtp.does_esmtp and smtp.has_extn("size") else []
        code, reply = smtp.mail(sender, options)
        if code != 250:
            _reset(smtp, code)
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        code, reply = smtp.rcpt(recipient)
        if code not in (250, 251):
            _reset(smtp, code)
            raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
        if before_data is not None:
            before_data()
        try:
            code, reply = smtp.data(mime)
        except smtplib.SMTPResponseException:
            raise  # the server answered DATA itself with a refusal: nothing arrived
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise AnswerLost(exc) from exc
        if code != 250:
            _reset(smtp, code)
            raise smtplib.SMTPDataError(code, reply)

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


def _reset(smtp: smtplib.SMTP, code: int) -> None:
    """Leave the session ready for the next message after a refusal (closed after a 421)."""
    try:
        smtp.close() if code == 421 else smtp.rset()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def is_permanent(exc: BaseException) -> bool:
    """Return whether an SMTP error means "never going to work" (5xx) rather than "try later"."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= exc.smtp_code < 600 and exc.smtp_code not in (552,)
    return False


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def describe(exc: BaseException) -> str:
    """Return a short reason for the outbox and the run's summary."""
    if isinstance(exc, AnswerLost):
        return str(exc)[:300]
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        return f"{code} {_text(text)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}"[:300]
