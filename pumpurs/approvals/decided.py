"""What a decision is and leaves behind: its outcome and origin, the decision row and audit
entry it records, and what the approver is told (`Decided`, with the plan's facts the page
shows). The transaction that takes a decision is `pumpurs.approvals.decide`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from pumpurs.store.models import (
    Municipality,
    Plan,
    PlanRevision,
    Pupil,
    Region,
    School,
    Semester,
)

MAX_REASON = 2000  # characters, after `clean_reason`; a longer reason is refused, never cut
# What a reason never keeps: control characters but the line break and the tab (C0 with NUL,
# DEL, C1), and the bidirectional embeddings, overrides and isolates that make text read
# otherwise than it is stored.
_UNSEEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class Outcome(StrEnum):
    APPROVED = "approved"
    RETURNED = "returned"


class ReasonRequired(ValueError):
    """A plan is returned only with a reason the school can act on."""


class ReasonTooLong(ValueError):
    """A reason longer than `MAX_REASON` is refused whole: no part of it is stored."""


@dataclass(frozen=True)
class Origin:
    """Where a decision came from, for the audit log."""

    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class Decided:
    decision_id: int
    plan_id: int
    step_id: int
    revision: int
    step_index: int
    role: str
    outcome: Outcome
    approver_email: str  # whose step it was
    substitute_email: str | None  # who decided on the approver's behalf, if a substitute did
    decided_at: dt.datetime
    plan_status: str
    next_approver: str | None
    next_role: str | None
    school_code: str
    semester: str
    school_name: str  # what the "decided" page shows of the plan
    pupil_ref: str
    grade: int

    @property
    def decided_by(self) -> str:
        """Return who took the decision: the substitute, or the approver."""
        return self.substitute_email or self.approver_email


def clean_reason(reason: str | None) -> str:
    """Return a reason as it is stored and shown: line breaks as `\n`, trimmed, without the
    control and bidirectional characters of `_UNSEEN` (removed, not refused: pasted text
    carries them unseen)."""
    text = (reason or "").replace("\r\n", "\n").replace("\r", "\n")
    return _UNSEEN.sub("", text).strip()


def check_reason(outcome: Outcome, reason: str | None) -> None:
    """Raise ReasonRequired if a plan would be returned without a reason, ReasonTooLong if the
    reason is longer than `MAX_REASON`."""
    cleaned = clean_reason(reason)
    if outcome == Outcome.RETURNED and not cleaned:
        raise ReasonRequired("a returned plan needs a reason")
    if len(cleaned) > MAX_REASON:
        raise ReasonTooLong(f"a reason is at most {MAX_REASON} characters")


def _cut(value: str | None, length: int) -> str | None:
    return value[:length] if value else None


def decision_row(
    *,
    step_id: int,
    plan_id: int,
    revision: int,
    outcome: Outcome,
    reason: str | None,
    approver_email: str,
    decided_at: dt.datetime,
    origin: Origin,
    substitute_email: str | None = None,
) -> dict[str, Any]:
    """Return the decision's row: the reason cleaned (`clean_reason`; `check_reason` has
    refused a longer one), the origin cut to the columns' sizes."""
    return {
        "step_id": step_id,
        "plan_id": plan_id,
        "revision": revision,
        "outcome": outcome.value,
        "reason": clean_reason(reason) or None,
        "approver_email": approver_email,
        "substitute_email": substitute_email,
        "decided_at": decided_at,
        "ip": _cut(origin.ip, 64),
        "user_agent": _cut(origin.user_agent, 512),
    }


def audit_row(
    decision: Mapping[str, Any], decision_id: int, step_index: int, role: str, via: str
) -> dict[str, Any]:
    """Return the audit log's entry of a decision, from its row (`via`: link | pending-page).

    A substitute's decision has the substitute as its actor, on behalf of the approver.
    """
    substitute = decision.get("substitute_email")
    behalf = {"on_behalf_of": decision["approver_email"]} if substitute else {}
    return {
        "at": decision["decided_at"],
        "actor": substitute or decision["approver_email"],
        "action": f"plan.{decision['outcome']}",
        "entity": "plan",
        "entity_id": decision["plan_id"],
        "ip": decision["ip"],
        "user_agent": decision["user_agent"],
        "details": {
            "decision_id": decision_id,
            "step_id": decision["step_id"],
            "step_index": step_index,
            "role": role,
            "revision": decision["revision"],
            "reason": decision["reason"],
            "via": via,
            **behalf,
        },
    }


# Built once, as the decision's other statements (see `pumpurs.approvals.decide`).
_FACTS = (
    select(
        School.code,
        Semester.code,
        School.name,
        Pupil.ref,
        PlanRevision.grade,
        School.director_email,
        Municipality.coordinator_email,
        Region.coordinator_email,
    )
    .select_from(Plan)
    .join(School, School.id == Plan.school_id)
    .join(Semester, Semester.id == Plan.semester_id)
    .join(Municipality, Municipality.id == School.municipality_id)
    .join(Region, Region.id == Municipality.region_id)
    .join(Pupil, Pupil.id == Plan.pupil_id)
    .join(PlanRevision, (PlanRevision.plan_id == Plan.id) & (PlanRevision.number == Plan.revision))
    .where(Plan.id == bindparam("plan_id"))
)


@dataclass(frozen=True)
class PlanFacts:
    """What a decision needs to know of its plan besides the plan row, in one query."""

    school_code: str
    semester: str
    school_name: str
    pupil_ref: str
    grade: int
    emails: dict[str, str | None]  # approver addresses by the columns of `approver_table`


def plan_facts(session: Session, plan_id: int) -> PlanFacts:
    """Return the facts of the plan a decision was taken on."""
    row = session.execute(_FACTS, {"plan_id": plan_id}).one()
    code, semester, name, pupil, grade, director, municipal, regional = row
    emails = {"director_email": director, "municipal_email": municipal, "regional_email": regional}
    return PlanFacts(code, semester, name, pupil, grade, emails)
