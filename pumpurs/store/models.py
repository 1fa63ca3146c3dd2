"""The domain store: SQLAlchemy 2.0 typed models. Pupils appear only by pseudonymous reference."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from pumpurs.clock import utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Store UTC without a zone (the same on SQLite and PostgreSQL); read it back zone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use pumpurs.clock.utcnow()")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UtcDateTime(), dict[str, Any]: JSON}


class PlanStatus(StrEnum):
    DRAFT = "draft"  # carried over from the last semester, waiting for the school's submission
    SUBMITTED = "submitted"
    APPROVED = "approved"  # active: the support is being delivered
    RETURNED = "returned"
    EVALUATED = "evaluated"
    CONTINUED = "continued"
    CLOSED = "closed"


class StepStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    RETURNED = "returned"
    SUPERSEDED = "superseded"  # a newer revision arrived before a decision


class MailStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"  # permanently: a refused address; not retried


class Region(Base):
    __tablename__ = "region"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    coordinator_email: Mapped[str] = mapped_column(String(254))
    escalation_email: Mapped[str] = mapped_column(String(254))


class Municipality(Base):
    __tablename__ = "municipality"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"))
    coordinator_email: Mapped[str | None] = mapped_column(String(254))


class School(Base):
    __tablename__ = "school"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    coordinator_email: Mapped[str] = mapped_column(String(254))
    director_email: Mapped[str | None] = mapped_column(String(254))
    vocational: Mapped[bool] = mapped_column(Boolean, default=False)


class Semester(Base):
    __tablename__ = "semester"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    submission_deadline: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    evaluation_deadline: Mapped[dt.date] = mapped_column(Date)
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # When retention first erased its pupil data (`pumpurs.retention`); the figures stay.
    erased_at: Mapped[dt.datetime | None] = mapped_column()


class Pupil(Base):
    """A pupil by the school's pseudonymous reference only: never a name or personal code."""

    __tablename__ = "pupil"
    __table_args__ = (UniqueConstraint("school_id", "ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"))
    ref: Mapped[str] = mapped_column(String(32))
    # Set when the reference was replaced by an irreversible token (retention, or erasure on
    # request): `ref` is then the token, and nothing leads back to the pupil.
    erased_at: Mapped[dt.datetime | None] = mapped_column()


class Submission(Base):
    """One file a school put in the inbox, kept byte for byte."""

    __tablename__ = "submission"
    __table_args__ = (UniqueConstraint("semester_id", "school_folder", "kind", "sha256"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    semester_id: Mapped[int] = mapped_column(ForeignKey("semester.id"))
    school_folder: Mapped[str] = mapped_column(String(64))  # the folder it came from
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"))
    kind: Mapped[str] = mapped_column(String(16))  # plans | evaluation
    filename: Mapped[str] = mapped_column(String(255))
    # The SHA-256 of the file as kept: personal-code-shaped values masked (here and in the inbox
    # file), so the same as the school's file when it had none. Never the checksum of an
    # unmasked original: the mask leaves two digits of a code, and a plain checksum of the
    # original would let the rest be found by trying every code. A masked file in the inbox,
    # and the school's original sent again, both come to this checksum: read once.
    sha256: Mapped[str] = mapped_column(String(64))
    redacted: Mapped[bool] = mapped_column(Boolean, default=False)
    size: Mapped[int] = mapped_column(Integer)  # bytes kept (the school's file's, if not kept)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)  # None only when over the size limit
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16))  # ingested | unreadable
    problem: Mapped[str | None] = mapped_column(Text)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_accepted: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)


class RowRejection(Base):
    __tablename__ = "row_rejection"
    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    row_number: Mapped[int] = mapped_column(Integer)  # as the spreadsheet shows it
    column: Mapped[str | None] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)  # already masked: never a personal code
    pupil_ref: Mapped[str | None] = mapped_column(String(64))  # masked where code-shaped


