"""Steps every intake of school files shares (plan drafts and evaluations alike).

Read the semester's new inbox files and keep them, record every rejected row, and prove that
each row read ended accepted or rejected. The per-school report is in `pumpurs.intake.report`.
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, cast

import pandas as pd
from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from pumpurs.columns import EVALUATION_COLUMNS, PLAN_COLUMNS, Column
from pumpurs.config import Config
from pumpurs.i18n.catalogue import N_
from pumpurs.intake import REJECTION_COLUMNS, ReadResult, read_file
from pumpurs.intake.inbox import InboxFile, batch_rows, new_files, read_batch, record_submissions
from pumpurs.settings import Settings
from pumpurs.store.models import RowRejection, Submission
from pumpurs.store.reference import StoredSemester

ROW = ["file", "row_number"]


class RowsLost(AssertionError):
    """Rows read did not equal rows accepted plus rows rejected: a bug, never to be hidden."""


@dataclass(frozen=True)
class IntakeReport:
    """What an intake run did with the files; plans and evaluations add their own counts."""

    files: int = 0
    skipped: int = 0
    unreadable: int = 0
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    reports_queued: int = 0
    schools: list[dict[str, Any]] = field(default_factory=list)
    file_problems: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Return the counts (everything but the tables) as a run shows them: the files' and
        rows', the plans' (of the subclass), then the reports queued."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        counts = {name: value for name, value in values.items() if isinstance(value, int)}
        counts["reports_queued"] = counts.pop("reports_queued")
        return counts


@dataclass(frozen=True)
class IntakeKind:
    """What differs between the intakes: inbox folder, columns, and how reports are named."""

    folder: str  # the inbox sub-folder and Submission.kind: plans | evaluation
    columns: tuple[Column, ...]
    mail_kind: str
    csv_name: str  # a catalogue message, without `_<school>_<semester>.csv`


# Translators: the start of a file name: ASCII letters and underscores only.
_REJECTED_PLANS, _REJECTED_EVALUATIONS = N_("rejected_rows"), N_("rejected_evaluation_rows")
PLANS = IntakeKind("plans", PLAN_COLUMNS, "collect_report", _REJECTED_PLANS)
EVALUATIONS = IntakeKind(
    "evaluation", EVALUATION_COLUMNS, "evaluation_report", _REJECTED_EVALUATIONS
)


@dataclass
class Batch:
    """The new files of one run, kept as submissions, and their rows as one frame."""

    kind: IntakeKind
    files: list[InboxFile]
    skipped: int
    rows: pd.DataFrame
    results: dict[str, ReadResult]
    submissions: dict[str, Submission] = field(default_factory=dict)

    @property
    def submission_ids(self) -> pd.Series:
        """Return each file label's submission id."""
        return pd.Series({label: s.id for label, s in self.submissions.items()}, dtype="int64")

    @property
    def unreadable(self) -> int:
        """Return how many files gave no rows."""
        return sum(1 for r in self.results.values() if not r.ok)

    def schools(self) -> list[str]:
        """Return the school folders that sent files in this run."""
        return sorted({f.folder_school for f in self.files})

    def file_problems(self, language: str) -> list[dict[str, Any]]:
        """Return the dashboard's table of files that could not be read."""
        return file_problems(self.files, self.results, language)


def file_problems(
    files: Sequence[InboxFile], results: Mapping[str, ReadResult], language: str
) -> list[dict[str, Any]]:
    """Return the dashboard's table of these files that could not be read, in their order."""
    return [
        {
            "school": f.folder_school,
            "file": f.path.name,
            "problem": results[f.label].message(language),
        }
        for f in files
        if not results[f.label].ok
    ]


@dataclass(frozen=True)
class Accounting:
    """Rows read, accepted and rejected: per file (label) and in total."""

    per_file: dict[str, dict[str, int]]
    read: int
    accepted: int
    rejected: int


def read_inbox(
    session: Session,
    config: Config,
    settings: Settings,
    semester: StoredSemester,
    kind: IntakeKind,
) -> Batch:
    """Read every new file of this kind and store each as a submission."""
    inbox = settings.effective_inbox_dir
    max_bytes = int(config.programme.max_file_mb * 1024 * 1024)
    files, skipped = new_files(session, inbox, semester, kind.folder, max_bytes)
    rows, results = read_batch(files, max_bytes, kind.columns)
    batch = Batch(kind, files, skipped, rows, results)
    if files:
        language = str(settings.language)
        batch.submissions = record_submissions(session, semester, files, results, language)
    return batch


_SET_ASIDE = pd.DataFrame()  # stands for a frame packed away: the result still reads as ok


