"""Evaluating a semester: read the schools' evaluation files through the intake path, match
every row to an approved plan, compute fulfilment, and move the plans on — in one transaction.

Each plan evaluated becomes evaluated and, at once, continued ("continue" = yes; open-semester
then carries it into the next semester as a draft) or closed. The arithmetic is in
`pumpurs.fulfilment`; rows that cannot be matched are rejected by `pumpurs.evaluation_match`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from pumpurs import lifecycle
from pumpurs.config import Config
from pumpurs.evaluation_match import match_rows
from pumpurs.fulfilment import measure_results, plan_answers, plan_results, semester_months
from pumpurs.intake import validate_evaluations
from pumpurs.intake_report import queue_reports
from pumpurs.intake_run import EVALUATIONS, IntakeReport, account, read_inbox, school_table
from pumpurs.models import Evaluation, EvaluationMeasure, Plan, PlanStatus, Pupil, School, Semester
from pumpurs.plans import current_rows
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store import require_semester

PLAN_COLUMNS = ["plan_id", "school_code", "pupil_ref", "status"]
PLANNED_COLUMNS = ["plan_id", "measure", "subject", "provider_ref", "hours_per_month",
                   "eur_per_month"]  # fmt: skip
CHUNK = 5000  # ids per IN (...) list: well below SQLite's limit on bound parameters


@dataclass
class EvaluationReport(IntakeReport):
    plans_evaluated: int = 0
    plans_continued: int = 0
    plans_closed: int = 0


def evaluate(
    session: Session,
    config: Config,
    settings: Settings,
    code: SemesterCode,
    on_progress: Callable[[float], None] = lambda _: None,
) -> EvaluationReport:
    """Evaluate the plans of every new evaluation file of the semester."""
    language = str(settings.language)
    semester = require_semester(session, code)
    batch = read_inbox(session, config, settings, semester, code, EVALUATIONS)
    report = EvaluationReport(files=len(batch.files), skipped=batch.skipped)
    if not batch.files:
        return report
    on_progress(20)
    validation = validate_evaluations(batch.rows, config, language)
    plans = semester_plans(session, semester.id)
    mentioned = plans.merge(validation.accepted[["school_code", "pupil_ref"]].drop_duplicates())
    approved = mentioned.loc[mentioned["status"].eq(PlanStatus.APPROVED), "plan_id"].tolist()
    planned = planned_measures(session, approved)
    labels = [f.label for f in batch.files]
    matched = match_rows(validation.accepted, validation.rejections, plans, planned, labels,
                         config, language)  # fmt: skip
    rejections = pd.concat([validation.rejections, matched.rejections], ignore_index=True)
    on_progress(50)
    counted = account(session, batch, matched.rows, rejections)
    results = store_evaluations(session, config, semester, matched.rows, planned,
                                batch.submission_ids)  # fmt: skip
    report.unreadable = batch.unreadable
    report.rows_read, report.rows_accepted, report.rows_rejected = (
        counted.read, counted.accepted, counted.rejected)  # fmt: skip
    report.plans_evaluated = len(results)
    report.plans_continued = int(results["continue"].sum()) if len(results) else 0
    report.plans_closed = report.plans_evaluated - report.plans_continued
    report.file_problems = batch.file_problems(language)
    per_school = _plans_per_school(session, semester.id, results, plans, batch.schools())
    report.schools = school_table(batch, counted, {
        school: {f"plans_{k}": v for k, v in counts.items()}
        for school, counts in per_school.items()
    })  # fmt: skip
    report.reports_queued = queue_reports(
        session, config, language, code, batch, counted, rejections, per_school
    )
    on_progress(100)
    return report


def semester_plans(session: Session, semester_id: int) -> pd.DataFrame:
    """Return every plan of the semester: plan_id, school_code, pupil_ref, status."""
    query = (
        select(Plan.id, School.code, Pupil.ref, Plan.status)
        .join(School, School.id == Plan.school_id)
        .join(Pupil, Pupil.id == Plan.pupil_id)
        .where(Plan.semester_id == semester_id)
    )
    return pd.DataFrame(session.execute(query).all(), columns=PLAN_COLUMNS)


def planned_measures(session: Session, plan_ids: Sequence[int]) -> pd.DataFrame:
    """Return the current revision's measures of these plans (a few thousand ids at a time)."""
    parts = [current_rows(session, list(plan_ids[i : i + CHUNK]))
             for i in range(0, len(plan_ids), CHUNK)]  # fmt: skip
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=PLANNED_COLUMNS)
    return pd.concat(parts, ignore_index=True).loc[:, PLANNED_COLUMNS]