class Plan(Base):
    """One pupil's support plan for one semester; its content lives in revisions."""

    __tablename__ = "plan"
    __table_args__ = (UniqueConstraint("semester_id", "pupil_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    semester_id: Mapped[int] = mapped_column(ForeignKey("semester.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupil.id"))
    status: Mapped[str] = mapped_column(String(16), index=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)  # the current revision's number
    continued_from_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    revisions: Mapped[list[PlanRevision]] = relationship(
        back_populates="plan", order_by="PlanRevision.number"
    )


class PlanRevision(Base):
    __tablename__ = "plan_revision"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    number: Mapped[int] = mapped_column(Integer)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"))
    grade: Mapped[int] = mapped_column(Integer)
    goal: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    plan: Mapped[Plan] = relationship(back_populates="revisions")
    risks: Mapped[list[PlanRisk]] = relationship(cascade="all, delete-orphan")
    measures: Mapped[list[PlanMeasure]] = relationship(cascade="all, delete-orphan")


class PlanRisk(Base):
    __tablename__ = "plan_risk"
    __table_args__ = (UniqueConstraint("revision_id", "category"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("plan_revision.id"), index=True)
    category: Mapped[str] = mapped_column(String(32))


class PlanMeasure(Base):
    __tablename__ = "plan_measure"
    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("plan_revision.id"), index=True)
    measure: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str | None] = mapped_column(String(32))
    provider_ref: Mapped[str | None] = mapped_column(String(32))
    hours_per_month: Mapped[float | None] = mapped_column(Float)
    eur_per_month: Mapped[float | None] = mapped_column(Float)


class ApprovalStep(Base):
    """One approver's step for one revision of a plan."""

    __tablename__ = "approval_step"
    __table_args__ = (UniqueConstraint("plan_id", "revision", "step_index"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    step_index: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(32))
    approver_email: Mapped[str] = mapped_column(String(254), index=True)
    status: Mapped[str] = mapped_column(String(16), default=StepStatus.PENDING)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    notified_at: Mapped[dt.datetime | None] = mapped_column()
    # Whom the last digest or reminder went to: the approver, or their substitute. When that is
    # no longer who has the step on their desk, the next route run announces it again.
    notified_to: Mapped[str | None] = mapped_column(String(254))
    reminded_at: Mapped[dt.datetime | None] = mapped_column()
    escalated_at: Mapped[dt.datetime | None] = mapped_column()
    decided_at: Mapped[dt.datetime | None] = mapped_column()


class ApprovalToken(Base):
    """A single-use approval link's server side: the signed value carries only `nonce`."""

    __tablename__ = "approval_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("approval_step.id"), index=True)
    approver_email: Mapped[str] = mapped_column(String(254))  # who the link was sent to
    # Set when it was sent to a substitute: the approver they stand in for.
    on_behalf_of: Mapped[str | None] = mapped_column(String(254))
    revision: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    used_at: Mapped[dt.datetime | None] = mapped_column()


class Decision(Base):
    __tablename__ = "decision"
    id: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("approval_step.id"), unique=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))  # approved | returned
    reason: Mapped[str | None] = mapped_column(Text)
    approver_email: Mapped[str] = mapped_column(String(254))  # whose step it was
    # Set when a substitute decided on the approver's behalf: who did.
    substitute_email: Mapped[str | None] = mapped_column(String(254))
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))


class Evaluation(Base):
    __tablename__ = "evaluation"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), unique=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"))
    outcome: Mapped[str] = mapped_column(String(16))  # improved | no_change | worse
    continue_plan: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    fidelity: Mapped[float | None] = mapped_column(Float)
    weighted_ratio: Mapped[float | None] = mapped_column(Float)
    flags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    evaluated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EvaluationMeasure(Base):
    __tablename__ = "evaluation_measure"
    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluation.id"), index=True)
    measure: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str | None] = mapped_column(String(32))
    planned: Mapped[float | None] = mapped_column(Float)
    delivered_hours: Mapped[float | None] = mapped_column(Float)
    spent_eur: Mapped[float | None] = mapped_column(Float)
    ratio: Mapped[float | None] = mapped_column(Float)


