"""One pupil reference of one school: everything held about it, and its erasure on request.

For a school's or a parent's question ("what do you keep about this pupil?", "erase it"): the
report lists the plans with their goals, risks, measures, evaluations and decisions, the rows
of the school's files refused under the reference, the kept files and inbox files that name
it, the emails that named it, who viewed the plans' pages, and the audit entries of the plans.
The erasure does to this one pupil what retention does to a semester, across all semesters:
the reference becomes an irreversible token everywhere it is kept (the database, the kept
files, the inbox files, the emails), goals, comments and reasons go, and the audit log gets
one entry with the counts and the token (never the reference).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, insert, or_, select, update
from sqlalchemy.orm import Session

from pumpurs.clock import utcnow
from pumpurs.retention.files import names_ref, without_ref
from pumpurs.retention.scrub import erase_messages, scrub_audit, token
from pumpurs.settings import Settings
from pumpurs.store.access import views_of
from pumpurs.store.models import (
    AuditEntry,
    Decision,
    Evaluation,
    EvaluationMeasure,
    OutboxAttachment,
    OutboxMessage,
    Plan,
    PlanMeasure,
    PlanRevision,
    PlanRisk,
    Pupil,
    RowRejection,
    School,
    Semester,
    Submission,
)


@dataclass(frozen=True)
class PupilReport:
    """Everything held about one pupil reference of one school (JSON-ready values)."""

    school: str
    ref: str
    known: bool  # the school and the reference are in the store
    plans: list[dict[str, Any]] = field(default_factory=list)
    rejected_rows: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    inbox_files: list[str] = field(default_factory=list)
    emails: list[dict[str, Any]] = field(default_factory=list)
    views: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Return how many of each kind of record were found."""
        return {
            f.name: len(getattr(self, f.name))
            for f in fields(self)
            if f.name not in ("school", "ref", "known")
        }

    def as_dict(self) -> dict[str, Any]:
        """Return the report as plain values (dates as ISO text)."""
        plain: dict[str, Any] = _plain(asdict(self))
        return plain


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def _school_id(session: Session, school: str) -> int | None:
    return session.scalar(select(School.id).where(School.code == school))


def pupil_report(session: Session, settings: Settings, school: str, ref: str) -> PupilReport:
    """Return everything held about this pupil reference of this school."""
    school_id = _school_id(session, school)
    pupil_id = (
        None
        if school_id is None
        else session.scalar(select(Pupil.id).where(Pupil.school_id == school_id, Pupil.ref == ref))
    )
    plans = _plans(session, pupil_id) if pupil_id is not None else []
    plan_ids = [int(p["plan_id"]) for p in plans]
    return PupilReport(
        school=school,
        ref=ref,
        known=pupil_id is not None,
        plans=plans,
        rejected_rows=_rejected_rows(session, school, ref),
        files=[
            {
                "submission": s.id,
                "semester": code,
                "kind": s.kind,
                "file": s.filename,
                "received_at": s.received_at,
            }
            for s, code in _files(session, school, ref)
        ],
        inbox_files=[str(p) for p in _inbox_files(settings, school, ref)],
        emails=[
            {
                "message": m.id,
                "kind": m.kind,
                "to": m.recipient,
                "queued_at": m.created_at,
                "status": m.status,
            }
            for m in _messages(session, school_id, ref, plan_ids)
        ],
        views=[
            {
                "plan_id": plan_id,
                "at": v.at,
                "page": v.page,
                "link_holder": v.link_holder,
                "ip": v.ip,
                "user_agent": v.user_agent,
            }
            for plan_id in plan_ids
            for v in views_of(session, plan_id)
        ],
        audit=[
            {"at": a.at, "actor": a.actor, "action": a.action, "plan_id": a.entity_id}
            for a in session.scalars(
                select(AuditEntry)
                .where(AuditEntry.entity == "plan", AuditEntry.entity_id.in_(plan_ids))
                .order_by(AuditEntry.at, AuditEntry.id)
            )
        ],
    )


def _plans(session: Session, pupil_id: int) -> list[dict[str, Any]]:
    """Return the pupil's plans with every revision, evaluation and decision."""
    found = []
    plans = session.execute(
        select(Plan, Semester.code)
        .join(Semester, Semester.id == Plan.semester_id)
        .where(Plan.pupil_id == pupil_id)
        .order_by(Semester.starts_on)
    ).all()
    for plan, code in plans:
        revisions = session.scalars(
            select(PlanRevision)
            .where(PlanRevision.plan_id == plan.id)
            .order_by(PlanRevision.number)
        ).all()
        evaluation = session.scalars(
            select(Evaluation).where(Evaluation.plan_id == plan.id)
        ).first()
        found.append(
            {
                "plan_id": plan.id,
                "semester": code,
                "status": plan.status,
                "revisions": [_revision(session, r) for r in revisions],
                "evaluation": None if evaluation is None else _evaluation(session, evaluation),
                "decisions": [
                    {
                        "at": d.decided_at,
                        "revision": d.revision,
                        "outcome": d.outcome,
                        "reason": d.reason,
                        "approver": d.approver_email,
                        "substitute": d.substitute_email,
                    }
                    for d in session.scalars(
                        select(Decision).where(Decision.plan_id == plan.id).order_by(Decision.id)
                    )
                ],
            }
        )
    return found


