"""What follows a stored decision: a Prefect event and the school's email, both best effort."""

from __future__ import annotations

import logging

from fastapi import BackgroundTasks
from prefect.events import emit_event
from prefect.settings import PREFECT_API_URL

from pumpurs.approvals import Decided, Outcome
from pumpurs.mail.delivery import deliver
from pumpurs.settings import Settings
from pumpurs.store import db

log = logging.getLogger(__name__)


def emit_decision(decided: Decided) -> bool:
    """Tell Prefect about a decision so automations can react; never fail the request."""
    try:
        if not PREFECT_API_URL.value():
            # Without an API URL Prefect would start a server of its own: not from a web request.
            log.info("no Prefect API configured; event for plan %s not sent", decided.plan_id)
            return False
        emit_event(
            event=f"pumpurs.plan.{decided.outcome.value}",
            resource={
                "prefect.resource.id": f"pumpurs.plan.{decided.plan_id}",
                "prefect.resource.name": f"{decided.school_code} plan {decided.plan_id}",
            },
            payload={
                "plan_id": decided.plan_id,
                "decision_id": decided.decision_id,
                "revision": decided.revision,
                "step_index": decided.step_index,
                "role": decided.role,
                "approver": decided.approver_email,
                "plan_status": decided.plan_status,
                "next_approver": decided.next_approver,
                "school_code": decided.school_code,
                "semester": decided.semester,
            },
        )
    except Exception:  # Prefect down or misconfigured: the decision is stored already
        log.warning("event for plan %s not sent", decided.plan_id, exc_info=True)
        return False
    return True


def emit_file_received(semester: str, school: str, kind: str) -> bool:
    """Tell Prefect a school's file is in the inbox, so its collect (or evaluate) run starts
    within a minute; never fail the upload: the daily run takes the file anyway."""
    try:
        if not PREFECT_API_URL.value():
            log.info("no Prefect API configured; event for %s %s not sent", school, kind)
            return False
        folder = semester.replace("/", "-")
        emit_event(
            event="pumpurs.file.received",
            resource={
                "prefect.resource.id": f"pumpurs.upload.{kind}.{folder}.{school}",
                "prefect.resource.name": f"{school} {kind} {semester}",
            },
            payload={"semester": semester, "school_code": school, "kind": kind},
        )
    except Exception:  # Prefect down or misconfigured: the file is kept already
        log.warning("event for %s %s not sent", school, kind, exc_info=True)
        return False
    return True


def after_upload(background: BackgroundTasks, semester: str, school: str, kind: str) -> None:
    """Emit the upload's event once the school has its answer."""
    background.add_task(emit_file_received, semester, school, kind)


def deliver_returned(settings: Settings) -> None:
    """Send the queued "plan returned" emails now; what fails waits for the next flow run."""
    try:
        report = deliver(
            db.session_factory(settings.effective_database_url),
            settings,
            kinds=["plan_returned"],
            retry_delays=settings.smtp_retry_delays,
        )
        if report.left_queued:
            log.warning("plan_returned mail left queued: %s", report.last_error)
    except Exception:
        log.warning("plan_returned mail not sent now; the next run sends it", exc_info=True)


def after_decision(settings: Settings, decided: Decided, background: BackgroundTasks) -> None:
    """Run the follow-ups of a committed decision, once the approver has the answer."""
    background.add_task(emit_decision, decided)
    if decided.outcome == Outcome.RETURNED:
        background.add_task(deliver_returned, settings)
