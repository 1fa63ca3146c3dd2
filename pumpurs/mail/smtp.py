"""One SMTP session through yagmail, and what an SMTP error means for the message."""

from __future__ import annotations

import smtplib
from email.utils import parseaddr

import yagmail

from pumpurs.settings import Settings, SmtpTls


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


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        return f"{code} {_text(text)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}"[:300]