@dataclass
class Scan:
    """Every new file of one run read once, its rows packed away until its part is processed.

    A whole semester's rows unpacked at once would take about a gigabyte at ten times the
    national scale; packed (pickled, compressed) they take some tens of megabytes, and each
    part (`batch`) unpacks only its own files, so an intake can go part by part.
    """

    kind: IntakeKind
    files: list[InboxFile]  # oldest first, as `new_files` gives them
    skipped: int
    results: dict[str, ReadResult]  # by label; a frame read is set aside in `packed`
    packed: dict[str, bytes] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)  # rows read, by label

    @property
    def unreadable(self) -> int:
        """Return how many files gave no rows."""
        return sum(1 for r in self.results.values() if not r.ok)

    def file_problems(self, language: str) -> list[dict[str, Any]]:
        """Return the dashboard's table of files that could not be read."""
        return file_problems(self.files, self.results, language)

    def batch(
        self, session: Session, semester: StoredSemester, files: Sequence[InboxFile], language: str
    ) -> Batch:
        """Return these files (in run order) as a batch, each stored as a submission.

        The batch is what `read_inbox` would give if these were the only new files.
        """
        frames = {f.label: _unpack(self.packed[f.label]) for f in files if f.label in self.packed}
        rows = batch_rows(files, frames, self.kind.columns)
        results = {
            f.label: replace(self.results[f.label], frame=frames[f.label])
            if f.label in frames
            else self.results[f.label]
            for f in files
        }
        batch = Batch(self.kind, list(files), self.skipped, rows, results)
        if files:
            batch.submissions = record_submissions(session, semester, files, results, language)
        return batch


def scan_inbox(
    session: Session,
    config: Config,
    settings: Settings,
    semester: StoredSemester,
    kind: IntakeKind,
    on_read: Callable[[int, int], None] = lambda _done, _total: None,
    school: str | None = None,
) -> Scan:
    """Read every new file of this kind (of one school's folder, if given) once and pack its
    rows away; store nothing.

    `on_read(done, total)` is told every few per cent of the files.
    """
    inbox = settings.effective_inbox_dir
    max_bytes = int(config.programme.max_file_mb * 1024 * 1024)
    files, skipped = new_files(session, inbox, semester, kind.folder, max_bytes, school)
    scan = Scan(kind, files, skipped, {})
    step = max(1, len(files) // 20)
    for done, item in enumerate(files, start=1):
        result = read_file(item.path, max_bytes=max_bytes, columns=kind.columns)
        frame = result.frame
        if frame is not None:
            scan.packed[item.label] = zlib.compress(pickle.dumps(frame, protocol=5), 1)
            scan.rows[item.label] = len(frame)
            result = replace(result, frame=_SET_ASIDE)
        scan.results[item.label] = result
        if done % step == 0 or done == len(files):
            on_read(done, len(files))
    return scan


def _unpack(packed: bytes) -> pd.DataFrame:
    frame = pickle.loads(zlib.decompress(packed))  # noqa: S301 - packed by this process
    assert isinstance(frame, pd.DataFrame)
    return frame


def rejection_frame(
    rows: pd.DataFrame, rule: str, messages: pd.Series, column: str | None = None
) -> pd.DataFrame:
    """Return rejections of these accepted rows (file, row_number, pupil_ref) for one rule."""
    if rows.empty:
        return pd.DataFrame(columns=list(REJECTION_COLUMNS))
    return pd.DataFrame(
        {
            "file": rows["file"],
            "folder_school": rows["file"].str.split("/").str[0],
            "row_number": rows["row_number"].astype("int64"),
            "pupil_ref": rows["pupil_ref"],
            "column": column,
            "rule": rule,
            "message": messages,
        }
    ).reset_index(drop=True)


def account(
    session: Session, batch: Batch, accepted: pd.DataFrame, rejections: pd.DataFrame
) -> Accounting:
    """Record the rejections, count rows per file, and raise RowsLost if any row is unaccounted."""
    _record_rejections(session, rejections, batch.submission_ids)
    rejected = rejections[ROW].drop_duplicates()
    both = accepted[ROW].merge(rejected, on=ROW)
    if len(accepted) + len(rejected) != len(batch.rows) or not both.empty:
        raise RowsLost(
            f"read {len(batch.rows)}, accepted {len(accepted)}, rejected {len(rejected)}"
        )
    read = batch.rows.groupby("file").size().to_dict()
    rejected_per_file = rejected.groupby("file").size().to_dict()
    per_file = {}
    for label, submission in batch.submissions.items():
        n_read, n_rejected = int(read.get(label, 0)), int(rejected_per_file.get(label, 0))
        per_file[label] = {"read": n_read, "rejected": n_rejected, "accepted": n_read - n_rejected}
        submission.rows_read, submission.rows_rejected = n_read, n_rejected
        submission.rows_accepted = n_read - n_rejected
    return Accounting(per_file, len(batch.rows), len(accepted), len(rejected))


def _record_rejections(session: Session, rejections: pd.DataFrame, ids: pd.Series) -> None:
    if rejections.empty:
        return
    session.execute(
        insert(cast(Table, RowRejection.__table__)),
        [
            {
                "submission_id": int(ids[f]),
                "row_number": int(r),
                "column": c,
                "rule": rule,
                "message": m,
                "pupil_ref": p,
            }
            for f, r, c, rule, m, p in zip(
                rejections["file"],
                rejections["row_number"],
                rejections["column"],
                rejections["rule"],
                rejections["message"],
                rejections["pupil_ref"],
                strict=True,
            )
        ],
    )


def school_table(
    batch: Batch, counted: Accounting, extra: Mapping[str, Mapping[str, int]]
) -> list[dict[str, Any]]:
    """Return the dashboard's table: per school, files, rows accepted / rejected, then `extra`."""
    table = []
    for school in batch.schools():
        mine = [counted.per_file[f.label] for f in batch.files if f.folder_school == school]
        table.append(
            {
                "school": school,
                "files": len(mine),
                "rows_accepted": sum(c["accepted"] for c in mine),
                "rows_rejected": sum(c["rejected"] for c in mine),
                **extra.get(school, {}),
            }
        )
    return table
