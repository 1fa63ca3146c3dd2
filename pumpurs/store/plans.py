"""Reading plans as rows: the current revision of each plan, one row per measure."""

from __future__ import annotations

from itertools import groupby
from operator import itemgetter

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpurs.store.frames import read_frame
from pumpurs.store.models import Plan, PlanMeasure, PlanRevision, PlanRisk

CURRENT_REVISION = (PlanRevision.plan_id == Plan.id) & (PlanRevision.number == Plan.revision)
"""Join condition: a plan with its current revision."""


def current_rows(session: Session, plan_ids: list[int]) -> pd.DataFrame:
    """Return the current revision of these plans as rows, one per measure."""
    query = (
        select(
            Plan.id.label("plan_id"),
            PlanRevision.id.label("revision_id"),
            PlanRevision.grade,
            PlanRevision.goal,
            PlanMeasure.measure,
            PlanMeasure.subject,
            PlanMeasure.provider_ref,
            PlanMeasure.hours_per_month,
            PlanMeasure.eur_per_month,
        )
        .select_from(Plan)
        .join(PlanRevision, CURRENT_REVISION)
        .join(PlanMeasure, PlanMeasure.revision_id == PlanRevision.id)
        .where(Plan.id.in_(plan_ids))
        .order_by(Plan.id, PlanMeasure.id)
    )
    rows = read_frame(session, query)
    if rows.empty:
        return rows
    risks = read_frame(
        session,
        select(PlanRisk.revision_id, PlanRisk.category).where(
            PlanRisk.revision_id.in_(rows["revision_id"].unique().tolist())
        ),
        ["revision_id", "category"],
    )
    rows["risk_categories"] = rows["revision_id"].map(_joined(risks)).fillna("")
    return rows


def _joined(risks: pd.DataFrame) -> dict[int, str]:
    """Return each revision's risk categories, sorted and ";"-joined (one pass over the rows:
    a grouped join would call Python once per revision through pandas, tens of thousands)."""
    ordered = risks.sort_values(["revision_id", "category"], kind="stable")
    pairs = zip(ordered["revision_id"].tolist(), ordered["category"].tolist(), strict=True)
    return {
        revision: ";".join(category for _, category in group)
        for revision, group in groupby(pairs, key=itemgetter(0))
    }
