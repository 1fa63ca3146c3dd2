"""A file a school uploads on its page: received, checked by collect's own code, and kept.

The web process only checks and keeps: the file goes into the inbox folder of the data
contract (`<inbox>/<semester>/<school>/<kind>/`), masked as collect masks it, and the next
collect or evaluate run stores it, exactly once, whichever runs first (a file is known by the
checksum of its masked copy). What cannot be a table at all (too large, a zip bomb, a type that
is not a spreadsheet, empty, binary junk) is refused with a message and not kept; a table with
mistakes is kept, and the school sees every rejected row at once.

Every step is a plain function: `receive` streams the body to a temporary file under a size
cap, `check_upload` judges it, `keep` puts it in the inbox atomically (temp file and rename,
under a lock of the school's folder, so two tabs at once neither lose nor double a file).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
import re
import secrets
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpurs.config import Config
from pumpurs.i18n.catalogue import N_, texts
from pumpurs.i18n.formats import fmt_day, fmt_number
from pumpurs.intake import read_bytes, validate_evaluations, validate_plans
from pumpurs.intake.batch import EVALUATIONS, PLANS, IntakeKind
from pumpurs.intake.inbox import InboxFile, batch_rows, kept_checksum
from pumpurs.intake.read import OLE2_MAGIC, ZIP_MAGIC
from pumpurs.intake.report import rejected_csvs
from pumpurs.privacy import mask, redact_bytes
from pumpurs.store.models import SchoolUpload, Submission
from pumpurs.store.reference import StoredSemester

KINDS = {"plans": PLANS, "evaluation": EVALUATIONS}
TEXT_SUFFIXES = (".csv", ".txt")
SHEET_SUFFIXES = (".xlsx", ".xlsm")
EVALUATION_OPENS_DAYS = 14
"""The evaluation form is on the page this many days before the semester's end, and after."""
_MB = 1024 * 1024
_CHUNK = 1 << 16
_NAME_LENGTH = 80

REFUSALS = {  # what makes an upload no table at all: not kept, the school told what to do
    "too_large": N_(
        "The file is larger than %(limit_mb)s MB, so it was not accepted. Delete extra sheets "
        "and pictures or split the data into several files and upload them again."
    ),
    "zip_bomb": N_(
        "The file unpacks to far more data than a plan table holds, so it was not opened. Save "
        "the table again from your spreadsheet program as XLSX or CSV and upload it again."
    ),
    "wrong_type": N_(
        "Only XLSX (Excel workbook) and CSV files are accepted, and “%(file)s” is neither. Save "
        "the table as XLSX or CSV and upload it again."
    ),
    "empty": N_("The file “%(file)s” is empty. Choose the file with the table and upload it."),
    "late": N_(
        "The deadline for these files was %(day)s, and the programme accepts no files after it. "
        "Contact the programme coordinator."
    ),
    "evaluation_not_open": N_(
        "Evaluation files are accepted from %(day)s, near the end of the semester."
    ),
}
UNREADABLE = frozenset(
    {
        "intake.file.empty",
        "intake.file.unreadable",
        "intake.file.corrupt",
        "intake.file.encrypted",
        "intake.file.unsupported_format",
    }
)
"""Read problems that mean the bytes are no table: such a file is refused, not kept."""
DUPLICATE = N_(
    "This file was received already (the same content as “%(file)s”): nothing new was kept. "
    "The rows below are its check again."
)


class TooLarge(Exception):
    """The upload went over the size limit while it was streamed; nothing of it is kept."""

    def __init__(self, received: int, limit: int) -> None:
        super().__init__(f"over {limit} bytes")
        self.received, self.limit = received, limit


@dataclass(frozen=True)
class Received:
    """An uploaded file streamed to a temporary file (a dot name: collect skips it)."""

    path: Path
    size: int


@dataclass(frozen=True)
class RejectedRow:
    row_number: int
    pupil_ref: str  # masked
    column: str  # the column's label, or "—"
    message: str  # masked


