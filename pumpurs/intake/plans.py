"""Storing accepted plan rows: new plans, new revisions of pending ones, history kept.

Works on the whole batch at once with bulk inserts; the one lifecycle (`pumpurs.store.lifecycle`)
writes every status, new plans' and revised plans' alike, and checks the moves first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd
from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from pumpurs.store import lifecycle
from pumpurs.store.inserts import insert_ids
from pumpurs.store.models import (
    Plan,
    PlanMeasure,
    PlanRevision,
    PlanRisk,
    PlanStatus,
    Pupil,
    School,
)
from pumpurs.store.plans import current_rows
from pumpurs.store.reference import StoredSemester

PLAN_KEY = ["school_code", "pupil_ref"]
# Core tables: bulk inserts through them skip the ORM's per-row bookkeeping.
REVISION, MEASURE, RISK, PUPIL = (
    cast(Table, model.__table__) for model in (PlanRevision, PlanMeasure, PlanRisk, Pupil)
)


@dataclass(frozen=True)
class Stored:
    """What happened to each plan of the batch, and the rows that could not be stored."""

    outcomes: pd.DataFrame  # school_code, pupil_ref, outcome: new | revised | unchanged | decided
    decided: pd.DataFrame  # accepted rows of plans already decided: the caller rejects them


def _text(values: pd.Series) -> pd.Series:
    return values.astype("string").fillna("")


def _fingerprint(frame: pd.DataFrame, key: list[str]) -> pd.Series:
    """Return one text per plan that is equal exactly when the plans' contents are equal."""
    hours = pd.to_numeric(frame["hours_per_month"]).round(4)
    eur = pd.to_numeric(frame["eur_per_month"]).round(4)
    parts = [frame["measure"], frame["subject"], frame["provider_ref"], hours, eur]
    measure = _text(parts[0])
    for part in parts[1:]:
        measure = measure + "|" + _text(part)
    rows = frame.assign(_m=measure)
    measures = rows.groupby(key)["_m"].agg(lambda v: "\n".join(sorted(v)))
    head = rows.groupby(key)[["grade", "goal", "risk_categories"]].first()
    return (
        _text(head["grade"])
        + "\n"
        + _text(head["goal"])
        + "\n"
        + _text(head["risk_categories"])
        + "\n"
        + measures
    )


def _pupil_ids(session: Session, plans: pd.DataFrame) -> pd.Series:
    """Return each plan's pupil id, creating pupils not seen before."""
    schools = dict(session.execute(select(School.code, School.id)).tuples().all())
    wanted = plans.assign(school_id=plans["school_code"].map(schools))
    existing = pd.DataFrame(
        session.execute(
            select(Pupil.school_id, Pupil.ref.label("pupil_ref"), Pupil.id).where(
                Pupil.school_id.in_(wanted["school_id"].unique().tolist())
            )
        ).all(),
        columns=["school_id", "pupil_ref", "id"],
    )
    merged = wanted.merge(existing, on=["school_id", "pupil_ref"], how="left")
    missing = merged[merged["id"].isna()]
    if not missing.empty:
        session.execute(
            insert(PUPIL),
            [
                {"school_id": int(s), "ref": r}
                for s, r in zip(missing["school_id"], missing["pupil_ref"], strict=True)
            ],
        )
        return _pupil_ids(session, plans)
    return pd.Series(merged["id"].astype("int64").to_numpy(), index=plans.index)


