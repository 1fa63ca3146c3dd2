"""Every participating school this semester: invited when, files sent, plans stored, and rows
refused that no later file has put right."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pumpurs.clock import RIGA
from pumpurs.config import Config
from pumpurs.privacy import CODE_OR_MASKED
from pumpurs.store.models import (
    OutboxMessage,
    Plan,
    PlanRevision,
    PlanStatus,
    Pupil,
    RowRejection,
    School,
    Submission,
)

PLANS = "plans"  # the kind of submission that carries plan drafts
NOT_THE_SCHOOLS_TO_FIX = ("plan_already_decided",)
"""Refusals the school cannot put right with a file: its approver decides those plans."""


@dataclass(frozen=True)
class SchoolState:
    """One participating school: where it is, who to call, what it has sent so far."""

    region: str
    municipality: str
    code: str
    name: str
    coordinator: str
    coordinator_email: str
    invited_on: dt.date | None  # the day its invitation went out (or was queued)
    days_since_invitation: int | None
    files: int  # plan files received, read or not
    last_file_on: dt.date | None
    plans: int  # plans stored from its files this semester
    unresolved: int  # pupils (or rows without a usable reference) refused and not accepted since

    @property
    def submitted(self) -> bool:
        """Return whether at least one plan of the school was stored from its files."""
        return self.plans > 0


def invitation_key(semester: str, school: str) -> str:
    """Return the outbox key of a school's invitation (as opening queues it)."""
    return f"invitation:{semester}:{school}"


def school_states(
    session: Session, config: Config, semester: str, semester_id: int | None, today: dt.date
) -> list[SchoolState]:
    """Return every school of the configuration, by region, municipality and name."""
    regions = config.municipality_region()
    municipalities = config.municipalities()
    invited = _invitations(session, semester, [s.code for s in config.schools])
    files, plans, unresolved = (
        ({}, {}, {})
        if semester_id is None
        else (
            _files(session, semester_id),
            _plans(session, semester_id),
            _unresolved(session, semester_id),
        )
    )
    states = []
    for school in config.schools:
        on = invited.get(school.code)
        count, last = files.get(school.code, (0, None))
        states.append(
            SchoolState(
                region=regions[school.municipality].name,
                municipality=municipalities[school.municipality].name,
                code=school.code,
                name=school.name,
                coordinator=school.coordinator.name,
                coordinator_email=str(school.coordinator.email),
                invited_on=on,
                days_since_invitation=None if on is None else (today - on).days,
                files=count,
                last_file_on=last,
                plans=plans.get(school.code, 0),
                unresolved=unresolved.get(school.code, 0),
            )
        )
    return sorted(states, key=lambda s: (s.region, s.municipality, s.name, s.code))


def _riga_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(RIGA).date()


def _invitations(session: Session, semester: str, schools: list[str]) -> dict[str, dt.date]:
    keys = {invitation_key(semester, code): code for code in schools}
    rows = session.execute(
        select(OutboxMessage.dedupe_key, OutboxMessage.created_at, OutboxMessage.sent_at).where(
            OutboxMessage.dedupe_key.in_(list(keys))
        )
    ).all()
    return {keys[key]: _riga_day(sent or created) for key, created, sent in rows}


def _files(session: Session, semester_id: int) -> dict[str, tuple[int, dt.date]]:
    rows = session.execute(
        select(Submission.school_folder, func.count(), func.max(Submission.received_at))
        .where(Submission.semester_id == semester_id, Submission.kind == PLANS)
        .group_by(Submission.school_folder)
    ).all()
    return {folder: (int(count), _riga_day(last)) for folder, count, last in rows}


def _plans(session: Session, semester_id: int) -> dict[str, int]:
    rows = session.execute(
        select(School.code, func.count())
        .join(Plan, Plan.school_id == School.id)
        .where(Plan.semester_id == semester_id, Plan.status != PlanStatus.DRAFT)
        .group_by(School.code)
    ).all()
    return {code: int(count) for code, count in rows}


def _unresolved(session: Session, semester_id: int) -> dict[str, int]:
    """Count per school the pupils whose rows a file had refused and no later file had
    accepted (their plan's current revision is older than the refusal). A refused row without
    a usable pupil reference (none, or a personal code masked) counts until a later file of the
    school was read. Refusals the school cannot put right (the plan was decided) are left out."""
    refused = session.execute(
        select(Submission.school_folder, RowRejection.pupil_ref, Submission.received_at)
        .join(Submission, Submission.id == RowRejection.submission_id)
        .where(
            Submission.semester_id == semester_id,
            Submission.kind == PLANS,
            RowRejection.rule.not_in(NOT_THE_SCHOOLS_TO_FIX),
        )
    ).all()
    if not refused:
        return {}
    accepted = dict(
        ((code, ref), received)
        for code, ref, received in session.execute(
            select(School.code, Pupil.ref, Submission.received_at)
            .join(Plan, Plan.school_id == School.id)
            .join(Pupil, Pupil.id == Plan.pupil_id)
            .join(
                PlanRevision,
                (PlanRevision.plan_id == Plan.id) & (PlanRevision.number == Plan.revision),
            )
            .join(Submission, Submission.id == PlanRevision.submission_id)
            .where(Plan.semester_id == semester_id)
        ).all()
    )
    last_read: dict[str, dt.datetime] = {
        folder: last
        for folder, last in session.execute(
            select(Submission.school_folder, func.max(Submission.received_at))
            .where(
                Submission.semester_id == semester_id,
                Submission.kind == PLANS,
                Submission.status == "ingested",
            )
            .group_by(Submission.school_folder)
        ).all()
    }
    open_pupils: dict[str, set[str]] = defaultdict(set)
    open_rows: Counter[str] = Counter()
    for school, ref, received in refused:
        ref = (ref or "").strip()
        if not ref or CODE_OR_MASKED.search(ref):
            if last_read.get(school, received) <= received:
                open_rows[school] += 1
        elif accepted.get((school, ref), received) <= received:
            open_pupils[school].add(ref)
    return {
        school: len(open_pupils[school]) + open_rows[school]
        for school in {*open_pupils, *open_rows}
    }
