"""Retention on a semester that was lived through: files collected (one refused row naming a
pupil), plans routed and decided (one returned with a reason), a page viewed, an evaluation with
a comment, figures, and a plan carried into a later semester. Past the keeping period its pupil
data goes from every table and the inbox; its figures stay; a second run and a dry run change
nothing."""

from __future__ import annotations

import datetime as dt
import json
import re

import time_machine
from sqlalchemy import select, text

from pumpurs.retention import apply_retention, due_semesters, kept_until
from pumpurs.store.context import Context
from pumpurs.store.models import AuditEntry, Plan, Pupil, Semester, SemesterFigure
from pumpurs.store.reference import stored_semester
from pumpurs.summaries.store import refresh_figures
from tests.retention.lived import AFTER, GONE, LATER, OLD, SCHOOL, dump, holding, lived

__all__ = ["lived"]  # the fixture


def run(ctx: Context, dry_run: bool = False) -> dict[str, int]:
    with time_machine.travel(AFTER, tick=False), ctx.sessions.begin() as session:
        report = apply_retention(session, ctx.settings, ctx.config, today=AFTER.date(),
                                 dry_run=dry_run, run="test-run")  # fmt: skip
    return report.counts()


def test_the_keeping_period_counts_whole_years_from_the_evaluation_year() -> None:
    assert kept_until(dt.date(2027, 1, 5), 5) == dt.date(2032, 12, 31)
    assert kept_until(dt.date(2027, 6, 12), 1) == dt.date(2028, 12, 31)


def test_only_semesters_past_the_period_are_due(lived: Context) -> None:
    with lived.sessions() as session:
        assert due_semesters(session, dt.date(2032, 12, 31), 5) == []
        [due] = due_semesters(session, dt.date(2033, 1, 1), 5)
        assert (due.code, due.kept_until) == (OLD, dt.date(2032, 12, 31))


def test_retention_erases_the_pupil_data_keeps_the_figures_and_a_rerun_changes_nothing(
    lived: Context,
) -> None:
    ctx = lived
    assert holding(ctx, GONE) != []  # the old semester holds all of it before
    before = dump(ctx)
    dry = run(ctx, dry_run=True)
    assert dump(ctx) == before  # a dry run changes nothing
    old_inbox = ctx.settings.effective_inbox_dir / OLD.folder
    assert old_inbox.is_dir()

    counts = run(ctx)
    assert counts == dry  # the dry run said what went
    assert counts["semesters_erased"] == 1
    for name in ("pupil_refs", "goals", "comments", "reasons", "rejections", "files",
                 "inbox_files", "messages", "attachments", "audit_entries", "links_cut",
                 "views_pruned"):  # fmt: skip
        assert counts[name] > 0, name
    assert holding(ctx, GONE) == []
    assert not old_inbox.exists()
    assert (ctx.settings.effective_inbox_dir / LATER.folder / SCHOOL / "plans").is_dir()

    after = dump(ctx)
    # The figures stay, and recomputing them from what is left gives the same.
    assert after["semester_figure"] == before["semester_figure"]
    with ctx.sessions.begin() as session:
        assert refresh_figures(session, ctx.config, stored_semester(session, OLD)) == 0
    with ctx.sessions() as session:
        plans = session.execute(
            select(Plan.id, Pupil.ref, Pupil.erased_at, Semester.code)
            .join(Pupil, Pupil.id == Plan.pupil_id)
            .join(Semester, Semester.id == Plan.semester_id)
        ).all()
        old_refs = [ref for _, ref, _, code in plans if code == OLD.code]
        assert len(old_refs) == 2 and all(re.fullmatch(r"erased-[0-9a-f]{16}", r) for r in old_refs)
        assert [ref for _, ref, _, code in plans if code == LATER.code] == ["P-RETAIN1"]
        later = session.scalars(select(Plan).where(Plan.continued_from_id.is_not(None))).all()
        assert later == []  # the link back to the erased plan is cut
        assert session.scalar(select(Semester.erased_at).where(Semester.code == OLD.code))
        audit = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "retention.erased")
        ).one()
        assert audit.details["semester"] == OLD.code and audit.details["run"] == "test-run"
        assert audit.details["goals"] == counts["goals"]
        assert not set(json.dumps(audit.details, ensure_ascii=False).split()) & set(GONE)
        # The summary (figures only) is kept whole.
        summary = session.execute(text("SELECT body_text FROM outbox_message WHERE kind = "
                                       "'summary'")).scalar_one()  # fmt: skip
        assert summary == "Skolēni: 2"
        views = session.execute(text("SELECT page FROM page_view")).scalars().all()
        assert views == ["pending"]  # the 2026 view went, the 2028 one stays

    assert run(ctx) == {**{k: 0 for k in counts}, "retention_years": 5}
    assert dump(ctx) == after  # a second run changes nothing
    with ctx.sessions() as session:
        figures = session.scalars(select(SemesterFigure.figures)).all()
    assert figures and all(f for f in figures)
