"""The report each school gets after an intake run: its files, rows accepted and rejected,
every rejected row with the reason, and the rejected rows attached as CSV to fix and resend."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from pumpurs.config import Config
from pumpurs.errors import UserError
from pumpurs.i18n.catalogue import N_, texts
from pumpurs.i18n.templates import RenderedEmail, render_email
from pumpurs.intake.batch import ROW, Accounting, Batch, IntakeKind
from pumpurs.intake.inbox import InboxFile
from pumpurs.mail.outbox import Attachment, Outgoing, queue_many
from pumpurs.opening.links import school_page_urls
from pumpurs.privacy import mask_series
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store.models import OutboxMessage
from pumpurs.store.reference import StoredSemester

EMAIL_TABLE_LIMIT = 200
MAX_KEY = 255


def queue_reports(
    session: Session,
    config: Config,
    language: str,
    code: SemesterCode,
    batch: Batch,
    counted: Accounting,
    rejections: pd.DataFrame,
    plans: Mapping[str, Mapping[str, int]],
    pages: Mapping[str, str] | None = None,
) -> int:
    """Queue one report per school that sent files; `plans` gives each school's plan counts,
    `pages` each school folder's page address."""
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
            page_url=(pages or {}).get(school_code),
        )
        attachments = []
        if not rows.empty:
            stem = texts(language).gettext(batch.kind.csv_name)
            attachments.append(
                Attachment(
                    f"{stem}_{school_code}_{code.folder}.csv",
                    "text/csv",
                    csv_by_school[school_code],
                )
            )
        # The checksums of the files as kept (codes masked): never of an unmasked original.
        files_key = "+".join(sorted(batch.submissions[f.label].sha256[:12] for f in mine))
        key = f"{_key_prefix(batch.kind, code, school_code)}{files_key}"
        if len(key) > MAX_KEY:  # many files in one run (a school uploading often): one digest
            key = (
                _key_prefix(batch.kind, code, school_code)
                + hashlib.sha256(files_key.encode()).hexdigest()
            )
        outgoing.append(
            Outgoing(key, batch.kind.mail_kind, school.coordinator.email, email, attachments)
        )
    return len(queue_many(session, outgoing))


def report_pages(
    session: Session, config: Config, settings: Settings, semester: StoredSemester, batch: Batch
) -> dict[str, str]:
    """Return the page address of each known school folder of the batch."""
    known = {f: s.code for f in batch.schools() if (s := config.school(f)) is not None}
    urls = school_page_urls(session, settings, semester, known.values())
    return {folder: urls[code] for folder, code in known.items()}


def _key_prefix(kind: IntakeKind, code: SemesterCode, school_code: str) -> str:
    """Return how the keys of a school's reports of this kind and semester begin."""
    return f"{kind.mail_kind.replace('_', '-')}:{code.code}:{school_code}:"


def known_school(config: Config, code: str) -> str:
    """Return the configured code of the school `code` names (in any case), or raise a
    UserError."""
    wanted = code.strip().upper()
    for school in config.schools:
        if school.code.upper() == wanted:
            return school.code
    raise UserError(
        N_("No school has the code “%(school)s” in the configuration (schools.yaml)."),
        school=code.strip(),
    )


def resend_report(
    session: Session,
    config: Config,
    code: SemesterCode,
    kind: IntakeKind,
    school_code: str,
    again: str,
) -> bool:
    """Queue the school's latest report of this kind and semester once more, under the key
    suffix `again`, to its coordinator now; return False if it never had one."""
    school = config.school(school_code)
    latest = session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.kind == kind.mail_kind,
            OutboxMessage.dedupe_key.startswith(
                _key_prefix(kind, code, school_code), autoescape=True
            ),
        )
        .order_by(OutboxMessage.id.desc())
        .limit(1)
        .options(selectinload(OutboxMessage.attachments))
    ).first()
    if latest is None or school is None:
        return False
    email = RenderedEmail(latest.subject, latest.body_text, latest.body_html)
    attachments = [
        Attachment(a.filename, a.content_type, a.content, a.content_id) for a in latest.attachments
    ]
    key = f"{latest.dedupe_key}:{again}"
    if len(key) > MAX_KEY:  # many files: the report's own key is long already
        key = _key_prefix(kind, code, school_code) + hashlib.sha256(key.encode()).hexdigest()
    outgoing = Outgoing(key, kind.mail_kind, school.coordinator.email, email, attachments)
    return bool(queue_many(session, [outgoing]))


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
        rows["folder_school"],
        rows["file"].str.split("/", n=1).str[1],
        rows["row_number"],
        *cells.values(),
        mask_series(rows["errors"]).tolist(),
        strict=True,
    )
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
