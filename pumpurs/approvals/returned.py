"""The email that gives a returned plan back to its school, with the approver's reason."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpurs.approvals.views import plan_views
from pumpurs.clock import RIGA
from pumpurs.config import Config
from pumpurs.i18n.catalogue import texts
from pumpurs.i18n.templates import render_email
from pumpurs.mail.outbox import queue
from pumpurs.opening.links import school_page_urls
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store.models import Decision, Plan, School
from pumpurs.store.reference import stored_semester


def queue_returned(
    session: Session, config: Config, settings: Settings, plan_id: int, decision: Decision
) -> bool:
    """Queue the "plan returned" email to the school coordinator; False if already queued."""
    language = str(settings.language)
    view = plan_views(session, config, [plan_id], language)[plan_id]
    coordinator = session.scalars(
        select(School.coordinator_email)
        .join(Plan, Plan.school_id == School.id)
        .where(Plan.id == plan_id)
    ).one()
    code = SemesterCode.parse(view.semester)
    folder = code.folder
    email = render_email(
        "plan_returned",
        language,
        plan=view,
        reason=decision.reason or "",
        approver=decision.approver_email
        if decision.substitute_email is None
        else texts(language).gettext(
            "%(substitute)s for %(approver)s",
            substitute=decision.substitute_email,
            approver=decision.approver_email,
        ),
        decided_at=decision.decided_at.astimezone(RIGA),
        inbox_path=f"{folder}/{view.school_code}/plans/",
        page_url=school_page_urls(
            session, settings, stored_semester(session, code), [view.school_code]
        )[view.school_code],
        shared_folder=settings.schools_shared_folder,
    )
    return queue(
        session,
        key=f"plan-returned:{decision.id}",
        kind="plan_returned",
        to=coordinator,
        email=email,
    )
