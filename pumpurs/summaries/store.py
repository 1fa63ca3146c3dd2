"""Load a semester's figure input from the store, and keep the computed figures there.

Storing is idempotent: a unit's row is written only when its figures changed, so a second run
over the same data leaves the table as it was.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from pumpurs.clock import utcnow
from pumpurs.config import Config
from pumpurs.evaluation.fulfilment import semester_months
from pumpurs.semester import SemesterCode
from pumpurs.store.frames import read_frame
from pumpurs.store.models import (
    Evaluation,
    EvaluationMeasure,
    Municipality,
    Plan,
    PlanMeasure,
    PlanRevision,
    PlanRisk,
    Region,
    School,
    SemesterFigure,
)
from pumpurs.store.plans import CURRENT_REVISION
from pumpurs.store.reference import StoredSemester, find_semester
from pumpurs.summaries.figures import NATION, FigureInput, compute_figures


def _frame(session: Session, query: Any, columns: list[str]) -> pd.DataFrame:
    return read_frame(session, query, columns)


def load_input(session: Session, semester: StoredSemester) -> FigureInput:
    """Return the frames of every plan of the semester, its current revision and evaluation."""
    of_semester = Plan.semester_id == semester.id
    units = _frame(
        session,
        select(School.code, Municipality.code, Region.code)
        .join(Municipality, Municipality.id == School.municipality_id)
        .join(Region, Region.id == Municipality.region_id),
        ["school_code", "municipality_code", "region_code"],
    )
    plans = _frame(
        session,
        select(Plan.id, School.code, Plan.pupil_id, Plan.status)
        .join(School, School.id == Plan.school_id)
        .where(of_semester),
        ["plan_id", "school_code", "pupil_id", "status"],
    )
    current = select(Plan.id).join(PlanRevision, CURRENT_REVISION).where(of_semester)
    measures = _frame(
        session,
        select(
            Plan.id,
            PlanMeasure.measure,
            PlanMeasure.subject,
            PlanMeasure.provider_ref,
            PlanMeasure.hours_per_month,
            PlanMeasure.eur_per_month,
        )
        .join(PlanRevision, CURRENT_REVISION)
        .join(PlanMeasure, PlanMeasure.revision_id == PlanRevision.id)
        .where(of_semester),
        ["plan_id", "measure", "subject", "provider_ref", "hours_per_month", "eur_per_month"],
    )
    risks = _frame(
        session,
        current.add_columns(PlanRisk.category).join(
            PlanRisk, PlanRisk.revision_id == PlanRevision.id
        ),
        ["plan_id", "category"],
    )
    evaluations = _frame(
        session,
        select(
            Evaluation.plan_id,
            Evaluation.outcome,
            Evaluation.fidelity,
            Evaluation.weighted_ratio,
            Evaluation.flags,
        )
        .join(Plan, Plan.id == Evaluation.plan_id)
        .where(of_semester),
        ["plan_id", "outcome", "fidelity", "weighted_ratio", "flags"],
    )
    delivered = _frame(
        session,
        select(
            Evaluation.plan_id,
            EvaluationMeasure.measure,
            EvaluationMeasure.subject,
            EvaluationMeasure.delivered_hours,
            EvaluationMeasure.spent_eur,
            EvaluationMeasure.ratio,
        )
        .join(Evaluation, Evaluation.id == EvaluationMeasure.evaluation_id)
        .join(Plan, Plan.id == Evaluation.plan_id)
        .where(of_semester),
        ["plan_id", "measure", "subject", "delivered_hours", "spent_eur", "ratio"],
    )
    return FigureInput(
        units=units,
        plans=plans,
        measures=measures,
        risks=risks,
        evaluations=evaluations,
        delivered=delivered,
        months=semester_months(semester.starts_on, semester.ends_on),
    )


def refresh_figures(session: Session, config: Config, semester: StoredSemester) -> int:
    """Compute and store the semester's figures; return how many units' figures changed."""
    programme = config.programme
    data = load_input(session, semester)
    invited = data.units["school_code"].isin([school.code for school in config.schools])
    figures = compute_figures(
        replace(data, units=data.units.assign(invited=invited)),
        config.catalogue,
        programme.monthly_cap_eur,
        programme.fidelity_threshold,
    )
    return store_figures(session, semester.id, figures)


def store_figures(
    session: Session, semester_id: int, figures: dict[tuple[str, str], dict[str, Any]]
) -> int:
    """Upsert each unit's figures, drop units no longer present; return how many changed."""
    stored = {
        (row.level, row.unit_code): row
        for row in session.scalars(
            select(SemesterFigure).where(SemesterFigure.semester_id == semester_id)
        )
    }
    changed = 0
    for (level, unit), values in figures.items():
        row = stored.pop((level, unit), None)
        if row is None:
            session.add(
                SemesterFigure(semester_id=semester_id, level=level, unit_code=unit, figures=values)
            )
            changed += 1
        elif row.figures != values:
            row.figures, row.computed_at = values, utcnow()
            changed += 1
    if stored:
        session.execute(
            delete(SemesterFigure).where(SemesterFigure.id.in_([r.id for r in stored.values()]))
        )
        changed += len(stored)
    session.flush()
    return changed


def read_figures(session: Session, semester_id: int) -> dict[tuple[str, str], dict[str, Any]]:
    """Return the stored figures of the semester, keyed by (level, unit code)."""
    rows = session.scalars(select(SemesterFigure).where(SemesterFigure.semester_id == semester_id))
    return {(r.level, r.unit_code): r.figures for r in rows}


def read_semester_figures(
    session: Session, code: SemesterCode
) -> dict[tuple[str, str], dict[str, Any]] | None:
    """Return the stored figures of a semester, or None if it has none (or was never opened)."""
    semester = find_semester(session, code)
    figures = read_figures(session, semester.id) if semester is not None else {}
    return figures or None


def flags_table(figures: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the dashboard's table: plans evaluated and flagged per school, then the nation."""
    chosen = [
        (unit, f)
        for (level, unit), f in sorted(figures.items())
        if level == "school" and f["fulfilment"]["evaluated"]
    ]
    nation = figures.get(("nation", NATION))
    if chosen and nation is not None:
        chosen.append((NATION, nation))
    return [
        {"unit": unit, "evaluated": f["fulfilment"]["evaluated"], **f["flags"]}
        for unit, f in chosen
    ]
