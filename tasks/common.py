"""Tasks every flow shares: prepare the store, resolve the semester, send the queued mail."""

from __future__ import annotations

from prefect import task

from pumpurs.calendar import Phase, resolve_semester
from pumpurs.clock import today_riga
from pumpurs.config import Config
from pumpurs.i18n.catalogue import texts
from pumpurs.mail.delivery import DeliveryReport, deliver
from pumpurs.semester import SemesterCode
from pumpurs.store.context import context, current_settings, load_context
from pumpurs.store.reference import StoredSemester, stored_semester
from tasks import IO_RETRIES


class MailNotDelivered(RuntimeError):
    """Some messages could not be sent now; they stay queued and go out on the next run."""

    def __init__(self, mail: DeliveryReport) -> None:
        t = texts(str(current_settings().language))
        super().__init__(
            t.ngettext(
                "%(num)s message stays queued (%(error)s)",
                "%(num)s messages stay queued (%(error)s)",
                mail.left_queued,
                error=mail.last_error,
            )
        )


def _code(config: Config, semester: str | None, phase: Phase) -> SemesterCode:
    """Return the semester asked for, or the one the calendar gives for the phase today."""
    if semester:
        return SemesterCode.parse(semester)
    return resolve_semester(config, phase, today_riga())


@task(name="prepare-store", **IO_RETRIES)
def prepare(semester: str | None, phase: str) -> StoredSemester:
    """Check config, migrate the database, sync reference data; return the stored semester
    (or raise telling to open it first)."""
    ctx = load_context()
    code = _code(ctx.config, semester, Phase(phase))
    with ctx.sessions() as session:
        return stored_semester(session, code)


@task(name="prepare-store", **IO_RETRIES)
def prepare_opening(semester: str | None) -> SemesterCode:
    """Check config, migrate the database, sync reference data; return the semester to open."""
    ctx = load_context()
    return _code(ctx.config, semester, Phase.OPEN)


@task(name="send-mail", **IO_RETRIES)
def send_mail() -> DeliveryReport:
    """Send every queued message through the one mail path; report what happened."""
    ctx = context()
    return deliver(ctx.sessions, ctx.settings, retry_delays=ctx.settings.smtp_retry_delays)
