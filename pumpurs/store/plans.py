"""Reading plans as rows: the current revision of each plan, one row per measure."""

from __future__ import annotations

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
            Plan.id.label("plan_id"), PlanRevision.id.label("revision_id"), PlanRevision.grade,
            PlanRevision.goal, PlanMeasure.measure, PlanMeasure.subject, PlanMeasure.provider_ref,
            PlanMeasure.hours_per_month, PlanMeasure.eur_per_month,
        )
        .select_from(Plan)
        .join(PlanRevision, CURRENT_REVISION)
        .join(PlanMeasure, PlanMeasure.revision_id == PlanRevision.id)
        .where(Plan.id.in_(plan_ids))
        .order_by(Plan.id, PlanMeasure.id)
    )  # fmt: skip
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
    joined = risks.sort_values("category").groupby("revision_id")["category"].agg(";".join)
    rows["risk_categories"] = rows["revision_id"].map(joined).fillna("")
    return rows
