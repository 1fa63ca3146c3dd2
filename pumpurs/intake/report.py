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
from pumpurs.i18n.catalogue import texts
from pumpurs.i18n.templates import render_email
from pumpurs.intake.batch import ROW, Accounting, Batch, IntakeKind
from pumpurs.intake.inbox import InboxFile
from pumpurs.mail.outbox import Attachment, Outgoing, queue_many
from pumpurs.privacy import mask_series
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
    ordered = rejections.sort_values(ROW, kind="stable")
    rejected_by_school = dict(tuple(ordered.groupby("folder_school", sort=False)))
    csv_by_school = rejected_csvs(batch.kind, batch.rows, rejections, language)
    for school_code in batch.schools():
        school = config.school(school_code)
        if school is None:  # a folder of no known school: only the run's artifact can say it
            continue
        mine = [f for f in batch.files if f.folder_school == school_code]
        labels = [f.label for f in mine]
        rows = rejected_by_school.get(school_code, rejections.iloc[0:0])
        rows = rows[rows["file"].isin(labels)]  # in file and row order already
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
            rejected_rows=len(set(zip(rows["file"], rows["row_number"], strict=True))),
            column_label=lambda key: _column_label(batch.kind, key, language),
        )
        attachments = []
        if not rows.empty:
            stem = texts(language).gettext(batch.kind.csv_name)
            attachments.append(Attachment(
                f"{stem}_{school_code}_{code.folder}.csv", "text/csv",
                csv_by_school[school_code]))  # fmt: skip
        # The checksums of the files as kept (codes masked): never of an unmasked original.
        files_key = "+".join(sorted(batch.submissions[f.label].sha256[:12] for f in mine))
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


def rejected_csvs(
    kind: IntakeKind, sent: pd.DataFrame, rejections: pd.DataFrame, language: str
) -> dict[str, bytes]:
    """Return per school folder its rejected rows as they were `sent`, with the reasons (all
    of a row's reasons in one cell), as CSV to fix and send again. Built for the whole batch
    at once; the values are masked like everything a report shows."""
    if rejections.empty:
        return {}
    reasons = (
        rejections.groupby(ROW, sort=False)["message"]
        .agg(" | ".join)
        .rename("errors")
        .reset_index()
    )
    keys = [c.key for c in kind.columns]
    rows = sent[["folder_school", *ROW, *keys]].merge(reasons, on=ROW).sort_values(ROW)
    cells = {key: mask_series(rows[key].fillna("").astype("str")).tolist() for key in keys}
    records = zip(
        rows["folder_school"], rows["file"].str.split("/", n=1).str[1], rows["row_number"],
        *cells.values(), mask_series(rows["errors"]).tolist(), strict=True,
    )  # fmt: skip
    labels = [c.lv if language == "lv" else c.en for c in kind.columns]
    t = texts(language)
    header = [t.gettext("File"), t.gettext("Row"), *labels, t.gettext("Errors")]
    buffers: dict[str, io.StringIO] = {}
    writers: dict[str, Any] = {}
    for school, *record in records:
        if school not in writers:
            buffers[school] = io.StringIO()
            writers[school] = csv.writer(buffers[school], delimiter=";", lineterminator="\r\n")
            writers[school].writerow(header)
        record[1] = int(record[1])
        writers[school].writerow(record)
    return {school: ("\ufeff" + b.getvalue()).encode("utf-8") for school, b in buffers.items()}