def _revision(session: Session, revision: PlanRevision) -> dict[str, Any]:
    risks = session.scalars(select(PlanRisk.category).where(PlanRisk.revision_id == revision.id))
    measures = session.scalars(select(PlanMeasure).where(PlanMeasure.revision_id == revision.id))
    return {
        "number": revision.number,
        "grade": revision.grade,
        "goal": revision.goal,
        "submitted_at": revision.created_at,
        "risks": sorted(risks),
        "measures": [
            {
                "measure": m.measure,
                "subject": m.subject,
                "provider_ref": m.provider_ref,
                "hours_per_month": m.hours_per_month,
                "eur_per_month": m.eur_per_month,
            }
            for m in measures
        ],
    }


def _evaluation(session: Session, evaluation: Evaluation) -> dict[str, Any]:
    measures = session.scalars(
        select(EvaluationMeasure).where(EvaluationMeasure.evaluation_id == evaluation.id)
    )
    return {
        "outcome": evaluation.outcome,
        "continue": evaluation.continue_plan,
        "comment": evaluation.comment,
        "fidelity": evaluation.fidelity,
        "evaluated_at": evaluation.evaluated_at,
        "measures": [
            {
                "measure": m.measure,
                "subject": m.subject,
                "delivered_hours": m.delivered_hours,
                "spent_eur": m.spent_eur,
            }
            for m in measures
        ],
    }


def _rejected(school: str, ref: str) -> ColumnElement[bool]:
    of_school = select(Submission.id).where(Submission.school_folder == school).scalar_subquery()
    return RowRejection.submission_id.in_(of_school) & (RowRejection.pupil_ref == ref)


def _rejected_rows(session: Session, school: str, ref: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(
            Semester.code,
            Submission.filename,
            RowRejection.row_number,
            RowRejection.column,
            RowRejection.message,
        )
        .join(Submission, Submission.id == RowRejection.submission_id)
        .join(Semester, Semester.id == Submission.semester_id)
        .where(_rejected(school, ref))
        .order_by(Submission.id, RowRejection.row_number)
    ).all()
    return [
        {"semester": code, "file": name, "row": row, "column": column, "message": message}
        for code, name, row, column, message in rows
    ]


def _files(session: Session, school: str, ref: str) -> list[tuple[Submission, str]]:
    """Return the school's kept files that name the reference (read one by one)."""
    ids = session.execute(
        select(Submission.id, Semester.code)
        .join(Semester, Semester.id == Submission.semester_id)
        .where(Submission.school_folder == school, Submission.content.is_not(None))
        .order_by(Submission.id)
    ).all()
    found = []
    for submission_id, code in ids:
        submission = session.get(Submission, submission_id)
        if submission is not None and names_ref(submission.content or b"", ref):
            found.append((submission, str(code)))
    return found


def _inbox_files(settings: Settings, school: str, ref: str) -> list[Path]:
    """Return the school's inbox files (of every semester) that name the reference."""
    inbox = settings.effective_inbox_dir
    return sorted(
        path
        for path in inbox.glob(f"*/{school}/*/*")
        if path.is_file() and names_ref(path.read_bytes(), ref)
    )


def _text_pattern(ref: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])" + re.escape(ref) + r"(?![\w-])")


def _messages(
    session: Session, school_id: int | None, ref: str, plan_ids: list[int]
) -> list[OutboxMessage]:
    """Return the emails that named the reference: in their text, or in an attachment to the
    school's coordinator (reports, templates, reminders), and the plans' returned-plan emails."""
    pattern = _text_pattern(ref)
    candidates = session.scalars(
        select(OutboxMessage).where(
            or_(
                OutboxMessage.subject.contains(ref, autoescape=True),
                OutboxMessage.body_text.contains(ref, autoescape=True),
                OutboxMessage.body_html.contains(ref, autoescape=True),
                OutboxMessage.dedupe_key.in_(_returned_keys(session, plan_ids)),
            )
        )
    ).all()
    found = {
        m.id: m
        for m in candidates
        if m.dedupe_key in _returned_keys(session, plan_ids)
        or any(pattern.search(text) for text in (m.subject, m.body_text, m.body_html))
    }
    if school_id is not None:
        coordinator = session.scalar(select(School.coordinator_email).where(School.id == school_id))
        attached = session.execute(
            select(OutboxAttachment.message_id, OutboxAttachment.content)
            .join(OutboxMessage, OutboxMessage.id == OutboxAttachment.message_id)
            .where(OutboxMessage.recipient == coordinator)
        ).all()
        for message_id, content in attached:
            if message_id not in found and names_ref(content, ref):
                message = session.get(OutboxMessage, message_id)
                if message is not None:
                    found[message_id] = message
    return sorted(found.values(), key=lambda m: m.id)


