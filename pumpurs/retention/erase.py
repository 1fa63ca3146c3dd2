"""Erase the pupil data of semesters past the keeping period; keep the figures and the audit.

What goes, for each such semester: pupil references (each plan's pupil becomes an irreversible
token), goals, evaluation comments, decisions' reasons, rejected rows' references and
messages, the kept files' contents (database and inbox), the emails' subjects, bodies and
attachments (they name pupils), free text in the audit details, and later plans' link back to
an erased plan. What stays: the plans' structure (grade, risks, measures, statuses, decisions'
who and when, evaluations' figures) under the tokens, so `semester_figure` and any
recomputation of it are unchanged, and the audit log, with one entry per erasure (what was
erased, how much, when, by which run).

Every statement touches only rows still holding something, so a second run changes nothing;
`dry_run` counts the same rows and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import shutil
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    Table,
    bindparam,
    cast,
    delete,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from pumpurs.clock import RIGA, utcnow
from pumpurs.config import Config
from pumpurs.retention.period import DueSemester, due_semesters, views_kept_from
from pumpurs.retention.scrub import count, erase_messages, scrub_audit, token
from pumpurs.settings import Settings
from pumpurs.store.models import (
    AuditEntry,
    Decision,
    Evaluation,
    OutboxMessage,
    PageView,
    Plan,
    PlanRevision,
    Pupil,
    RowRejection,
    Semester,
    Submission,
)

KEPT_KINDS = ("summary",)
"""Emails of a semester that carry only figures: kept whole."""


@dataclass(frozen=True)
class Erased:
    """What was (or, in a dry run, would be) erased of one semester."""

    semester: str
    kept_until: dt.date
    pupil_refs: int = 0  # plans whose pupil reference became a token
    goals: int = 0  # plan revisions' goals
    comments: int = 0  # evaluations' comments
    reasons: int = 0  # decisions' reasons
    rejections: int = 0  # rejected rows' pupil references and messages
    files: int = 0  # kept file contents in the database
    inbox_files: int = 0  # files in the semester's inbox folder
    messages: int = 0  # emails' subjects and bodies
    attachments: int = 0  # emails' attachments
    audit_entries: int = 0  # audit entries whose details held free text about a pupil
    links_cut: int = 0  # later semesters' plans carried over from an erased one

    def counts(self) -> dict[str, int]:
        """Return the counts by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.type == "int"}

    @property
    def total(self) -> int:
        """Return how many things were erased in all."""
        return sum(self.counts().values())


@dataclass(frozen=True)
class RetentionReport:
    """What a retention run erased (or would, in a dry run)."""

    dry_run: bool
    retention_years: int
    today: dt.date
    semesters: list[Erased] = field(default_factory=list)
    views_pruned: int = 0  # page views from the years whose semesters are erased

    def counts(self) -> dict[str, int]:
        """Return the run's counts: semesters erased, then each kind of thing summed."""
        names = [f.name for f in fields(Erased) if f.type == "int"]
        summed = {name: sum(getattr(e, name) for e in self.semesters) for name in names}
        return {
            "retention_years": self.retention_years,
            "semesters_erased": sum(1 for e in self.semesters if e.total),
            **summed,
            "views_pruned": self.views_pruned,
        }

    def table(self) -> list[dict[str, Any]]:
        """Return a row per semester past its keeping period, with what went."""
        return [
            {"semester": e.semester, "kept_until": e.kept_until.isoformat(), **e.counts()}
            for e in self.semesters
        ]


def apply_retention(
    session: Session,
    settings: Settings,
    config: Config,
    *,
    today: dt.date,
    dry_run: bool,
    run: str,
) -> RetentionReport:
    """Erase the pupil data of every semester past the keeping period, and prune the page
    views of those years; `run` names the run in the audit log."""
    years = config.programme.retention_years
    erased = [
        erase_semester(session, settings, due, dry_run=dry_run, run=run)
        for due in due_semesters(session, today, years)
    ]
    pruned = prune_views(session, views_kept_from(today, years), dry_run=dry_run, run=run)
    return RetentionReport(dry_run, years, today, erased, pruned)