def store_plans(
    session: Session, semester: StoredSemester, accepted: pd.DataFrame, submission_ids: pd.Series
) -> Stored:
    """Store the accepted rows of a batch; `submission_ids` maps each row's file to its id."""
    if accepted.empty:
        return Stored(pd.DataFrame(columns=[*PLAN_KEY, "outcome"]), accepted)
    plans = accepted.groupby(PLAN_KEY, sort=False).first().reset_index()
    plans["pupil_id"] = _pupil_ids(session, plans)
    current = pd.DataFrame(
        session.execute(
            select(Plan.id.label("plan_id"), Plan.pupil_id, Plan.status, Plan.revision).where(
                Plan.semester_id == semester.id,
                Plan.pupil_id.in_(plans["pupil_id"].tolist()),
            )
        ).all(),
        columns=["plan_id", "pupil_id", "status", "revision"],
    )
    plans = plans.merge(current, on="pupil_id", how="left")
    is_new = plans["plan_id"].isna()
    pending = ~is_new & plans["status"].isin(list(lifecycle.PENDING))
    decided_keys = plans.loc[~is_new & ~pending, PLAN_KEY]
    decided = accepted.merge(decided_keys, on=PLAN_KEY)
    unchanged = _unchanged(session, accepted, plans[pending])
    revise = pending & ~plans["plan_id"].isin(unchanged)
    revised = plans.loc[revise, "plan_id"].astype(int).tolist()
    lifecycle.move_many(session, revised, PlanStatus.SUBMITTED)

    new_plans = plans[is_new]
    if not new_plans.empty:
        ids = lifecycle.insert_plans(
            session,
            [
                {
                    "semester_id": semester.id,
                    "school_id": school,
                    "pupil_id": int(pupil),
                    "revision": 1,
                }
                for school, pupil in zip(
                    _school_ids(session, new_plans), new_plans["pupil_id"], strict=True
                )
            ],
        )
        plan_ids = pd.to_numeric(plans["plan_id"], errors="coerce").astype("float64")
        plan_ids[is_new] = list(ids)  # type: ignore[call-overload]
        plans["plan_id"] = plan_ids
    plans["plan_id"] = pd.to_numeric(plans["plan_id"]).astype("int64")
    revision = pd.to_numeric(plans["revision"], errors="coerce").fillna(0).astype("int64")
    plans["number"] = np.where(is_new, 1, revision + 1)
    if revise.any():
        session.execute(
            update(Plan),
            [
                {"id": int(i), "revision": int(n)}
                for i, n in zip(
                    plans.loc[revise, "plan_id"], plans.loc[revise, "number"], strict=True
                )
            ],
        )
    _insert_revisions(session, plans[is_new | revise], accepted, submission_ids)
    outcome = pd.Series("unchanged", index=plans.index)
    outcome[is_new], outcome[revise], outcome[~is_new & ~pending] = "new", "revised", "decided"
    return Stored(plans[PLAN_KEY].assign(outcome=outcome), decided)


def _school_ids(session: Session, plans: pd.DataFrame) -> list[int]:
    schools = dict(session.execute(select(School.code, School.id)).tuples().all())
    return [int(schools[code]) for code in plans["school_code"]]


def _unchanged(session: Session, accepted: pd.DataFrame, pending: pd.DataFrame) -> set[int]:
    """Return the ids of pending plans whose stored revision equals what was sent again."""
    if pending.empty:
        return set()
    stored = current_rows(session, pending["plan_id"].astype(int).tolist())
    if stored.empty:
        return set()
    old = _fingerprint(stored, ["plan_id"])
    sent = accepted.merge(pending[[*PLAN_KEY, "plan_id"]], on=PLAN_KEY)
    new = _fingerprint(sent, ["plan_id"])
    both = pd.concat([old.rename("old"), new.rename("new")], axis=1, join="inner")
    return {int(i) for i in both.index[both["old"] == both["new"]]}


def _insert_revisions(
    session: Session, plans: pd.DataFrame, accepted: pd.DataFrame, submission_ids: pd.Series
) -> None:
    if plans.empty:
        return
    revision_ids = insert_ids(
        session,
        REVISION,
        [
            {
                "plan_id": int(p),
                "number": int(n),
                "submission_id": int(submission_ids[f]),
                "grade": int(g),
                "goal": goal,
            }
            for p, n, f, g, goal in zip(
                plans["plan_id"],
                plans["number"],
                plans["file"],
                plans["grade"],
                plans["goal"],
                strict=True,
            )
        ],
        ["plan_id", "number"],
    )
    keyed = plans[PLAN_KEY].assign(revision_id=revision_ids)
    rows = accepted.merge(keyed, on=PLAN_KEY)
    session.execute(
        insert(MEASURE),
        [
            {
                "revision_id": int(r),
                "measure": m,
                "subject": s,
                "provider_ref": p,
                "hours_per_month": None if pd.isna(h) else float(h),
                "eur_per_month": None if pd.isna(e) else float(e),
            }
            for r, m, s, p, h, e in zip(
                rows["revision_id"],
                rows["measure"],
                rows["subject"],
                rows["provider_ref"],
                rows["hours_per_month"],
                rows["eur_per_month"],
                strict=True,
            )
        ],
    )
    risks = keyed.merge(plans[[*PLAN_KEY, "risk_categories"]], on=PLAN_KEY)
    risks = risks.assign(category=risks["risk_categories"].str.split(";")).explode("category")
    session.execute(
        insert(RISK),
        [
            {"revision_id": int(r), "category": c}
            for r, c in zip(risks["revision_id"], risks["category"], strict=True)
            if c
        ],
    )
