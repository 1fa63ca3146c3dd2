"""The demo's schools: after a plan comes back, the school sends a corrected file.

The file is what a school coordinator saves from a spreadsheet in Latvia: the template's
Latvian headers, semicolons, a BOM and decimal commas. It carries the returned plans' rows
as they were, with the goal made more precise, as the approver asked. The school uploads it
on its page over HTTP, as a browser does (open the page, take the form's CSRF token, POST the
file); where the page no longer takes files (its link expired with the semester), it saves
the file in its folder, as a school with a shared folder would.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpurs.columns import PLAN_COLUMNS
from pumpurs.semester import SemesterCode
from pumpurs.store.models import Plan, PlanStatus, Pupil, School
from pumpurs.store.plans import current_rows
from pumpurs.store.reference import require_semester


def returned_rows(session: Session, code: SemesterCode) -> pd.DataFrame:
    """Return the semester's returned plans as file rows (plan columns, one row per measure)."""
    semester = require_semester(session, code)
    owners = pd.DataFrame(
        session.execute(
            select(
                Plan.id.label("plan_id"),
                School.code.label("school_code"),
                Pupil.ref.label("pupil_ref"),
            )
            .join(School, School.id == Plan.school_id)
            .join(Pupil, Pupil.id == Plan.pupil_id)
            .where(Plan.semester_id == semester.id, Plan.status == PlanStatus.RETURNED)
        ).all(),
        columns=["plan_id", "school_code", "pupil_ref"],
    )
    if owners.empty:
        return pd.DataFrame(columns=[c.key for c in PLAN_COLUMNS])
    rows = current_rows(session, owners["plan_id"].tolist()).merge(owners, on="plan_id")
    return rows.loc[:, [c.key for c in PLAN_COLUMNS]]


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Sent:
    """How the corrected files went: through the schools' pages, or into their folders."""

    through_page: list[str] = field(default_factory=list)  # file name → the school's page
    into_folder: list[Path] = field(default_factory=list)

    @property
    def files(self) -> int:
        """Return how many files the schools sent."""
        return len(self.through_page) + len(self.into_folder)


def corrected_files(
    rows: pd.DataFrame, code: SemesterCode, correction: str
) -> dict[str, tuple[str, bytes]]:
    """Return each school's corrected file (name, bytes), goals ending in `correction`."""
    files = {}
    for school, plans in rows.groupby("school_code", sort=True):
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        writer.writerow([c.lv for c in PLAN_COLUMNS])
        for record in plans.to_dict("records"):
            record["goal"] = f"{record['goal']}{correction}"
            writer.writerow([_cell(record[c.key]) for c in PLAN_COLUMNS])
        name = f"IAP_{code.folder}_{school}_labots.csv"
        files[str(school)] = (name, buffer.getvalue().encode("utf-8-sig"))
    return files


def send_corrections(
    rows: pd.DataFrame,
    inbox: Path,
    code: SemesterCode,
    correction: str,
    pages: Mapping[str, str],
) -> Sent:
    """Upload each school's corrected file on its page (`pages`, by school code); save it in
    the school's plans/ folder where the page does not take it."""
    sent = Sent()
    with httpx.Client(timeout=60) as http:
        for school, (name, content) in corrected_files(rows, code, correction).items():
            page = pages.get(school)
            if page is not None and _upload(http, page, name, content):
                sent.through_page.append(f"{name} → {page.rsplit('/', 1)[0]}/…")
                continue
            folder = inbox / code.folder / school / "plans"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(content)
            sent.into_folder.append(folder / name)
    return sent


def _upload(http: httpx.Client, page: str, name: str, content: bytes) -> bool:
    """Open the school's page, then post the file with its form's token; return if kept."""
    opened = http.get(page)
    token = CSRF.search(opened.text) if opened.status_code == 200 else None
    if token is None:
        return False
    answer = http.post(
        f"{page}/upload",
        data={"csrf": token.group(1), "kind": "plans"},
        files={"file": (name, content, "text/csv")},
    )
    return answer.status_code == 200


def _cell(value: object) -> str:
    """Return a value as a Latvian spreadsheet shows it: empty for none, a decimal comma."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return str(value)
