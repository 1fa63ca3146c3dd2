"""Fulfilment arithmetic, pure pandas: what was planned against what was delivered.

The definitions, in one place:

- A semester lasts `semester_months` months: the calendar months from its first to its last
  day, both counted (1 September–22 December: 4; 5 January–29 May: 5).
- A measure's unit is hours when its plan gives hours per month, else EUR. Its planned amount
  for the semester is the monthly amount × the semester's months; measures a plan lists twice
  (same measure and subject) are added up.
- Delivered is `delivered_hours` for hour measures and `spent_eur` for EUR measures. A planned
  measure the school gave no evaluation row for counts as 0 delivered (nothing shows it was)
  and is flagged `missing_measures`.
- A measure's ratio is delivered ÷ planned; where nothing was planned the ratio is None and
  the measure is flagged `zero_planned` (never a division by zero).
- A plan's fidelity is the share of its measures with a ratio that reach the threshold
  (ratio ≥ threshold, compared at 6 decimals so 9,6 of 12 hours counts as 0,8); None if no
  measure has a ratio.
- Its hour ratio is Σ delivered hours ÷ Σ planned hours, its EUR ratio Σ spent ÷ Σ planned EUR
  (None where nothing was planned in that unit). The weighted ratio is the plain mean of those
  of the two that exist: hours and euros are not commensurable, so each unit weighs half in a
  plan that has both, and a plan with one unit gets that unit's ratio.
- Flags (raised only): `no_delivery` nothing delivered or spent at all; `overspent_plan` Σ spent
  above Σ planned EUR; `over_cap` Σ spent ÷ months above the monthly cap; `outcome_worse`;
  `missing_measures` and `zero_planned` (lists of `measure` or `measure:subject`). Money is
  compared in whole cents.
- A plan's outcome is the least favourable its rows state (worse < no_change < improved): a
  pupil whose situation worsened in any area must not be hidden by the others.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

MEASURE_KEY = ["plan_id", "measure", "subject"]
OUTCOME_ORDER = ("worse", "no_change", "improved")
RATIO_DECIMALS = 6
MEASURE_COLUMNS = [
    *MEASURE_KEY, "unit", "planned", "delivered", "delivered_hours", "spent_eur", "ratio",
    "reported",
]  # fmt: skip


def semester_months(starts_on: dt.date, ends_on: dt.date) -> int:
    """Return how many calendar months the semester touches, first and last both counted."""
    return (ends_on.year - starts_on.year) * 12 + ends_on.month - starts_on.month + 1


def _subject_key(values: pd.Series) -> pd.Series:
    # None and "" both mean "no subject"; matching needs one spelling.
    return values.astype("object").where(values.notna(), "").astype("str")


def measure_results(planned: pd.DataFrame, delivered: pd.DataFrame, months: int) -> pd.DataFrame:
    """Return one row per planned measure with its semester plan, delivery and ratio.

    `planned`: plan_id, measure, subject, hours_per_month, eur_per_month (current revision).
    `delivered`: plan_id, measure, subject, delivered_hours, spent_eur (accepted rows).
    """
    plan = planned.assign(subject=_subject_key(planned["subject"]))
    plan["unit"] = np.where(plan["hours_per_month"].notna(), "hours", "eur")
    monthly = plan["hours_per_month"].where(plan["unit"].eq("hours"), plan["eur_per_month"])
    plan["planned"] = pd.to_numeric(monthly).fillna(0.0).astype("float64") * months
    plan = plan.groupby([*MEASURE_KEY, "unit"])["planned"].sum().reset_index()
    given = delivered.assign(subject=_subject_key(delivered["subject"]), reported=True)
    given = given[[*MEASURE_KEY, "delivered_hours", "spent_eur", "reported"]]
    result = plan.merge(given, on=MEASURE_KEY, how="left")
    result["reported"] = result["reported"].eq(True)
    hours = result["unit"].eq("hours")
    amount = result["delivered_hours"].where(hours, result["spent_eur"])
    result["delivered"] = pd.to_numeric(amount).fillna(0.0).astype("float64")
    result["delivered_hours"] = result["delivered"].where(hours)
    result["spent_eur"] = result["delivered"].where(~hours)
    ratio = result["delivered"] / result["planned"].where(result["planned"].gt(0))
    result["ratio"] = ratio.astype("float64")
    result["subject"] = result["subject"].astype("object").where(result["subject"].ne(""), None)
    return result.loc[:, MEASURE_COLUMNS].reset_index(drop=True)


def plan_answers(rows: pd.DataFrame) -> pd.DataFrame:
    """Return per plan the outcome (least favourable), continue answer and joined comments."""
    rank = rows["outcome"].map({name: i for i, name in enumerate(OUTCOME_ORDER)})
    by_plan = rows.assign(_rank=rank).groupby("plan_id", sort=True)
    answers = pd.DataFrame(
        {
            "outcome": by_plan["_rank"].min().map(dict(enumerate(OUTCOME_ORDER))),
            "continue": by_plan["continue"].first().astype("bool"),
        }
    )
    answers["comment"] = _joined_comments(rows).reindex(answers.index)
    # Text columns hold NaN for "none"; the store wants None.
    answers["comment"] = answers["comment"].astype("object").where(answers["comment"].notna(), None)
    return answers.reset_index()


def _joined_comments(rows: pd.DataFrame) -> pd.Series:
    """Return per plan that has any its distinct non-blank comments, "; "-joined in row order."""
    given = rows.loc[rows["comment"].notna(), ["plan_id", "comment"]]
    given = given.assign(comment=given["comment"].astype(str))
    given = given[given["comment"].str.strip().ne("")].drop_duplicates()
    return given.groupby("plan_id", sort=True)["comment"].agg("; ".join)


def plan_results(
    measures: pd.DataFrame,
    answers: pd.DataFrame,
    months: int,
    cap_eur: float,
    threshold: float,
) -> pd.DataFrame:
    """Return per plan: fidelity, hour, EUR and weighted ratios, flags, and the answers."""
    m = measures.assign(
        has_ratio=measures["ratio"].notna(),
        reached=measures["ratio"].round(RATIO_DECIMALS).ge(threshold),
        hours_planned=measures["planned"].where(measures["unit"].eq("hours"), 0.0),
        hours_delivered=measures["delivered"].where(measures["unit"].eq("hours"), 0.0),
        eur_planned=measures["planned"].where(measures["unit"].eq("eur"), 0.0),
        eur_spent=measures["delivered"].where(measures["unit"].eq("eur"), 0.0),
    )
    sums = m.groupby("plan_id")[
        ["has_ratio", "reached", "hours_planned", "hours_delivered", "eur_planned", "eur_spent"]
    ].sum()
    result = answers.set_index("plan_id").join(sums, how="left")
    result["fidelity"] = result["reached"] / result["has_ratio"].where(result["has_ratio"].gt(0))
    result["hours_ratio"] = _ratio(result["hours_delivered"], result["hours_planned"])
    result["eur_ratio"] = _ratio(result["eur_spent"], result["eur_planned"])
    result["weighted_ratio"] = result[["hours_ratio", "eur_ratio"]].mean(axis=1, skipna=True)
    listed = _listed_flags(m)
    plan_ids = result.index.astype(int)
    flags = [
        _flags(row, listed.get(plan_id, {}), months, cap_eur)
        for plan_id, row in zip(plan_ids, result.itertuples(), strict=True)
    ]
    result["flags"] = pd.Series(flags, index=result.index, dtype="object")
    columns = ["fidelity", "hours_ratio", "eur_ratio", "weighted_ratio", "flags", "outcome",
               "continue", "comment", "eur_spent"]  # fmt: skip
    return result.loc[:, columns].reset_index()


def _ratio(done: pd.Series, planned: pd.Series) -> pd.Series:
    return (done / planned.where(planned.gt(0))).astype("float64")


def _listed_flags(measures: pd.DataFrame) -> dict[int, dict[str, list[str]]]:
    """Return per plan the measures missing from the evaluation and those planned at zero."""
    name = measures["measure"] + np.where(
        measures["subject"].notna(), ":" + measures["subject"].fillna(""), ""
    )
    found: dict[int, dict[str, list[str]]] = {}
    for flag, hits in (
        ("missing_measures", ~measures["reported"]),
        ("zero_planned", measures["planned"].le(0)),
    ):
        for plan_id, names in name[hits].groupby(measures.loc[hits, "plan_id"]):
            found.setdefault(int(plan_id), {})[flag] = sorted(names.tolist())
    return found


def _cents(value: float) -> int:
    return int(round(value * 100))


def _flags(row: Any, listed: dict[str, list[str]], months: int, cap_eur: float) -> dict[str, Any]:
    flags: dict[str, Any] = {}
    if row.hours_delivered + row.eur_spent == 0:
        flags["no_delivery"] = True
    if _cents(row.eur_spent) > _cents(row.eur_planned):
        flags["overspent_plan"] = True
    if _cents(row.eur_spent / months) > _cents(cap_eur):
        flags["over_cap"] = True
    if row.outcome == "worse":
        flags["outcome_worse"] = True
    return flags | listed
