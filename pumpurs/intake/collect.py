"""Collecting plan drafts: every new inbox file read, every row accepted or rejected with a
reason, accepted plans stored, and one report email per school.

The new files are read once, then checked and stored in parts of about `CHUNK_ROWS` rows, a
few hundred schools each, so memory stays flat however many schools send files. A part holds
whole schools: every rule looks within one school folder (pupil references are chosen per
school). `collect_in_chunks` stores each part in its own transaction (its submissions, plans,
rejections and reports together), so a run killed midway leaves whole parts stored and the
next run takes exactly the files not stored yet; `collect` does all parts in the caller's
transaction. Either way the rows, plans, reports and counts are those of one big batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from pumpurs.config import Config
from pumpurs.i18n.catalogue import N_, translations
from pumpurs.intake import validate_plans
from pumpurs.intake.batch import (
    PLANS,
    ROW,
    Batch,
    IntakeReport,
    RowsLost,
    Scan,
    account,
    rejection_frame,
    scan_inbox,
    school_table,
)
from pumpurs.intake.inbox import InboxFile
from pumpurs.intake.plans import PLAN_KEY, store_plans
from pumpurs.intake.problems import render
from pumpurs.intake.report import known_school, queue_reports, report_pages, resend_report
from pumpurs.settings import Settings
from pumpurs.store.reference import StoredSemester

OUTCOMES = ("new", "revised", "unchanged")
CHUNK_ROWS = 50_000
"""Rows checked and stored together (whole schools: a part may go over it by one school)."""
READ_SHARE = 25
"""Progress while the files are read; the parts share 30–100 (one part: 30, 50, 80, 100)."""

Transaction = Callable[[], AbstractContextManager[Session]]
SUMMED = (
    "rows_read",
    "rows_accepted",
    "rows_rejected",
    "reports_queued",
    "plans_new",
    "plans_revised",
    "plans_unchanged",
)
"""The counts of a run that are the sums of its parts'."""


@dataclass(frozen=True)
class CollectReport(IntakeReport):
    plans_new: int = 0
    plans_revised: int = 0
    plans_unchanged: int = 0
    reports_resent: int = 0  # one school's run found nothing new: its latest report again


@dataclass(frozen=True)
class OneSchool:
    """A run for one school: only its folder is read; with nothing new in it, its latest report
    goes again under the run's own `again` key suffix."""

    code: str
    again: str


def collect(
    session: Session,
    config: Config,
    settings: Settings,
    semester: StoredSemester,
    on_progress: Callable[[float], None] = lambda _: None,
) -> CollectReport:
    """Collect every new plan file of the semester from the inbox, in the caller's transaction."""

    def same_session() -> AbstractContextManager[Session]:
        return nullcontext(session)

    return _collect(same_session, config, settings, semester, on_progress)


def collect_in_chunks(
    sessions: sessionmaker[Session],
    config: Config,
    settings: Settings,
    semester: StoredSemester,
    on_progress: Callable[[float], None] = lambda _: None,
    school: OneSchool | None = None,
) -> CollectReport:
    """Collect every new plan file of the semester (or of one school), each part of schools in
    its own transaction."""
    return _collect(sessions.begin, config, settings, semester, on_progress, school)


def _collect(
    transaction: Transaction,
    config: Config,
    settings: Settings,
    semester: StoredSemester,
    on_progress: Callable[[float], None],
    school: OneSchool | None = None,
) -> CollectReport:
    language = str(settings.language)
    if school is not None:
        school = replace(school, code=known_school(config, school.code))
    with transaction() as session:
        scan = scan_inbox(
            session,
            config,
            settings,
            semester,
            PLANS,
            lambda done, total: on_progress(READ_SHARE * done / total),
            school.code if school else None,
        )
        if not scan.files and school is not None:
            resent = resend_report(session, config, semester.code, PLANS, school.code, school.again)
            return CollectReport(skipped=scan.skipped, reports_resent=int(resent))
    if not scan.files:
        return CollectReport(skipped=scan.skipped)
    parts = chunks(scan)
    done = []
    for number, files in enumerate(parts):

        def stage(percent: int, number: int = number) -> None:
            on_progress(30 + (70 * number + percent - 30) / len(parts))

        done.append(_collect_part(transaction, config, settings, semester, scan, files, stage))
    return CollectReport(
        files=len(scan.files),
        skipped=scan.skipped,
        unreadable=scan.unreadable,
        schools=sorted((row for part in done for row in part.schools), key=_school),
        file_problems=scan.file_problems(language),
        **{name: sum(getattr(part, name) for part in done) for name in SUMMED},
    )


