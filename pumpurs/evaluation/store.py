"""Storing a run's evaluations: one per plan matched, and the plans moved on through the
lifecycle (approved → evaluated → continued | closed).

A new file for a plan evaluated in an earlier run is a correction: it replaces the stored
evaluation (the old values go to the audit log) and the plan follows the new "continue" answer,
as long as no plan of a later semester has been carried over from it. A correction that gives
exactly the stored values changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd
from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session

from pumpurs.clock import utcnow
from pumpurs.config import Config
from pumpurs.evaluation.fulfilment import (
    measure_results,
    plan_answers,
    plan_results,
    semester_months,
)
from pumpurs.evaluation.plans import CHUNK
from pumpurs.privacy import mask
from pumpurs.store import lifecycle
from pumpurs.store.inserts import insert_ids
from pumpurs.store.models import AuditEntry, Evaluation, EvaluationMeasure, Plan, PlanStatus
from pumpurs.store.reference import StoredSemester

_EVALUATION = cast(Table, Evaluation.__table__)
_MEASURE = cast(Table, EvaluationMeasure.__table__)
CORRECTED = "evaluation.corrected"  # the audit log's action for a replaced evaluation
NEW, CORRECTION, UNCHANGED = "new", "corrected", "unchanged"  # results' "change"


@dataclass(frozen=True)
class StoredEvaluation:
    """A plan's evaluation in the store, its measures (as `_measure_values` gives them, in
    order) and the plan's status."""

    id: int
    submission_id: int | None
    outcome: str
    continue_plan: bool
    comment: str | None
    fidelity: float | None
    weighted_ratio: float | None
    flags: dict[str, Any]
    evaluated_at: dt.datetime
    status: str
    measures: list[dict[str, Any]]


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
    results = plan_results(
        measures,
        plan_answers(rows),
        months,
        programme.monthly_cap_eur,
        programme.fidelity_threshold,
    )
    source = rows.groupby("plan_id")["file"].first().map(submission_ids)
    new_rows = {
        int(r["plan_id"]): _evaluation_values(r, int(source[r["plan_id"]]))
        for r in results.to_dict("records")
    }
    new_measures: dict[int, list[dict[str, Any]]] = {}
    for m in measures.to_dict("records"):
        new_measures.setdefault(int(m["plan_id"]), []).append(_measure_values(m))
    earlier = stored_evaluations(session, list(new_rows))
    change = {
        plan_id: NEW
        if plan_id not in earlier
        else UNCHANGED
        if _same(earlier[plan_id], new_rows[plan_id], new_measures[plan_id])
        else CORRECTION
        for plan_id in new_rows
    }
    results = results.assign(change=results["plan_id"].astype(int).map(change))
    corrected = [p for p, c in change.items() if c == CORRECTION]
    school_of = rows.groupby("plan_id")["school_code"].first()
    _audit(session, config, semester, corrected, earlier, new_rows, school_of)
    _remove(session, [earlier[p].id for p in corrected])
    _move(session, results[results["change"].eq(NEW)], earlier={})
    _move(session, results[results["change"].eq(CORRECTION)], earlier)
    written = [p for p, c in change.items() if c != UNCHANGED]
    if not written:
        return results
    ids = insert_ids(session, _EVALUATION, [new_rows[p] for p in written], ["plan_id"])
    evaluation_of = dict(zip(written, ids, strict=True))
    session.execute(
        insert(_MEASURE),
        [{"evaluation_id": evaluation_of[p], **m} for p in written for m in new_measures[p]],
    )
    return results


def _evaluation_values(result: Mapping[Any, Any], submission_id: int) -> dict[str, Any]:
    """Return a plan's Evaluation row from its fulfilment results."""
    return {
        "plan_id": int(result["plan_id"]),
        "submission_id": submission_id,
        "outcome": result["outcome"],
        "continue_plan": bool(result["continue"]),
        "comment": _text(result["comment"]),
        "fidelity": _float(result["fidelity"]),
        "weighted_ratio": _float(result["weighted_ratio"]),
        "flags": result["flags"],
    }


def _measure_values(m: Mapping[Any, Any]) -> dict[str, Any]:
    """Return an EvaluationMeasure row (without its evaluation id) from a measure's results."""
    return {
        "measure": m["measure"],
        "subject": _text(m["subject"]),
        "planned": float(m["planned"]),
        "delivered_hours": _float(m["delivered_hours"]) if m["reported"] else None,
        "spent_eur": _float(m["spent_eur"]) if m["reported"] else None,
        "ratio": _float(m["ratio"]),
    }