@dataclass
class Checked:
    """What became of one upload, as the page shows it and the audit records it."""

    kind: str
    outcome: str  # kept | duplicate | a REFUSALS key | unreadable
    message: str | None = None
    original_name: str = ""  # as sent, codes masked, control characters shown as "?"
    kept_name: str | None = None
    sha256: str | None = None  # of the masked content
    size: int = 0
    late: bool = False
    rows_read: int = 0
    rows_rejected: int = 0  # rows with at least one reason
    rejected: list[RejectedRow] = field(default_factory=list)
    rejected_csv: bytes | None = None
    content: bytes | None = field(default=None, repr=False)  # masked, to keep

    @property
    def kept(self) -> bool:
        """Return whether the file is in the inbox (now, or from an earlier upload)."""
        return self.outcome in ("kept", "duplicate")

    @property
    def rows_accepted(self) -> int:
        """Return how many rows passed every check."""
        return self.rows_read - self.rows_rejected


def max_bytes(config: Config) -> int:
    """Return the size limit of one file in bytes (`max_file_mb`)."""
    return int(config.programme.max_file_mb * _MB)


def receive(chunks: Iterable[bytes], folder: Path, limit: int) -> Received:
    """Stream the chunks to a temporary file in `folder`; raise TooLarge past `limit` bytes
    (the part written is deleted: nothing of a refused file stays)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f".upload-{secrets.token_hex(8)}.part"
    size = 0
    try:
        with path.open("wb") as handle:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise TooLarge(size, limit)
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Received(path, size)


def sniff(head: bytes) -> str:
    """Return what the first bytes say the file is: `zip`, `ole2`, `empty` or `text`."""
    if not head.replace(b"\xef\xbb\xbf", b"").strip():
        return "empty"
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head.startswith(OLE2_MAGIC):
        return "ole2"
    return "text"


def is_zip_bomb(path: Path, limit: int, ratio: float) -> bool:
    """Return whether a zip unpacks to more than `ratio` times its size, or over 10 × `limit`,
    judged from its directory alone (nothing is unpacked)."""
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return False  # a broken zip: the reader says so
    size = max(path.stat().st_size, 1)
    return unpacked > 10 * limit or unpacked > ratio * size


def safe_name(original: str, kind: str) -> str:
    """Return a file name safe to keep: no folders, control characters or personal codes, the
    suffix of what the file is (`kind` from `sniff`: `zip` → .xlsx, else .csv)."""
    name = unicodedata.normalize("NFC", original.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(c for c in name if not unicodedata.category(c).startswith("C"))
    name = mask(name)
    stem = Path(name).stem if Path(name).suffix else name
    stem = re.sub(r"[^\w\-. ()]+", "_", stem).strip(" ._~$")[:_NAME_LENGTH] or "fails"
    return stem + (".xlsx" if kind == "zip" else ".csv")


def shown_name(original: str) -> str:
    """Return the original name as the record keeps it: codes masked, control characters `?`."""
    cleaned = "".join("?" if unicodedata.category(c).startswith("C") else c for c in original)
    return mask(cleaned)[:255] or "?"


def deadline(kind: str, semester: StoredSemester) -> dt.date:
    """Return the last day files of this kind are due."""
    return semester.submission_deadline if kind == "plans" else semester.evaluation_deadline


def evaluation_opens(semester: StoredSemester) -> dt.date:
    """Return the first day the page takes evaluation files."""
    return semester.ends_on - dt.timedelta(days=EVALUATION_OPENS_DAYS)


def inbox_folder(inbox: Path, semester: StoredSemester, school_code: str, kind: str) -> Path:
    """Return the folder of the data contract: `<inbox>/<semester>/<school>/<kind>/`."""
    return inbox / semester.code.folder / school_code / kind


def check_upload(
    received: Received,
    *,
    original_name: str,
    kind: str,
    school_code: str,
    semester: StoredSemester,
    config: Config,
    language: str,
    today: dt.date,
    known: dict[str, str],
) -> Checked:
    """Judge an upload: refuse what is no table (or late, where the programme says so), find
    a duplicate by the checksum of its masked content in `known` (checksum → file name), and
    check every row with collect's own validation."""
    t = texts(language)
    shown = shown_name(original_name)
    checked = Checked(kind, "kept", original_name=shown, size=received.size)
    if kind == "evaluation" and today < evaluation_opens(semester):
        day = _day(evaluation_opens(semester), language)
        return _refuse(
            checked, "evaluation_not_open", t.gettext(REFUSALS["evaluation_not_open"], day=day)
        )
    checked.late = today > deadline(kind, semester)
    if checked.late and config.programme.late_uploads == "refuse":
        day = _day(deadline(kind, semester), language)
        return _refuse(checked, "late", t.gettext(REFUSALS["late"], day=day))
    limit = max_bytes(config)
    if received.size > limit:
        return _refuse(
            checked, "too_large", t.gettext(REFUSALS["too_large"], limit_mb=_mb(limit, language))
        )
    with received.path.open("rb") as handle:
        head = handle.read(8)
    what = sniff(head if received.size else b"")
    suffix = Path(original_name.replace("\\", "/")).suffix.lower()
    if what == "empty":
        return _refuse(checked, "empty", t.gettext(REFUSALS["empty"], file=shown))
    if what == "zip" and is_zip_bomb(received.path, limit, config.programme.max_unzip_ratio):
        return _refuse(checked, "zip_bomb", t.gettext(REFUSALS["zip_bomb"]))
    if suffix not in (*TEXT_SUFFIXES, *SHEET_SUFFIXES) or what == "ole2":
        return _refuse(checked, "wrong_type", t.gettext(REFUSALS["wrong_type"], file=shown))
    content = received.path.read_bytes()
    kept = redact_bytes(content)
    checked.sha256 = hashlib.sha256(kept).hexdigest()
    checked.kept_name = _kept_name(safe_name(original_name, what), checked.sha256)
    columns = KINDS[kind].columns
    result = read_bytes(kept, checked.kept_name, max_bytes=limit, columns=columns)
    if result.problem in UNREADABLE:
        checked.kept_name, checked.sha256 = None, None
        return _refuse(checked, "unreadable", result.message(language))
    checked.content = kept
    if result.frame is None:  # a table without the required columns or rows: kept, said so
        checked.message = result.message(language)
    else:
        _check_rows(checked, KINDS[kind], result.frame, school_code, config, language)
    if checked.sha256 in known:
        checked.outcome = "duplicate"
        checked.content = None
        checked.message = t.gettext(DUPLICATE, file=known[checked.sha256])
    return checked


