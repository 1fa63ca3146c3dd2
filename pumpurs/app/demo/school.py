"""The demo's schools: after a plan comes back, the school sends a corrected file.

The file is what a school coordinator saves from a spreadsheet in Latvia: the template's
Latvian headers, semicolons, a BOM and decimal commas. It carries the returned plans' rows
as they were, with the goal made more precise, as the approver asked.
"""

from __future__ import annotations

import csv
from pathlib import Path

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
            select(Plan.id.label("plan_id"), School.code.label("school_code"),
                   Pupil.ref.label("pupil_ref"))
            .join(School, School.id == Plan.school_id)
            .join(Pupil, Pupil.id == Plan.pupil_id)
            .where(Plan.semester_id == semester.id, Plan.status == PlanStatus.RETURNED)
        ).all(),
        columns=["plan_id", "school_code", "pupil_ref"],
    )  # fmt: skip
    if owners.empty:
        return pd.DataFrame(columns=[c.key for c in PLAN_COLUMNS])
    rows = current_rows(session, owners["plan_id"].tolist()).merge(owners, on="plan_id")
    return rows.loc[:, [c.key for c in PLAN_COLUMNS]]


def write_corrections(
    rows: pd.DataFrame, inbox: Path, code: SemesterCode, correction: str
) -> list[Path]:
    """Write each school's corrected file, goals ending in `correction`, into its plans/ folder."""
    written = []
    for school, plans in rows.groupby("school_code", sort=True):
        folder = inbox / code.folder / str(school) / "plans"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"IAP_{code.folder}_{school}_labots.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
            writer.writerow([c.lv for c in PLAN_COLUMNS])
            for record in plans.to_dict("records"):
                record["goal"] = f"{record['goal']}{correction}"
                writer.writerow([_cell(record[c.key]) for c in PLAN_COLUMNS])
        written.append(path)
    return written


def _cell(value: object) -> str:
    """Return a value as a Latvian spreadsheet shows it: empty for none, a decimal comma."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return str(value)
