"""Tasks every flow shares: prepare the store, resolve the semester, send the queued mail."""

from __future__ import annotations

from typing import Any

from prefect import task

from pumpurs.calendar import Phase, resolve_semester
from pumpurs.clock import today_riga
from pumpurs.context import context, load_context
from pumpurs.mail import CLAIM_SECONDS, deliver
from pumpurs.semester import SemesterCode
from tasks import IO_RETRIES

MAIL_COUNTS = ("mail_sent", "mail_failed", "mail_left_queued", "mail_claimed_elsewhere")
"""The counts of `send_mail` each flow's result and run summary show."""


def mail_notes(mail: dict[str, Any]) -> list[str]:
    """Return the run summary's notes on the mail: what failed, what another sender holds."""
    notes = [f"Nosūtīt neizdevās: {mail['last_error']}"] if mail["last_error"] else []
    if mail["mail_claimed_elsewhere"]:
        notes.append(
            f"Ziņas, ko šobrīd rezervējis cits sūtītājs: {mail['mail_claimed_elsewhere']}. "
            "Ja tas tās nenosūta (piemēram, tika pārtraukts), tās nosūtīs nākamā palaišana, "
            f"kad rezervācija beigsies (ne vēlāk kā pēc {CLAIM_SECONDS // 60} min)."
        )
    return notes


class MailNotDelivered(RuntimeError):
    """Some messages could not be sent now; they stay queued and go out on the next run."""

    def __init__(self, mail: dict[str, Any]) -> None:
        super().__init__(f"{mail['mail_left_queued']} messages stay queued ({mail['last_error']})")


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