class SemesterFigure(Base):
    """Figures for one unit (school, municipality, region or nation) of one semester."""

    __tablename__ = "semester_figure"
    __table_args__ = (UniqueConstraint("semester_id", "level", "unit_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    semester_id: Mapped[int] = mapped_column(ForeignKey("semester.id"))
    level: Mapped[str] = mapped_column(String(16))
    unit_code: Mapped[str] = mapped_column(String(64))
    figures: Mapped[dict[str, Any]] = mapped_column()
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """One logical email: written before it is sent, so nothing is sent twice or lost."""

    __tablename__ = "outbox_message"
    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255))  # the Message-ID header, fixed at queueing
    status: Mapped[str] = mapped_column(String(16), default=MailStatus.QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column()
    # A sender claims a few messages at a time, so two runs never send the same one.
    claim_token: Mapped[str | None] = mapped_column(String(32), index=True)
    claimed_until: Mapped[dt.datetime | None] = mapped_column()
    # Set just before DATA, cleared when the server answers. Still set when a sender picks the
    # message up: the answer to an earlier attempt was lost, so the message may have arrived.
    sending_since: Mapped[dt.datetime | None] = mapped_column()
    # Sent again after a lost answer: the recipient may have it twice (the same Message-ID).
    possibly_repeated: Mapped[bool] = mapped_column(Boolean, default=False)
    attachments: Mapped[list[OutboxAttachment]] = relationship(cascade="all, delete-orphan")


class OutboxAttachment(Base):
    __tablename__ = "outbox_attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_message.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(128))
    content_id: Mapped[str | None] = mapped_column(String(128))  # set: an inline image of the HTML
    content: Mapped[bytes] = mapped_column(LargeBinary)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class PageView(Base):
    """One view of a page that shows pupil data: which page, which plans, by which link, when,
    from where (`pumpurs.store.access`). Kept as long as the data it shows."""

    __tablename__ = "page_view"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    page: Mapped[str] = mapped_column(String(16))  # plan | pending | school
    # The plan ids shown, as `,1,2,3,`: one row per view, and a plan's views found by LIKE.
    plan_ids: Mapped[str] = mapped_column(Text)
    token_id: Mapped[int | None] = mapped_column(Integer)  # the plan link's approval_token.id
    link_holder: Mapped[str] = mapped_column(String(254))  # who the link was made for
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))


class SchoolLink(Base):
    """A school's page link for one semester: the signed value carries only `nonce`.

    Re-issuing a school's link (`pumpurs school-link`) sets `replaced_at` on the old one, which
    then no longer opens the page. It expires at the end of the semester's evaluation deadline.
    """

    __tablename__ = "school_link"
    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    school_code: Mapped[str] = mapped_column(String(64))
    semester_code: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)  # 1, then one more per re-issue
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    replaced_at: Mapped[dt.datetime | None] = mapped_column()


class SchoolUpload(Base):
    """One file a school sent through its page, whatever became of it (the upload audit).

    `sha256` is the checksum of the file as kept (codes masked), never of an unmasked
    original; None when the file was refused unread (too large, not a table).
    """

    __tablename__ = "school_upload"
    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("school_link.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(16))  # plans | evaluation
    original_name: Mapped[str] = mapped_column(String(255))  # as sent, codes masked
    kept_name: Mapped[str | None] = mapped_column(String(255))  # in the inbox folder
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)  # bytes received
    outcome: Mapped[str] = mapped_column(String(32))  # kept | duplicate | a refusal's key
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)


Index("ix_plan_semester_status", Plan.semester_id, Plan.status)
Index("ix_school_link_school_semester", SchoolLink.school_code, SchoolLink.semester_code)
