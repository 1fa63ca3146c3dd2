"""The report each school gets after an intake run: its files, rows accepted and rejected,
every rejected row with the reason, and the rejected rows attached as CSV to fix and resend."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from pumpurs.config import Config
from pumpurs.inbox import InboxFile
from pumpurs.intake_run import ROW, Accounting, Batch, IntakeKind
from pumpurs.mail import Attachment, Outgoing, queue_many
from pumpurs.privacy import mask
from pumpurs.render import render_email
from pumpurs.semester import SemesterCode

EMAIL_TABLE_LIMIT = 200


def queue_reports(
    session: Session,
    config: Config,
    language: str,
    code: SemesterCode,
    batch: Batch,
    counted: Accounting,
    rejections: pd.DataFrame,
    plans: Mapping[str, Mapping[str, int]],
) -> int:
    """Queue one report per school that sent files; `plans` gives each school's plan counts."""
    outgoing: list[Outgoing] = []
    # Split once: filtering the whole batch for each of 600 schools would cost minutes.
    rejected_by_school = dict(tuple(rejections.groupby("folder_school", sort=False)))
    rows_by_school = dict(tuple(batch.rows.groupby("folder_school", sort=False)))
    for school_code in batch.schools():
        school = config.school(school_code)
        if school is None:  # a folder of no known school: only the run's artifact can say it
            continue
        mine = [f for f in batch.files if f.folder_school == school_code]
        labels = [f.label for f in mine]
        rows = rejected_by_school.get(school_code, rejections.iloc[0:0])
        rows = rows[rows["file"].isin(labels)].sort_values(ROW)
        email = render_email(
            "intake_report",
            language,
            kind=batch.kind.folder,
            school=school,
            semester=code.code,
            files=[_file_line(f, batch, counted, language) for f in mine],
            plans=plans.get(school_code, {}),
            rejected=rows.head(EMAIL_TABLE_LIMIT).to_dict("records"),
            rejected_total=len(rows),
            rejected_rows=len(rows[ROW].drop_duplicates()),
            column_label=lambda key: _column_label(batch.kind, key, language),
        )
        attachments = []
        if not rows.empty:
            stem = batch.kind.csv_name.get(language, batch.kind.csv_name["lv"])
            attachments.append(Attachment(
                f"{stem}_{school_code}_{code.folder}.csv", "text/csv",
                rejected_csv(batch.kind, rows_by_school[school_code], rows, language)))  # fmt: skip
        files_key = "+".join(sorted(f.sha256[:12] for f in mine))
        prefix = batch.kind.mail_kind.replace("_", "-")
        key = f"{prefix}:{code.code}:{school_code}:{files_key}"
        outgoing.append(Outgoing(key, batch.kind.mail_kind, school.coordinator.email, email,
                                 attachments))  # fmt: skip
    return len(queue_many(session, outgoing))


def _file_line(item: InboxFile, batch: Batch, counted: Accounting, language: str) -> dict[str, Any]:
    problem = batch.results[item.label].message(language)
    return {"name": item.path.name, "problem": problem, **counted.per_file[item.label]}


def _column_label(kind: IntakeKind, key: str | None, language: str) -> str:
    for column in kind.columns:
        if column.key == key:
            return column.lv if language == "lv" else column.en
    return "—"


def rejected_csv(kind: IntakeKind, sent: pd.DataFrame, rows: pd.DataFrame, language: str) -> bytes:
    """Return the rejected rows as they were `sent`, with the reasons, to fix and send again."""
    reasons: dict[tuple[str, int], list[str]] = {}
    for file, row, message in zip(rows["file"], rows["row_number"], rows["message"], strict=True):
        reasons.setdefault((file, int(row)), []).append(message)
    wanted = sent[[(f, int(r)) in reasons for f, r in zip(sent["file"], sent["row_number"],
                                                          strict=True)]]  # fmt: skip
    keys = [c.key for c in kind.columns]
    labels = [c.lv if language == "lv" else c.en for c in kind.columns]
    english = language == "en"
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(["File" if english else "Fails", "Row" if english else "Rinda", *labels,
                     "Errors" if english else "Kļūdas"])  # fmt: skip
    records = wanted.sort_values(ROW)[["file", "row_number", *keys]].itertuples(index=False)
    for file, row, *cells in records:
        texts = [mask("" if pd.isna(cell) else str(cell)) for cell in cells]
        errors = mask(" | ".join(reasons[(file, int(row))]))
        writer.writerow([file.split("/", 1)[1], int(row), *texts, errors])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
