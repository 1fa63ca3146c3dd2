"""Tasks every flow shares: prepare the store, resolve the semester, send the queued mail."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prefect import task

from pumpurs.calendar import Phase, resolve_semester
from pumpurs.clock import today_riga
from pumpurs.i18n.catalogue import texts
from pumpurs.mail.delivery import deliver
from pumpurs.semester import SemesterCode
from pumpurs.store.context import context, current_settings, load_context
from tasks import IO_RETRIES

MAIL_COUNTS = ("mail_sent", "mail_failed", "mail_left_queued", "mail_claimed_elsewhere")
"""The counts of `send_mail` each flow's result and run summary show."""


class MailNotDelivered(RuntimeError):
    """Some messages could not be sent now; they stay queued and go out on the next run."""

    def __init__(self, mail: Mapping[str, Any]) -> None:
        t = texts(str(current_settings().language))
        super().__init__(
            t.ngettext(
                "%(num)s message stays queued (%(error)s)",
                "%(num)s messages stay queued (%(error)s)",
                mail["mail_left_queued"],
                error=mail["last_error"],
            )
        )


@task(name="prepare-store", **IO_RETRIES)
def prepare(semester: str | None, phase: str) -> str:
    """Check config, migrate the database, sync reference data; return the semester code."""
    ctx = load_context()
    if semester:
        return SemesterCode.parse(semester).code
    return resolve_semester(ctx.config, Phase(phase), today_riga()).code


@task(name="send-mail", **IO_RETRIES)
def send_mail() -> dict[str, Any]:
    """Send every queued message through the one mail path; report what happened."""
    ctx = context()
    report = deliver(ctx.sessions, ctx.settings, retry_delays=ctx.settings.smtp_retry_delays)
    result: dict[str, Any] = report.as_dict()
    result["failed_recipients"] = [{"recipient": r, "reason": why} for r, why in report.failed]
    result["last_error"] = report.last_error
    return result
