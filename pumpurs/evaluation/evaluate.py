"""Evaluating a semester: read the schools' evaluation files through the intake path, match
every row to an approved plan, compute fulfilment, and move the plans on — in one transaction.

Each plan evaluated becomes evaluated and, at once, continued ("continue" = yes; open-semester
then carries it into the next semester as a draft) or closed. The arithmetic is in
`evaluation.fulfilment`; rows that cannot be matched are rejected by `evaluation.match`.

A new file for a plan evaluated in an earlier run is a correction: it replaces the stored
evaluation (the old values go to the audit log) and the plan follows the new "continue" answer,
as long as no plan of a later semester has been carried over from it. A correction that gives
exactly the stored values changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, aliased

from pumpurs.clock import utcnow
from pumpurs.config import Config
from pumpurs.evaluation.fulfilment import (
    measure_results,
    plan_answers,
    plan_results,
    semester_months,
)
from pumpurs.evaluation.match import DONE, match_rows
from pumpurs.intake import validate_evaluations
from pumpurs.intake.batch import EVALUATIONS, IntakeReport, account, read_inbox, school_table
from pumpurs.intake.report import queue_reports
from pumpurs.privacy import mask
from pumpurs.settings import Settings
from pumpurs.store import lifecycle
from pumpurs.store.models import (
    AuditEntry,
    Evaluation,
    EvaluationMeasure,
    Plan,
    PlanStatus,
    Pupil,
    School,
)
from pumpurs.store.plans import current_rows
from pumpurs.store.reference import StoredSemester

PLAN_COLUMNS = ["plan_id", "school_code", "pupil_ref", "status", "evaluated", "carried"]
PLANNED_COLUMNS = ["plan_id", "measure", "subject", "provider_ref", "hours_per_month",
                   "eur_per_month"]  # fmt: skip
CHUNK = 5000  # ids per IN (...) list: well below SQLite's limit on bound parameters
CORRECTED = "evaluation.corrected"  # the audit log's action for a replaced evaluation
NEW, CORRECTION, UNCHANGED = "new", "corrected", "unchanged"  # results' "change"


@dataclass(frozen=True)
class EvaluationReport(IntakeReport):
    """`plans_evaluated`: evaluations stored by this run, first ones and corrections alike
    (continued + closed); `plans_corrected`: those that replaced an earlier evaluation;
    `plans_unchanged`: plans sent again with the values already stored (nothing written)."""

    plans_evaluated: int = 0
    plans_corrected: int = 0
    plans_unchanged: int = 0
    plans_continued: int = 0
    plans_closed: int = 0


def evaluate(
    session: Session,
    config: Config,
    settings: Settings,
    semester: StoredSemester,
    on_progress: Callable[[float], None] = lambda _: None,
) -> EvaluationReport:
    """Evaluate the plans of every new evaluation file of the semester."""
    language = str(settings.language)
    batch = read_inbox(session, config, settings, semester, EVALUATIONS)
    if not batch.files:
        return EvaluationReport(skipped=batch.skipped)
    on_progress(20)
    validation = validate_evaluations(batch.rows, config, language)
    plans = semester_plans(session, semester.id)
    mentioned = plans.merge(validation.accepted[["school_code", "pupil_ref"]].drop_duplicates())
    correctable = (
        mentioned["status"].isin(list(DONE)) & mentioned["evaluated"] & ~mentioned["carried"]
    )
    wanted = mentioned["status"].eq(PlanStatus.APPROVED) | correctable
    planned = planned_measures(session, mentioned.loc[wanted, "plan_id"].tolist())
    labels = [f.label for f in batch.files]
    matched = match_rows(validation.accepted, validation.rejections, plans, planned, labels,
                         config, language)  # fmt: skip
    rejections = pd.concat([validation.rejections, matched.rejections], ignore_index=True)
    on_progress(50)
    counted = account(session, batch, matched.rows, rejections)
    results = store_evaluations(session, config, semester, matched.rows, planned,
                                batch.submission_ids)  # fmt: skip
    stored = results[results["change"].ne(UNCHANGED)]
    continued = int(stored["continue"].sum()) if len(stored) else 0
    per_school = _plans_per_school(session, semester.id, results, plans, batch.schools())
    schools = school_table(batch, counted, {
        school: {f"plans_{k}": v for k, v in counts.items()}
        for school, counts in per_school.items()
    })  # fmt: skip
    queued = queue_reports(
        session, config, language, semester.code, batch, counted, rejections, per_school
    )
    on_progress(100)
    return EvaluationReport(
        files=len(batch.files),
        skipped=batch.skipped,
        unreadable=batch.unreadable,
        rows_read=counted.read,
        rows_accepted=counted.accepted,
        rows_rejected=counted.rejected,
        plans_evaluated=len(stored),
        plans_corrected=int(stored["change"].eq(CORRECTION).sum()),
        plans_unchanged=len(results) - len(stored),
        plans_continued=continued,
        plans_closed=len(stored) - continued,
        reports_queued=queued,
        schools=schools,
        file_problems=batch.file_problems(language),
    )


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
    frame = pd.DataFrame(
        [(*row, False) for row in session.execute(query).all()], columns=PLAN_COLUMNS
    )
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
    parts = [current_rows(session, list(plan_ids[i : i + CHUNK]))
             for i in range(0, len(plan_ids), CHUNK)]  # fmt: skip
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=PLANNED_COLUMNS)
    return pd.concat(parts, ignore_index=True).loc[:, PLANNED_COLUMNS]


def store_evaluations(
    session: Session,
    config: Config,
    semester: StoredSemester,
    rows: pd.DataFrame,
    planned: pd.DataFrame,
    submission_ids: pd.Series,
) -> pd.DataFrame:
    """Store an evaluation per plan of the matched rows, move the plans on; return results.

    A plan that has an evaluation already is corrected: the old one is written to the audit
    log and replaced, unless the new one gives the same values (then nothing is written).
    Results have a `change` column: new | corrected | unchanged.
    """
    if rows.empty:
        return pd.DataFrame(columns=["plan_id", "continue", "change"])
    months = semester_months(semester.starts_on, semester.ends_on)
    programme = config.programme
    mine = planned[planned["plan_id"].isin(rows["plan_id"])]
    measures = measure_results(mine, rows, months)
    results = plan_results(measures, plan_answers(rows), months, programme.monthly_cap_eur,
                           programme.fidelity_threshold)  # fmt: skip
    source = rows.groupby("plan_id")["file"].first().map(submission_ids)
    new_rows = {int(r["plan_id"]): _evaluation_values(r, int(source[r["plan_id"]]))
                for r in results.to_dict("records")}  # fmt: skip
    new_measures: dict[int, list[dict[str, Any]]] = {}
    for m in measures.to_dict("records"):
        new_measures.setdefault(int(m["plan_id"]), []).append(_measure_values(m))
    earlier = _stored_evaluations(session, list(new_rows))
    change = {
        plan_id: NEW if plan_id not in earlier
        else UNCHANGED if _same(earlier[plan_id], new_rows[plan_id], new_measures[plan_id])
        else CORRECTION
        for plan_id in new_rows
    }  # fmt: skip
    results = results.assign(change=results["plan_id"].astype(int).map(change))
    corrected = [p for p, c in change.items() if c == CORRECTION]
    school_of = rows.groupby("plan_id")["school_code"].first()
    _audit(session, config, semester, corrected, earlier, new_rows, school_of)
    _remove(session, [earlier[p]["id"] for p in corrected])
    _move(session, results[results["change"].eq(NEW)], earlier={})
    _move(session, results[results["change"].eq(CORRECTION)], earlier)
    written = [p for p, c in change.items() if c != UNCHANGED]
    if not written:
        return results
    ids = session.scalars(
        insert(Evaluation).returning(Evaluation.id, sort_by_parameter_order=True),
        [new_rows[p] for p in written],
    ).all()
    evaluation_of = dict(zip(written, ids, strict=True))
    session.execute(
        insert(EvaluationMeasure),
        [{"evaluation_id": evaluation_of[p], **m} for p in written for m in new_measures[p]],
    )
    return results


def _evaluation_values(result: Mapping[Any, Any], submission_id: int) -> dict[str, Any]:
    """Return a plan's Evaluation row from its fulfilment results."""
    return {"plan_id": int(result["plan_id"]), "submission_id": submission_id,
            "outcome": result["outcome"], "continue_plan": bool(result["continue"]),
            "comment": _text(result["comment"]), "fidelity": _float(result["fidelity"]),
            "weighted_ratio": _float(result["weighted_ratio"]),
            "flags": result["flags"]}  # fmt: skip