def too_large(kind: str, original_name: str, size: int, config: Config, language: str) -> Checked:
    """Return the refusal of a file that went over the size limit while it was streamed."""
    message = texts(language).gettext(
        REFUSALS["too_large"], limit_mb=_mb(max_bytes(config), language)
    )
    return Checked(kind, "too_large", message, original_name=shown_name(original_name), size=size)


def _refuse(checked: Checked, outcome: str, message: str | None) -> Checked:
    checked.outcome, checked.message = outcome, message
    return checked


def _day(day: dt.date, language: str) -> str:
    return fmt_day(day, language)


def _mb(limit: int, language: str) -> str:
    return fmt_number(limit / _MB, language)


def _kept_name(name: str, sha256: str) -> str:
    """Return the inbox name: the safe name with the content's checksum in it, so the same
    content sent twice at once lands on one file."""
    stem, suffix = os.path.splitext(name)
    return f"{stem}_{sha256[:10]}{suffix}"


def _check_rows(
    checked: Checked,
    kind: IntakeKind,
    frame: pd.DataFrame,
    school_code: str,
    config: Config,
    language: str,
) -> None:
    """Check the rows with collect's validation; fill in counts, rejected rows and their CSV."""
    assert checked.kept_name is not None
    item = InboxFile(Path(checked.kept_name), school_code, kind.folder, checked.sha256 or "", 0)
    rows = batch_rows([item], {item.label: frame}, kind.columns)
    validate = validate_plans if kind is PLANS else validate_evaluations
    validation = validate(rows, config, language)
    rejections = validation.rejections
    checked.rows_read = len(rows)
    checked.rows_rejected = len(rejections[["file", "row_number"]].drop_duplicates())
    labels = {c.key: (c.en if language == "en" else c.lv) for c in kind.columns}
    checked.rejected = [
        RejectedRow(
            int(number), mask(str(pupil or "")), labels.get(str(column), "—"), mask(str(message))
        )
        for number, pupil, column, message in zip(
            rejections["row_number"].tolist(),
            rejections["pupil_ref"].tolist(),
            rejections["column"].tolist(),
            rejections["message"].tolist(),
            strict=True,
        )
    ]
    if not rejections.empty:
        checked.rejected_csv = rejected_csvs(kind, rows, rejections, language).get(school_code)