def _returned_keys(session: Session, plan_ids: list[int]) -> list[str]:
    ids = session.scalars(select(Decision.id).where(Decision.plan_id.in_(plan_ids))).all()
    return [f"plan-returned:{i}" for i in ids]


@dataclass(frozen=True)
class ErasedPupil:
    """What the erasure of one pupil reference did (or, without `apply`, would do)."""

    school: str
    token: str | None  # what stands for the reference now (None: nothing was found)
    plans: int = 0
    goals: int = 0
    comments: int = 0
    reasons: int = 0
    rejected_rows: int = 0
    files: int = 0
    inbox_files: int = 0
    emails: int = 0
    audit_entries: int = 0

    def counts(self) -> dict[str, int]:
        """Return the counts by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.type == "int"}


def erase_pupil(
    session: Session,
    settings: Settings,
    school: str,
    ref: str,
    *,
    actor: str,
    apply: bool,
) -> ErasedPupil:
    """Replace this pupil reference with a token everywhere it is kept and erase the pupil's
    goals, comments and reasons (see the module's docstring); without `apply`, only count."""
    report = pupil_report(session, settings, school, ref)
    if not any(report.counts().values()) and not report.known:
        return ErasedPupil(school, None)
    new = token()
    plan_ids = [int(p["plan_id"]) for p in report.plans]
    revisions = [r for p in report.plans for r in p["revisions"]]
    decisions = [d for p in report.plans for d in p["decisions"]]
    erased = ErasedPupil(
        school=school,
        token=new if apply else None,
        plans=len(plan_ids),
        goals=sum(1 for r in revisions if r["goal"]),
        comments=sum(1 for p in report.plans if p["evaluation"] and p["evaluation"]["comment"]),
        reasons=sum(1 for d in decisions if d["reason"]),
        rejected_rows=len(report.rejected_rows),
        files=len(report.files),
        inbox_files=len(report.inbox_files),
        emails=len(report.emails),
        audit_entries=scrub_audit(session, plan_ids, dry_run=True),
    )
    if apply:
        _apply(session, settings, school, ref, new, report, plan_ids)
        session.execute(
            insert(AuditEntry),
            [
                {
                    "at": utcnow(),
                    "actor": actor,
                    "action": "pupil.erased",
                    "entity": "pupil",
                    "entity_id": None,
                    "details": {
                        **erased.counts(),
                        "school": school,
                        "token": new,
                        "why": "erased on request",
                    },
                }
            ],
        )
    return erased


def _apply(
    session: Session,
    settings: Settings,
    school: str,
    ref: str,
    new: str,
    report: PupilReport,
    plan_ids: list[int],
) -> None:
    now = utcnow()
    school_id = _school_id(session, school)
    if report.known and school_id is not None:
        session.execute(
            update(Pupil)
            .where(Pupil.school_id == school_id, Pupil.ref == ref)
            .values(ref=new, erased_at=now)
        )
    if plan_ids:
        session.execute(
            update(PlanRevision).where(PlanRevision.plan_id.in_(plan_ids)).values(goal="")
        )
        session.execute(
            update(Evaluation).where(Evaluation.plan_id.in_(plan_ids)).values(comment=None)
        )
        session.execute(update(Decision).where(Decision.plan_id.in_(plan_ids)).values(reason=None))
        scrub_audit(session, plan_ids, dry_run=False)
        returned = OutboxMessage.dedupe_key.in_(_returned_keys(session, plan_ids))
        erase_messages(session, returned, dry_run=False)  # about this pupil alone
    session.execute(
        update(RowRejection)
        .where(_rejected(school, ref))
        .values(pupil_ref=None, message="")
        .execution_options(synchronize_session=False)
    )
    for submission, _ in _files(session, school, ref):
        kept = without_ref(submission.content or b"", ref, new)
        submission.content, submission.size = kept, len(kept)
        # The inbox file changes alike: it is known by the new checksum, and not read again.
        submission.sha256 = hashlib.sha256(kept).hexdigest()
    for path in _inbox_files(settings, school, ref):
        temporary = path.with_name(f".{path.name}.erased")
        temporary.write_bytes(without_ref(path.read_bytes(), ref, new))
        temporary.replace(path)
    pattern = _text_pattern(ref)
    for message in _messages(session, school_id, ref, plan_ids):
        message.subject = pattern.sub(new, message.subject)
        message.body_text = pattern.sub(new, message.body_text)
        message.body_html = pattern.sub(new, message.body_html)
        for attachment in session.scalars(
            select(OutboxAttachment).where(OutboxAttachment.message_id == message.id)
        ):
            attachment.content = without_ref(attachment.content, ref, new)
    session.flush()
