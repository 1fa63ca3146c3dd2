"""The semester's plans as an evaluation sees them: their status, whether they have a stored
evaluation, whether a later plan was carried over from them, and their planned measures."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from pumpurs.store.frames import read_frame
from pumpurs.store.models import Evaluation, Plan, Pupil, School
from pumpurs.store.plans import current_rows

PLAN_COLUMNS = ["plan_id", "school_code", "pupil_ref", "status", "evaluated", "carried"]
PLANNED_COLUMNS = ["plan_id", "measure", "subject", "provider_ref", "hours_per_month",
                   "eur_per_month"]  # fmt: skip
CHUNK = 5000  # ids per IN (...) list: well below SQLite's limit on bound parameters


def semester_plans(session: Session, semester_id: int) -> pd.DataFrame:
    """Return every plan of the semester: plan_id, school_code, pupil_ref, status, whether it
    has a stored evaluation (`evaluated`) and whether a later plan was carried over from it."""
    query = (
        select(Plan.id, School.code, Pupil.ref, Plan.status, Evaluation.id.is_not(None))
        .join(School, School.id == Plan.school_id)
        .join(Pupil, Pupil.id == Plan.pupil_id)
        .outerjoin(Evaluation, Evaluation.plan_id == Plan.id)
        .where(Plan.semester_id == semester_id)
    )
    frame = read_frame(session, query, PLAN_COLUMNS[:-1]).assign(carried=False)
    frame["evaluated"] = frame["evaluated"].astype("bool")
    frame["carried"] = frame["plan_id"].isin(carried_plans(session, semester_id))
    return frame


def carried_plans(session: Session, semester_id: int) -> set[int]:
    """Return the plans of the semester a plan of a later semester was carried over from."""
    origin = aliased(Plan)
    query = (
        select(origin.id)
        .join(Plan, Plan.continued_from_id == origin.id)
        .where(origin.semester_id == semester_id)
    )
    return set(session.scalars(query))


def planned_measures(session: Session, plan_ids: Sequence[int]) -> pd.DataFrame:
    """Return the current revision's measures of these plans (a few thousand ids at a time)."""
    parts = [
        current_rows(session, list(plan_ids[i : i + CHUNK])) for i in range(0, len(plan_ids), CHUNK)
    ]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=PLANNED_COLUMNS)
    return pd.concat(parts, ignore_index=True).loc[:, PLANNED_COLUMNS]