def rejected_rows_csv(
    path: Path, kind: str, school_code: str, config: Config, language: str
) -> bytes | None:
    """Return the rejected rows of a kept file as the report email's CSV, or None if none."""
    content = path.read_bytes()
    result = read_bytes(
        content, path.name, max_bytes=max_bytes(config), columns=KINDS[kind].columns
    )
    if result.frame is None:
        return None
    checked = Checked(kind, "kept", kept_name=path.name)
    _check_rows(checked, KINDS[kind], result.frame, school_code, config, language)
    return checked.rejected_csv


def csv_name(kind: str, school_code: str, semester: StoredSemester, language: str) -> str:
    """Return the rejected rows' CSV name, as the report email names its attachment."""
    stem = texts(language).gettext(KINDS[kind].csv_name)
    return f"{stem}_{school_code}_{semester.code.folder}.csv"


@contextmanager
def school_lock(folder: Path) -> Iterator[None]:
    """Hold the lock of a school's inbox folder: one upload at a time decides and keeps."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".upload.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def known_files(
    session: Session, semester: StoredSemester, school_code: str, kind: str, folder: Path
) -> dict[str, str]:
    """Return the checksums (masked content) of the school's files of this kind: stored by a
    run, or waiting in its inbox folder; each with its file name."""
    known = {
        sha: name
        for sha, name in session.execute(
            select(Submission.sha256, Submission.filename).where(
                Submission.semester_id == semester.id,
                Submission.school_folder == school_code,
                Submission.kind == kind,
            )
        ).tuples()
    }
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.is_file() and not path.name.startswith((".", "~$")):
                known.setdefault(kept_checksum(path.read_bytes())[0], path.name)
    return known


def keep(checked: Checked, folder: Path) -> None:
    """Put the masked file in the inbox folder atomically (a dot-named temp file renamed)."""
    if checked.outcome != "kept" or checked.content is None or checked.kept_name is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{checked.kept_name}.{secrets.token_hex(4)}.part"
    with temporary.open("wb") as handle:
        handle.write(checked.content)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(folder / checked.kept_name)


def take_upload(
    session: Session,
    received: Received,
    *,
    inbox: Path,
    original_name: str,
    kind: str,
    school_code: str,
    semester: StoredSemester,
    config: Config,
    language: str,
    today: dt.date,
) -> Checked:
    """Check an upload and keep it in the inbox unless refused or already there; the received
    temporary file is removed either way."""
    folder = inbox_folder(inbox, semester, school_code, kind)
    try:
        with school_lock(folder):
            known = known_files(session, semester, school_code, kind, folder)
            checked = check_upload(
                received,
                original_name=original_name,
                kind=kind,
                school_code=school_code,
                semester=semester,
                config=config,
                language=language,
                today=today,
                known=known,
            )
            keep(checked, folder)
    finally:
        received.path.unlink(missing_ok=True)
    return checked


def record_upload(
    session: Session,
    link_id: int,
    checked: Checked,
    *,
    ip: str | None,
    user_agent: str | None,
) -> int:
    """Record the upload in the audit (link, time, IP, user agent, checksum, outcome)."""
    row = SchoolUpload(
        link_id=link_id,
        ip=ip[:64] if ip else None,
        user_agent=user_agent[:512] if user_agent else None,
        kind=checked.kind,
        original_name=checked.original_name,
        kept_name=checked.kept_name,
        sha256=checked.sha256,
        size=checked.size,
        outcome=checked.outcome,
        late=checked.late,
        rows_read=checked.rows_read,
        rows_rejected=checked.rows_rejected,
    )
    session.add(row)
    session.flush()
    return row.id