def store_evaluations(
    session: Session,
    config: Config,
    semester: Semester,
    rows: pd.DataFrame,
    planned: pd.DataFrame,
    submission_ids: pd.Series,
) -> pd.DataFrame:
    """Store an evaluation per plan of the matched rows, move the plans on; return results."""
    if rows.empty:
        return pd.DataFrame(columns=["plan_id", "continue"])
    months = semester_months(semester.starts_on, semester.ends_on)
    programme = config.programme
    mine = planned[planned["plan_id"].isin(rows["plan_id"])]
    measures = measure_results(mine, rows, months)
    results = plan_results(measures, plan_answers(rows), months, programme.monthly_cap_eur,
                           programme.fidelity_threshold)  # fmt: skip
    source = rows.groupby("plan_id")["file"].first().map(submission_ids)
    _move(session, results)
    ids = session.scalars(
        insert(Evaluation).returning(Evaluation.id, sort_by_parameter_order=True),
        [{"plan_id": int(r["plan_id"]), "submission_id": int(source[r["plan_id"]]),
          "outcome": r["outcome"], "continue_plan": bool(r["continue"]),
          "comment": _text(r["comment"]),
          "fidelity": _float(r["fidelity"]), "weighted_ratio": _float(r["weighted_ratio"]),
          "flags": r["flags"]}
         for r in results.to_dict("records")],
    ).all()  # fmt: skip
    evaluation_of = dict(zip(results["plan_id"].astype(int), ids, strict=True))
    session.execute(
        insert(EvaluationMeasure),
        [{"evaluation_id": evaluation_of[int(m["plan_id"])], "measure": m["measure"],
          "subject": _text(m["subject"]), "planned": float(m["planned"]),
          "delivered_hours": _float(m["delivered_hours"]) if m["reported"] else None,
          "spent_eur": _float(m["spent_eur"]) if m["reported"] else None,
          "ratio": _float(m["ratio"])}
         for m in measures.to_dict("records")],
    )  # fmt: skip
    return results


def _move(session: Session, results: pd.DataFrame) -> None:
    """Move the plans approved → evaluated → continued | closed, checked by the lifecycle."""
    current = session.execute(
        select(Plan.id, Plan.status).where(Plan.id.in_(results["plan_id"].astype(int).tolist()))
    ).all()
    lifecycle.check_moves([status for _, status in current], PlanStatus.EVALUATED)
    for target, chosen in ((PlanStatus.CONTINUED, True), (PlanStatus.CLOSED, False)):
        ids = results.loc[results["continue"].eq(chosen), "plan_id"].astype(int).tolist()
        if not ids:
            continue
        lifecycle.check_moves([PlanStatus.EVALUATED] * len(ids), target)
        session.execute(update(Plan), [{"id": i, "status": target} for i in ids])


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _text(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def _plans_per_school(
    session: Session,
    semester_id: int,
    results: pd.DataFrame,
    plans: pd.DataFrame,
    schools: list[str],
) -> dict[str, dict[str, int]]:
    """Return per school the plans evaluated now (continued, closed) and those still missing."""
    school_of = plans.set_index("plan_id")["school_code"]
    done = results.assign(school=results["plan_id"].map(school_of))
    plans_now = semester_plans(session, semester_id)
    approved = plans_now[plans_now["status"].eq(PlanStatus.APPROVED)]
    missing = approved.groupby("school_code").size().to_dict()
    table = {}
    for school in schools:
        mine = done[done["school"].eq(school)]
        continued = int(mine["continue"].sum())
        table[school] = {"evaluated": len(mine), "continued": continued,
                         "closed": len(mine) - continued,
                         "missing": int(missing.get(school, 0))}  # fmt: skip
    return table