def stored_evaluations(session: Session, plan_ids: Sequence[int]) -> dict[int, StoredEvaluation]:
    """Return the stored evaluations of these plans with their measures and the plan's status."""
    found: dict[int, tuple[Evaluation, str]] = {}
    for i in range(0, len(plan_ids), CHUNK):
        chunk = list(plan_ids[i : i + CHUNK])
        query = (
            select(Evaluation, Plan.status)
            .join(Plan, Plan.id == Evaluation.plan_id)
            .where(Evaluation.plan_id.in_(chunk))
        )
        for evaluation, status in session.execute(query).tuples():
            found[evaluation.plan_id] = (evaluation, status)
    measures: dict[int, list[dict[str, Any]]] = {e.id: [] for e, _ in found.values()}
    ids = list(measures)
    columns = [c for c in EvaluationMeasure.__table__.columns if c.key not in ("id",)]
    for i in range(0, len(ids), CHUNK):
        query = (
            select(*columns)
            .where(EvaluationMeasure.evaluation_id.in_(ids[i : i + CHUNK]))
            .order_by(EvaluationMeasure.id)
        )
        for row in session.execute(query).mappings():
            measure = dict(row)
            measures[measure.pop("evaluation_id")].append(measure)
    return {
        plan_id: StoredEvaluation(
            id=e.id,
            submission_id=e.submission_id,
            outcome=e.outcome,
            continue_plan=e.continue_plan,
            comment=e.comment,
            fidelity=e.fidelity,
            weighted_ratio=e.weighted_ratio,
            flags=e.flags,
            evaluated_at=e.evaluated_at,
            status=status,
            measures=sorted(measures[e.id], key=_measure_key),
        )
        for plan_id, (e, status) in found.items()
    }


def _measure_key(m: Mapping[str, Any]) -> tuple[str, str]:
    return m["measure"], m["subject"] or ""


def _same(old: StoredEvaluation, new: Mapping[str, Any], measures: list[dict[str, Any]]) -> bool:
    """Return whether a plan's new evaluation gives the values its stored one has."""
    same_answers = (old.outcome, old.continue_plan, old.comment) == (
        new["outcome"],
        new["continue_plan"],
        new["comment"],
    )
    return same_answers and old.measures == sorted(measures, key=_measure_key)


def _audit(
    session: Session,
    config: Config,
    semester: StoredSemester,
    corrected: Sequence[int],
    earlier: Mapping[int, StoredEvaluation],
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
        entries.append(
            {
                "at": now,
                "actor": school.coordinator.email if school is not None else f"school:{code}",
                "action": CORRECTED,
                "entity": "plan",
                "entity_id": plan_id,
                "details": {
                    "semester": semester.code.code,
                    "school": code,
                    "submission": {"old": old.submission_id, "new": new["submission_id"]},
                    "status": {"old": str(old.status), "new": str(_target(new["continue_plan"]))},
                    "old": {
                        "outcome": old.outcome,
                        "continue": old.continue_plan,
                        "fidelity": old.fidelity,
                        "weighted_ratio": old.weighted_ratio,
                        "flags": old.flags,
                        "comment": None if old.comment is None else mask(old.comment),
                        "evaluated_at": old.evaluated_at.isoformat(),
                        "measures": old.measures,
                    },
                    "new": {
                        "outcome": new["outcome"],
                        "continue": new["continue_plan"],
                        "fidelity": new["fidelity"],
                        "weighted_ratio": new["weighted_ratio"],
                    },
                },
            }
        )
    session.execute(insert(AuditEntry), entries)


def _remove(session: Session, evaluation_ids: Sequence[int]) -> None:
    """Delete these evaluations and their measures (their values are in the audit log)."""
    for i in range(0, len(evaluation_ids), CHUNK):
        chunk = list(evaluation_ids[i : i + CHUNK])
        session.execute(delete(EvaluationMeasure).where(EvaluationMeasure.evaluation_id.in_(chunk)))
        session.execute(delete(Evaluation).where(Evaluation.id.in_(chunk)))


def _target(continue_plan: bool) -> PlanStatus:
    return PlanStatus.CONTINUED if continue_plan else PlanStatus.CLOSED


def _move(session: Session, results: pd.DataFrame, earlier: Mapping[int, StoredEvaluation]) -> None:
    """Move the plans on through the lifecycle: approved → evaluated → continued | closed for
    first evaluations; a corrected plan (in `earlier`) from its status to the new answer's."""
    for target, chosen in ((PlanStatus.CONTINUED, True), (PlanStatus.CLOSED, False)):
        ids = results.loc[results["continue"].eq(chosen), "plan_id"].astype(int).tolist()
        first = [i for i in ids if i not in earlier]
        lifecycle.move_many(session, first, target, via=[PlanStatus.EVALUATED])
        corrected = [i for i in ids if i in earlier and earlier[i].status != target]
        lifecycle.move_many(session, corrected, target)


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _text(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)
