"""The inbox: files schools put in `<inbox>/<semester>/<school>/<kind>/`, read once each.

A file is known by the checksum of the file as kept: personal-code-shaped values masked (see
`pumpurs.store.models.Submission.sha256`). One already stored for that school, semester and
kind is skipped, so re-running a collection stores nothing new: the masked file left in the
inbox and the school's unmasked original sent again come to the same checksum. Every file read
is kept byte for byte, codes masked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpurs.columns import Column
from pumpurs.intake import ReadResult, read_file
from pumpurs.privacy import redact_bytes
from pumpurs.store.models import School, Submission
from pumpurs.store.reference import StoredSemester

KINDS = ("plans", "evaluation")


@dataclass(frozen=True)
class InboxFile:
    path: Path
    folder_school: str
    kind: str
    sha256: str  # of the file as it will be kept: codes masked (see `kept_checksum`)
    size: int  # of the file as found
    redacted: bool = False  # the file holds personal-code-shaped values: it is kept masked

    @property
    def label(self) -> str:
        """Return how the file is named to people and in the batch: `<school>/<file name>`."""
        return f"{self.folder_school}/{self.path.name}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def kept_checksum(content: bytes) -> tuple[str, bool]:
    """Return the checksum of the file as it is kept (codes masked), and whether it is masked."""
    kept = redact_bytes(content)
    return hashlib.sha256(kept).hexdigest(), kept != content


def new_files(
    session: Session,
    inbox: Path,
    semester: StoredSemester,
    kind: str,
    max_bytes: int,
    school: str | None = None,
) -> tuple[list[InboxFile], int]:
    """Return the files not stored yet (oldest first) and how many known ones were skipped;
    only those of one school's folder when `school` is given.

    A file over `max_bytes` is refused unread: it is neither masked nor kept, and is known by
    the checksum of its bytes as they are.
    """
    root = inbox / semester.code.folder
    candidates = sorted(
        (
            p
            for p in root.glob(f"*/{kind}/*")
            if p.is_file()
            and not p.name.startswith((".", "~$"))
            and (school is None or _same_school(p.parent.parent.name, school))
        ),
        key=lambda p: (p.stat().st_mtime, str(p)),
    )
    rows = session.execute(
        select(Submission.school_folder, Submission.sha256).where(
            Submission.semester_id == semester.id, Submission.kind == kind
        )
    ).all()
    known = {(folder, sha) for folder, sha in rows}
    found, skipped, seen = [], 0, set()
    for path in candidates:
        folder, size = path.parent.parent.name, path.stat().st_size
        if size > max_bytes:
            item = InboxFile(path, folder, kind, _sha256(path), size)
        else:
            content = path.read_bytes()
            as_found = hashlib.sha256(content).hexdigest()
            if (folder, as_found) in known or (folder, as_found) in seen:  # most files, at once
                skipped += 1
                continue
            kept, redacted = kept_checksum(content)
            item = InboxFile(path, folder, kind, kept, size, redacted)
        if (folder, item.sha256) in known or (folder, item.sha256) in seen:
            skipped += 1
            continue
        seen.add((folder, item.sha256))
        found.append(item)
    return found, skipped


def _same_school(folder: str, school: str) -> bool:
    return folder.strip().upper() == school.strip().upper()


def read_batch(
    files: Sequence[InboxFile], max_bytes: int, columns: tuple[Column, ...]
) -> tuple[pd.DataFrame, dict[str, ReadResult]]:
    """Read every file; return their rows as one batch and each file's read result by label."""
    results = {f.label: read_file(f.path, max_bytes=max_bytes, columns=columns) for f in files}
    return batch_rows(files, {label: r.frame for label, r in results.items()}, columns), results


def batch_rows(
    files: Sequence[InboxFile],
    frames: Mapping[str, pd.DataFrame | None],
    columns: tuple[Column, ...],
) -> pd.DataFrame:
    """Return the rows of these files (their `frames` by label, as read) as one batch, in order."""
    parts = []
    for item in files:
        frame = frames.get(item.label)
        if frame is not None and not frame.empty:
            parts.append(frame.assign(file=item.label, folder_school=item.folder_school))
    keys = [c.key for c in columns]
    empty = pd.DataFrame(columns=[*keys, "row_number", "file", "folder_school"], dtype="object")
    batch = pd.concat(parts, ignore_index=True) if parts else empty
    for key in keys:  # a file may lack an optional column; the batch has them all
        if key not in batch.columns:
            batch[key] = ""
    return batch


def keep_without_codes(path: Path, content: bytes | None) -> bytes | None:
    """Return the bytes to keep: personal codes masked, and masked in the inbox file too.

    The school's file is kept, but a personal code must not be kept anywhere, the inbox
    included; nor a checksum of the unmasked file (see `Submission.sha256`).
    """
    if content is None:
        return None
    kept = redact_bytes(content)
    if kept != content:
        temporary = path.with_name(f".{path.name}.masked")
        temporary.write_bytes(kept)
        temporary.replace(path)
    return kept


def record_submissions(
    session: Session,
    semester: StoredSemester,
    files: Sequence[InboxFile],
    results: dict[str, ReadResult],
    language: str,
) -> dict[str, Submission]:
    """Store each file (its bytes, checksum and any problem); return them by label."""
    schools = dict(session.execute(select(School.code, School.id)).tuples().all())
    stored = {}
    for item in files:
        result = results[item.label]
        content = item.path.read_bytes() if result.problem != "intake.file.too_large" else None
        kept, checksum = content, item.sha256
        if content is not None and (item.redacted or _changed(content, item)):
            kept = keep_without_codes(item.path, content)
            checksum = hashlib.sha256(kept or b"").hexdigest()
        submission = Submission(
            semester_id=semester.id,
            school_folder=item.folder_school,
            school_id=schools.get(item.folder_school),
            kind=item.kind,
            filename=item.path.name,
            sha256=checksum,
            redacted=kept != content,
            size=len(kept) if kept is not None else item.size,
            content=kept,
            status="ingested" if result.ok else "unreadable",
            problem=result.message(language),
        )
        session.add(submission)
        stored[item.label] = submission
    session.flush()
    return stored


def _changed(content: bytes, item: InboxFile) -> bool:
    """Return whether the file changed since it was found (then it is masked again)."""
    return hashlib.sha256(content).hexdigest() != item.sha256