def erase_semester(
    session: Session, settings: Settings, due: DueSemester, *, dry_run: bool, run: str
) -> Erased:
    """Erase one semester's pupil data (see the module's docstring); return what went."""
    semester_plan = aliased(Plan)  # not correlated with `plan` where a statement updates it
    plans = select(semester_plan.id).where(semester_plan.semester_id == due.id)
    plan_ids = [int(i) for i in session.scalars(plans)]
    in_plans = Plan.id.in_(plans.scalar_subquery())
    submissions = select(Submission.id).where(Submission.semester_id == due.id).scalar_subquery()
    messages, attachments = erase_messages(session, _messages_of(due, plans), dry_run)
    erased = Erased(
        semester=due.code.code,
        kept_until=due.kept_until,
        pupil_refs=_tokenise(session, due.id, dry_run),
        goals=_clear(
            session,
            PlanRevision,
            PlanRevision.goal,
            "",
            PlanRevision.plan_id.in_(plans.scalar_subquery()),
            dry_run,
        ),
        comments=_clear(
            session,
            Evaluation,
            Evaluation.comment,
            None,
            Evaluation.plan_id.in_(plans.scalar_subquery()),
            dry_run,
        ),
        reasons=_clear(
            session,
            Decision,
            Decision.reason,
            None,
            Decision.plan_id.in_(plans.scalar_subquery()),
            dry_run,
        ),
        rejections=_erase_rejections(session, RowRejection.submission_id.in_(submissions), dry_run),
        files=_clear(
            session, Submission, Submission.content, None, Submission.semester_id == due.id, dry_run
        ),
        inbox_files=_erase_inbox(settings.effective_inbox_dir / due.code.folder, dry_run),
        messages=messages,
        attachments=attachments,
        audit_entries=scrub_audit(session, plan_ids, dry_run),
        links_cut=_clear(
            session,
            Plan,
            Plan.continued_from_id,
            None,
            Plan.continued_from_id.in_(plans.scalar_subquery()) & ~in_plans,
            dry_run,
        ),
    )
    if not dry_run:
        session.execute(
            update(Semester)
            .where(Semester.id == due.id, Semester.erased_at.is_(None))
            .values(erased_at=utcnow())
        )
        if erased.total:
            session.execute(insert(AuditEntry), [_audit(erased, due, run)])
    return erased


def _audit(erased: Erased, due: DueSemester, run: str) -> dict[str, Any]:
    """Return the audit entry of one semester's erasure: counts only, never a value."""
    details = {k: str(v) if isinstance(v, dt.date) else v for k, v in asdict(erased).items()}
    return {
        "at": utcnow(),
        "actor": "retention",
        "action": "retention.erased",
        "entity": "semester",
        "entity_id": due.id,
        "details": {**details, "run": run},
    }


def _messages_of(due: DueSemester, plans: Any) -> ColumnElement[bool]:
    """Select the semester's emails that may name pupils: every key of a message about a
    semester names its code (`<kind>:<semester>:…`); a returned plan's is its decision's."""
    code = due.code.code
    returned = select(literal("plan-returned:") + cast(Decision.id, String)).where(
        Decision.plan_id.in_(plans.scalar_subquery())
    )
    about = or_(
        OutboxMessage.dedupe_key.like(f"%:{code}:%"),
        OutboxMessage.dedupe_key.like(f"%:{code}"),
    )
    return or_(
        about & OutboxMessage.kind.not_in(KEPT_KINDS),
        OutboxMessage.dedupe_key.in_(returned.scalar_subquery()),
    )