def _measure_values(m: Mapping[Any, Any]) -> dict[str, Any]:
    """Return an EvaluationMeasure row (without its evaluation id) from a measure's results."""
    return {"measure": m["measure"], "subject": _text(m["subject"]),
            "planned": float(m["planned"]),
            "delivered_hours": _float(m["delivered_hours"]) if m["reported"] else None,
            "spent_eur": _float(m["spent_eur"]) if m["reported"] else None,
            "ratio": _float(m["ratio"])}  # fmt: skip


def _stored_evaluations(session: Session, plan_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Return the stored evaluations of these plans with their measures and the plan's status."""
    found: dict[int, dict[str, Any]] = {}
    for i in range(0, len(plan_ids), CHUNK):
        chunk = list(plan_ids[i : i + CHUNK])
        query = (
            select(Evaluation, Plan.status)
            .join(Plan, Plan.id == Evaluation.plan_id)
            .where(Evaluation.plan_id.in_(chunk))
        )
        for evaluation, status in session.execute(query).tuples():
            values = {c.key: getattr(evaluation, c.key) for c in Evaluation.__table__.columns}
            found[evaluation.plan_id] = values | {"status": status, "measures": []}
    by_evaluation = {e["id"]: e for e in found.values()}
    ids = list(by_evaluation)
    columns = [c for c in EvaluationMeasure.__table__.columns if c.key not in ("id",)]
    for i in range(0, len(ids), CHUNK):
        query = (
            select(*columns)
            .where(EvaluationMeasure.evaluation_id.in_(ids[i : i + CHUNK]))
            .order_by(EvaluationMeasure.id)
        )
        for row in session.execute(query).mappings():
            measure = dict(row)
            by_evaluation[measure.pop("evaluation_id")]["measures"].append(measure)
    for stored in found.values():
        stored["measures"].sort(key=_measure_key)
    return found


def _measure_key(m: dict[str, Any]) -> tuple[str, str]:
    return m["measure"], m["subject"] or ""


def _same(old: dict[str, Any], new: dict[str, Any], measures: list[dict[str, Any]]) -> bool:
    """Return whether a plan's new evaluation gives the values its stored one has."""
    fields = ("outcome", "continue_plan", "comment")
    return all(old[f] == new[f] for f in fields) and old["measures"] == sorted(
        measures, key=_measure_key
    )


def _audit(
    session: Session,
    config: Config,
    semester: StoredSemester,
    corrected: Sequence[int],
    earlier: dict[int, dict[str, Any]],
    new_rows: dict[int, dict[str, Any]],
    school_of: pd.Series,
) -> None:
    """Keep the values of each evaluation about to be replaced in the audit log.

    The actor is the school's coordinator, who sends its files; pupils appear by plan id
    only, and the school's free-text comment is masked (never a personal code).
    """
    if not corrected:
        return
    now = utcnow()
    entries = []
    for plan_id in corrected:
        old, new, code = earlier[plan_id], new_rows[plan_id], str(school_of[plan_id])
        school = config.school(code)
        entries.append({
            "at": now,
            "actor": school.coordinator.email if school is not None else f"school:{code}",
            "action": CORRECTED,
            "entity": "plan",
            "entity_id": plan_id,
            "details": {
                "semester": semester.code.code,
                "school": code,
                "submission": {"old": old["submission_id"], "new": new["submission_id"]},
                "status": {"old": str(old["status"]), "new": str(_target(new["continue_plan"]))},
                "old": {
                    "outcome": old["outcome"],
                    "continue": old["continue_plan"],
                    "fidelity": old["fidelity"],
                    "weighted_ratio": old["weighted_ratio"],
                    "flags": old["flags"],
                    "comment": None if old["comment"] is None else mask(old["comment"]),
                    "evaluated_at": old["evaluated_at"].isoformat(),
                    "measures": old["measures"],
                },
                "new": {
                    "outcome": new["outcome"],
                    "continue": new["continue_plan"],
                    "fidelity": new["fidelity"],
                    "weighted_ratio": new["weighted_ratio"],
                },
            },
        })  # fmt: skip
    session.execute(insert(AuditEntry), entries)


def _remove(session: Session, evaluation_ids: Sequence[int]) -> None:
    """Delete these evaluations and their measures (their values are in the audit log)."""
    for i in range(0, len(evaluation_ids), CHUNK):
        chunk = list(evaluation_ids[i : i + CHUNK])
        session.execute(delete(EvaluationMeasure).where(EvaluationMeasure.evaluation_id.in_(chunk)))
        session.execute(delete(Evaluation).where(Evaluation.id.in_(chunk)))


def _target(continue_plan: bool) -> PlanStatus:
    return PlanStatus.CONTINUED if continue_plan else PlanStatus.CLOSED


def _move(session: Session, results: pd.DataFrame, earlier: dict[int, dict[str, Any]]) -> None:
    """Move the plans on through the lifecycle: approved → evaluated → continued | closed for
    first evaluations; a corrected plan (in `earlier`) from its status to the new answer's."""
    for target, chosen in ((PlanStatus.CONTINUED, True), (PlanStatus.CLOSED, False)):
        ids = results.loc[results["continue"].eq(chosen), "plan_id"].astype(int).tolist()
        first = [i for i in ids if i not in earlier]
        lifecycle.move_many(session, first, target, via=[PlanStatus.EVALUATED])
        corrected = [i for i in ids if i in earlier and earlier[i]["status"] != target]
        lifecycle.move_many(session, corrected, target)


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
    """Return per school the plans evaluated now (continued, closed; corrected of them), those
    sent again unchanged, and those still missing."""
    school_of = plans.set_index("plan_id")["school_code"]
    done = results.assign(school=results["plan_id"].map(school_of))
    unchanged = done[done["change"].eq(UNCHANGED)].groupby("school").size().to_dict()
    done = done[done["change"].ne(UNCHANGED)]
    plans_now = semester_plans(session, semester_id)
    approved = plans_now[plans_now["status"].eq(PlanStatus.APPROVED)]
    missing = approved.groupby("school_code").size().to_dict()
    table = {}
    for school in schools:
        mine = done[done["school"].eq(school)]
        continued = int(mine["continue"].sum())
        table[school] = {"evaluated": len(mine), "continued": continued,
                         "closed": len(mine) - continued,
                         "corrected": int(mine["change"].eq(CORRECTION).sum()),
                         "unchanged": int(unchanged.get(school, 0)),
                         "missing": int(missing.get(school, 0))}  # fmt: skip
    return table
