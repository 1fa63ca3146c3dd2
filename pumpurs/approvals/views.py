"""What an approver sees of a plan: loaded for a whole batch of plans in a few queries; the names
of the roles and decision outcomes as people read them."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from sqlalchemy import BindParameter, bindparam, select

from pumpurs.approvals.decided import clean_reason
from pumpurs.config import Config, Label, Role
from pumpurs.i18n.catalogue import N_, texts
from pumpurs.store.db import Executor
from pumpurs.store.models import (
    Decision,
    Municipality,
    Plan,
    PlanMeasure,
    PlanRevision,
    PlanRisk,
    Pupil,
    Region,
    School,
    Semester,
)


@dataclass(frozen=True)
class MeasureLine:
    key: str
    label: str
    subject: str | None
    provider_ref: str | None
    hours: float | None
    eur: float | None


@dataclass(frozen=True)
class PlanView:
    plan_id: int
    semester: str
    school_code: str
    school_name: str
    municipality: str
    region: str
    pupil_ref: str
    revision: int
    grade: int
    goal: str
    submitted_at: dt.datetime
    risks: list[str] = field(default_factory=list)
    measures: list[MeasureLine] = field(default_factory=list)

    @property
    def hours_total(self) -> float:
        """Return the hours per month over all hour-based measures."""
        return sum(m.hours or 0.0 for m in self.measures)

    @property
    def eur_total(self) -> float:
        """Return the EUR per month over all compensations."""
        return sum(m.eur or 0.0 for m in self.measures)


@dataclass(frozen=True)
class PastDecision:
    revision: int
    outcome: str
    reason: str | None
    approver_email: str
    decided_at: dt.datetime
    substitute_email: str | None = None  # who decided on the approver's behalf, if anyone


ROLE_NAMES = {
    Role.SCHOOL_DIRECTOR: N_("school director"),
    Role.MUNICIPAL_COORDINATOR: N_("municipal coordinator"),
    Role.REGIONAL_COORDINATOR: N_("regional coordinator"),
}
# One plan's outcome ("atgriezts"); a summary's count of plans says "returned for revision".
OUTCOME_NAMES = {"approved": N_("approved"), "returned": N_("returned to the school for revision")}


def role_name(role: str, language: str) -> str:
    """Return the name of an approver's role (`reģionālais koordinators`)."""
    return texts(language).gettext(ROLE_NAMES[Role(role)]) if role in ROLE_NAMES else role


def outcome_name(outcome: str, language: str) -> str:
    """Return a decision's outcome as people read it (`atgriezts labošanai`)."""
    return texts(language).gettext(OUTCOME_NAMES[outcome]) if outcome in OUTCOME_NAMES else outcome


def _label(labels: Mapping[str, Label], key: str, language: str) -> str:
    found = labels.get(key)
    return key if found is None else (found.en if language == "en" else found.lv)


BATCH = 5000  # ids per IN (…) list: far below what SQLite and PostgreSQL accept


def plan_views(
    session: Executor, config: Config, plan_ids: Collection[int], language: str
) -> dict[int, PlanView]:
    """Return the current revision of each plan, ready to show, by plan id."""
    ids = sorted(plan_ids)
    views: dict[int, PlanView] = {}
    for start in range(0, len(ids), BATCH):
        views |= _views(session, config, ids[start : start + BATCH], language)
    return views


# Built once: a statement made per request costs more to build and key than to run.
_IDS: BindParameter[list[int]] = bindparam("ids", expanding=True)
_HEADS = (
    select(
        Plan.id,
        Semester.code,
        School.code,
        School.name,
        Municipality.name,
        Region.name,
        Pupil.ref,
        PlanRevision.number,
        PlanRevision.grade,
        PlanRevision.goal,
        PlanRevision.created_at,
        PlanRevision.id,
    )
    .join(Semester, Semester.id == Plan.semester_id)
    .join(School, School.id == Plan.school_id)
    .join(Municipality, Municipality.id == School.municipality_id)
    .join(Region, Region.id == Municipality.region_id)
    .join(Pupil, Pupil.id == Plan.pupil_id)
    .join(PlanRevision, (PlanRevision.plan_id == Plan.id) & (PlanRevision.number == Plan.revision))
    .where(Plan.id.in_(_IDS))
)
_RISKS = (
    select(PlanRisk.revision_id, PlanRisk.category)
    .where(PlanRisk.revision_id.in_(_IDS))
    .order_by(PlanRisk.category)
)
_MEASURES = (
    select(
        PlanMeasure.revision_id,
        PlanMeasure.measure,
        PlanMeasure.subject,
        PlanMeasure.provider_ref,
        PlanMeasure.hours_per_month,
        PlanMeasure.eur_per_month,
    )
    .where(PlanMeasure.revision_id.in_(_IDS))
    .order_by(PlanMeasure.id)
)
_PAST = (
    select(
        Decision.revision,
        Decision.outcome,
        Decision.reason,
        Decision.approver_email,
        Decision.decided_at,
        Decision.substitute_email,
    )
    .where(Decision.plan_id == bindparam("plan_id"))
    .order_by(Decision.decided_at, Decision.id)
)


def _views(
    session: Executor, config: Config, plan_ids: list[int], language: str
) -> dict[int, PlanView]:
    heads = session.execute(_HEADS, {"ids": plan_ids}).all()
    revision_ids = [head[-1] for head in heads]
    risks: dict[int, list[str]] = defaultdict(list)
    measures: dict[int, list[MeasureLine]] = defaultdict(list)
    if revision_ids:
        catalogue = config.catalogue
        for revision_id, category in session.execute(_RISKS, {"ids": revision_ids}):
            risks[revision_id].append(_label(catalogue.risk_categories, category, language))
        for revision_id, measure, subject, provider_ref, hours, eur in session.execute(
            _MEASURES, {"ids": revision_ids}
        ):
            measures[revision_id].append(
                MeasureLine(
                    key=measure,
                    label=_label(catalogue.measures, measure, language),
                    subject=_label(catalogue.subjects, subject, language) if subject else None,
                    provider_ref=provider_ref,
                    hours=hours,
                    eur=eur,
                )
            )
    return {
        plan_id: PlanView(
            plan_id=plan_id,
            semester=semester,
            school_code=school_code,
            school_name=school_name,
            municipality=municipality,
            region=region,
            pupil_ref=pupil_ref,
            revision=number,
            grade=grade,
            goal=goal,
            submitted_at=created_at,
            risks=risks[revision_id],
            measures=measures[revision_id],
        )
        for (
            plan_id,
            semester,
            school_code,
            school_name,
            municipality,
            region,
            pupil_ref,
            number,
            grade,
            goal,
            created_at,
            revision_id,
        ) in heads
    }


def past_decisions(session: Executor, plan_id: int) -> list[PastDecision]:
    """Return every decision taken on a plan so far, oldest first (each reason as reasons are
    stored now: one kept from before they were cleaned is cleaned for showing)."""
    return [
        PastDecision(revision, outcome, clean_reason(reason) or None, *rest)
        for revision, outcome, reason, *rest in session.execute(_PAST, {"plan_id": plan_id})
    ]