def _clear(
    session: Session,
    model: type[Any],
    column: Any,
    empty: object,
    where: ColumnElement[bool],
    dry_run: bool,
) -> int:
    """Set `column` to `empty` where it holds something; return in how many rows."""
    holding = column.is_not(None) if empty is None else column != empty
    found = count(session, select(model.id).where(where, holding))
    if found and not dry_run:
        session.execute(
            update(model)
            .where(where, holding)
            .values({column.key: empty})
            .execution_options(synchronize_session=False)
        )
    return found


def _erase_rejections(session: Session, where: ColumnElement[bool], dry_run: bool) -> int:
    """Clear rejected rows' pupil references and messages (the rule, column and row stay)."""
    holding = or_(RowRejection.pupil_ref.is_not(None), RowRejection.message != "")
    found = count(session, select(RowRejection.id).where(where, holding))
    if found and not dry_run:
        session.execute(
            update(RowRejection)
            .where(where, holding)
            .values(pupil_ref=None, message="")
            .execution_options(synchronize_session=False)
        )
    return found


_PLAN = typing.cast(Table, Plan.__table__)
_REPOINT = (  # Core, many rows at once (an ORM UPDATE would want the plans' primary keys)
    update(_PLAN).where(_PLAN.c.id == bindparam("b_plan")).values(pupil_id=bindparam("b_pupil"))
)


def _tokenise(session: Session, semester_id: int, dry_run: bool) -> int:
    """Give each of the semester's plans a pupil of its own whose reference is a new token.

    A pupil's row is shared with their plans of other semesters, kept still: the erased plan
    moves to a new row (one per plan, so each semester's distinct pupils count the same), and
    a pupil row no plan uses any more is deleted.
    """
    rows = session.execute(
        select(Plan.id, Plan.pupil_id, Plan.school_id)
        .join(Pupil, Pupil.id == Plan.pupil_id)
        .where(Plan.semester_id == semester_id, Pupil.erased_at.is_(None))
        .order_by(Plan.id)
    ).all()
    if not rows or dry_run:
        return len(rows)
    now = utcnow()
    new_ids = session.scalars(
        insert(Pupil).returning(Pupil.id, sort_by_parameter_order=True),
        [{"school_id": school_id, "ref": token(), "erased_at": now} for _, _, school_id in rows],
    ).all()
    session.execute(
        _REPOINT,
        [
            {"b_plan": plan_id, "b_pupil": new}
            for (plan_id, _, _), new in zip(rows, new_ids, strict=True)
        ],
    )
    old = sorted({int(pupil_id) for _, pupil_id, _ in rows})
    for start in range(0, len(old), 5000):
        used = select(Plan.id).where(Plan.pupil_id == Pupil.id).exists()
        session.execute(
            delete(Pupil)
            .where(Pupil.id.in_(old[start : start + 5000]), ~used)
            .execution_options(synchronize_session=False)
        )
    return len(rows)


def _erase_inbox(folder: Path, dry_run: bool) -> int:
    """Delete the semester's inbox folder (every school's files); return how many files."""
    if not folder.is_dir():
        return 0
    files = sum(1 for path in folder.rglob("*") if path.is_file())
    if not dry_run:
        shutil.rmtree(folder)
    return files


def prune_views(session: Session, kept_from: dt.date, *, dry_run: bool, run: str) -> int:
    """Delete the page views before `kept_from` (a day in Latvia); return how many."""
    before = dt.datetime.combine(kept_from, dt.time(), RIGA)
    old = PageView.at < before
    found = count(session, select(PageView.id).where(old))
    if found and not dry_run:
        session.execute(delete(PageView).where(old).execution_options(synchronize_session=False))
        session.execute(
            insert(AuditEntry),
            [
                {
                    "at": utcnow(),
                    "actor": "retention",
                    "action": "retention.views_pruned",
                    "entity": "page_view",
                    "entity_id": None,
                    "details": {"views": found, "before": kept_from.isoformat(), "run": run},
                }
            ],
        )
    return found