def _school(row: dict[str, object]) -> str:
    return str(row["school"])


def _collect_part(
    transaction: Transaction,
    config: Config,
    settings: Settings,
    semester: StoredSemester,
    scan: Scan,
    files: Sequence[InboxFile],
    stage: Callable[[int], None],
) -> CollectReport:
    """Store one part's files, check and store their rows, and queue their schools' reports."""
    language = str(settings.language)
    with transaction() as session:
        batch = scan.batch(session, semester, files, language)
        pages = report_pages(session, config, settings, semester, batch)
        part = _collect_batch(session, config, language, semester, batch, stage, pages)
        session.flush()  # within the caller's transaction, what is stored can be let go
    return part


def _collect_batch(
    session: Session,
    config: Config,
    language: str,
    semester: StoredSemester,
    batch: Batch,
    stage: Callable[[int], None],
    pages: Mapping[str, str] | None = None,
) -> CollectReport:
    """Check and store one part's batch (its files already stored as submissions)."""
    stage(30)
    validation = validate_plans(batch.rows, config, language)
    stage(50)
    stored = store_plans(session, semester, validation.accepted, batch.submission_ids)
    rejections = pd.concat(
        [validation.rejections, _decided(stored.decided, language)], ignore_index=True
    )
    accepted = validation.accepted.merge(stored.decided[ROW], on=ROW, how="left", indicator=True)
    accepted = accepted[accepted["_merge"] == "left_only"]
    stage(80)
    counted = account(session, batch, accepted, rejections)
    outcomes = stored.outcomes["outcome"].value_counts()
    plans = _plans_per_school(stored.outcomes, batch.schools())
    schools = school_table(
        batch,
        counted,
        {school: {f"plans_{k}": v for k, v in counts.items()} for school, counts in plans.items()},
    )
    queued = queue_reports(
        session, config, language, semester.code, batch, counted, rejections, plans, pages
    )
    stage(100)
    return CollectReport(
        rows_read=counted.read,
        rows_accepted=counted.accepted,
        rows_rejected=counted.rejected,
        plans_new=int(outcomes.get("new", 0)),
        plans_revised=int(outcomes.get("revised", 0)),
        plans_unchanged=int(outcomes.get("unchanged", 0)),
        schools=schools,
        reports_queued=queued,
    )


def chunks(scan: Scan, size: int | None = None) -> list[list[InboxFile]]:
    """Split the run's files into parts of whole schools, about `size` rows each, in run order."""
    size = CHUNK_ROWS if size is None else size
    rank = {f.label: i for i, f in enumerate(scan.files)}
    schools: dict[str, list[InboxFile]] = {}
    for item in scan.files:  # run order: each school comes in at its first file
        schools.setdefault(item.folder_school.strip().upper(), []).append(item)
    parts: list[list[InboxFile]] = [[]]
    rows = 0
    for files in schools.values():
        if rows >= size:
            parts.append([])
            rows = 0
        parts[-1].extend(files)
        rows += sum(max(1, scan.rows.get(f.label, 0)) for f in files)
    return [sorted(part, key=lambda f: rank[f.label]) for part in parts]


def _plans_per_school(outcomes: pd.DataFrame, schools: Sequence[str]) -> dict[str, dict[str, int]]:
    """Return each school's count of new, revised and unchanged plans."""
    counts = outcomes.groupby(["school_code", "outcome"]).size().to_dict()
    return {s: {k: int(counts.get((s, k), 0)) for k in OUTCOMES} for s in schools}


def _decided(rows: pd.DataFrame, language: str) -> pd.DataFrame:
    """Reject the rows of plans that were already approved or evaluated."""
    message = translations(language).gettext(
        N_(
            "The plan of pupil “%(pupil)s” is already approved this semester, so a new file "
            "cannot replace it. If the plan must change, contact the regional coordinator."
        )
    )
    messages = render(message, rows.index, {"pupil": rows["pupil_ref"]}).astype("object")
    return rejection_frame(rows, "plan_already_decided", messages)


__all__ = [
    "CHUNK_ROWS",
    "PLAN_KEY",
    "CollectReport",
    "OneSchool",
    "RowsLost",
    "collect",
    "collect_in_chunks",
]
