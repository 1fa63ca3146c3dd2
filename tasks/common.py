"""Tasks every flow shares: prepare the store, resolve the semester, send the queued mail."""

from __future__ import annotations

from prefect import task

from pumpurs.calendar import Phase, resolve_semester
from pumpurs.clock import today_riga
from pumpurs.errors import UserError
from pumpurs.i18n.catalogue import texts
from pumpurs.mail.delivery import DeliveryReport, deliver
from pumpurs.semester import SemesterCode
from pumpurs.store.context import context, current_settings, load_context
from pumpurs.store.reference import StoredSemester, stored_semester
from pumpurs.store.semesters import semester_for_run
from tasks import IO_RETRIES


class MailNotDelivered(RuntimeError):
    """Some messages could not be sent now; they stay queued and go out on the next run."""

    def __init__(self, mail: DeliveryReport) -> None:
        t = texts(run_language())
        super().__init__(
            t.ngettext(
                "%(num)s message stays queued (%(error)s)",
                "%(num)s messages stay queued (%(error)s)",
                mail.left_queued,
                error=mail.last_error,
            )
        )


def requested(semester: str) -> SemesterCode | None:
    """Return the semester code a run was given, None when empty (the calendar's then); raise
    the catalogue's message in the run's language when it is not a semester code."""
    if not semester.strip():
        return None
    try:
        return SemesterCode.parse(semester)
    except UserError as error:
        raise error.in_language(run_language()) from None


def run_language() -> str:
    """Return the language of the run's texts (its messages, its artifacts)."""
    return str(current_settings().language)


@task(name="prepare-store", **IO_RETRIES)
def prepare(semester: str, phase: str) -> StoredSemester:
    """Check config, migrate the database, sync reference data; return the stored semester,
    the one asked for or the calendar's for the phase (or raise saying what to open first)."""
    code = requested(semester)  # a mistyped code fails the run at once
    try:
        ctx = load_context()
        with ctx.sessions() as session:
            if code is not None:
                return stored_semester(session, code)
            return semester_for_run(session, ctx.config, Phase(phase), today_riga())
    except UserError as error:
        raise error.in_language(run_language()) from None


@task(name="prepare-store", **IO_RETRIES)
def prepare_opening(semester: str) -> SemesterCode:
    """Check config, migrate the database, sync reference data; return the semester to open."""
    code = requested(semester)
    try:
        ctx = load_context()
    except UserError as error:
        raise error.in_language(run_language()) from None
    return code if code is not None else resolve_semester(ctx.config, Phase.OPEN, today_riga())


@task(name="send-mail", **IO_RETRIES)
def send_mail() -> DeliveryReport:
    """Send every queued message through the one mail path; report what happened."""
    ctx = context()
    return deliver(ctx.sessions, ctx.settings, retry_delays=ctx.settings.smtp_retry_delays)
