"""A semester's figures per school, municipality, region and nation: pure pandas.

`compute_figures` works on frames loaded from the store (`store.load_input`), so the
evaluation run and the summaries compute the same numbers the same way. Before evaluation the
figures are what was planned; fulfilment and spending fill in as plans are evaluated.

Definitions: a plan counts (pupils, measures, budget) once it was approved — statuses approved,
evaluated, continued, closed; `plans_by_status` counts every plan. Shares are of the unit's
counted pupils. A school takes part when it sent at least one plan this semester (any status but
a carried-over draft); the schools invited are those of the configuration (`invited` in
`units`; all of them when the column is absent) and any other school that sent plans.
Teachers and specialists are the distinct provider references of hour measures, per school
(two schools' "T-1" are two people). A measure is delivered when more than 0 was delivered or
spent. The fulfilment distribution bins the plans' weighted ratios:
below 50 %, 50 % to below 80 %, 80 % and more (`none`: no ratio). The cap is the most the
fund could pay: pupils × monthly cap × months. The change against the previous semester compares
a few headline figures of the same unit (`compare_figures`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from pumpurs.config import Catalogue
from pumpurs.evaluation.fulfilment import RATIO_DECIMALS
from pumpurs.store.models import PlanStatus

NATION = "LV"
UNIT_KEYS = ["school_code", "municipality_code", "region_code", "nation"]
LEVELS = (
    ("school", "school_code"),
    ("municipality", "municipality_code"),
    ("region", "region_code"),
    ("nation", "nation"),
)
COUNTED = [PlanStatus.APPROVED, PlanStatus.EVALUATED, PlanStatus.CONTINUED, PlanStatus.CLOSED]
OUTCOMES = ["improved", "no_change", "worse"]
FLAGS = [
    "no_delivery",
    "overspent_plan",
    "over_cap",
    "outcome_worse",
    "missing_measures",
    "zero_planned",
]
BINS = ["lt_50", "50_80", "ge_80", "none"]
CHANGES: dict[str, tuple[str, ...]] = {  # headline figure: its path in a unit's figures
    "pupils": ("pupils",),
    "plans": ("plans",),
    "providers": ("providers",),
    "measures_delivered": ("measures", "delivered"),
    "hours_delivered": ("hours", "delivered"),
    "used_eur": ("budget", "used_eur"),
    "mean_weighted_ratio": ("fulfilment", "mean_weighted_ratio"),
}


@dataclass(frozen=True, eq=False)
class FigureInput:
    """The frames figures are computed from (one semester)."""

    units: pd.DataFrame  # school_code, municipality_code, region_code (, invited)
    plans: pd.DataFrame  # plan_id, school_code, pupil_id, status
    measures: pd.DataFrame  # plan_id, measure, subject, provider_ref, hours/eur_per_month
    risks: pd.DataFrame  # plan_id, category
    evaluations: pd.DataFrame  # plan_id, outcome, fidelity, weighted_ratio, flags (dict)
    delivered: pd.DataFrame  # plan_id, delivered_hours, spent_eur, ratio (evaluation measures)
    months: int


def compute_figures(
    data: FigureInput, catalogue: Catalogue, cap_eur: float, threshold: float
) -> dict[tuple[str, str], dict[str, Any]]:
    """Return the figures of every unit, keyed by (level, unit code)."""
    units = data.units.assign(nation=NATION)
    plans = data.plans.merge(units, on="school_code")
    sent = set(plans.loc[plans["status"].ne(PlanStatus.DRAFT), "school_code"])
    invited = units["invited"] if "invited" in units else True
    units = units.assign(took_part=units["school_code"].isin(sent))
    units = units.assign(invited=units["took_part"] | invited).drop(columns="took_part")
    counted = plans[plans["status"].isin(COUNTED)]
    on_plan = counted[["plan_id", "pupil_id", *UNIT_KEYS]]
    frames = {
        "measures": data.measures.merge(on_plan, on="plan_id"),
        "risks": data.risks.merge(on_plan, on="plan_id"),
        "evaluations": _evaluations(data.evaluations).merge(on_plan, on="plan_id"),
        "delivered": _delivered(data.delivered, threshold).merge(on_plan, on="plan_id"),
    }
    subjects, risks = list(catalogue.subjects), list(catalogue.risk_categories)
    result: dict[tuple[str, str], dict[str, Any]] = {}
    for level, key in LEVELS:
        codes = sorted(units[key].unique())
        tables = _tables(
            plans, counted, frames, key, codes, subjects, risks, list(catalogue.measures)
        )
        schools = _participation(units, sent, key)
        for code in codes:
            result[(level, code)] = {
                **_assemble(tables, code, data.months, cap_eur),
                "schools": schools[code],
            }
    return result


def _participation(units: pd.DataFrame, sent: set[str], key: str) -> dict[str, dict[str, Any]]:
    """Return per unit the schools invited, how many sent plans, and the codes of the others."""
    invited = units[units["invited"]]
    result: dict[str, dict[str, Any]] = {
        code: {"invited": 0, "with_plans": 0, "without_plans": []} for code in units[key].unique()
    }
    for code, schools in invited.groupby(key)["school_code"]:
        codes = sorted(schools)
        without = [school for school in codes if school not in sent]
        result[str(code)] = {
            "invited": len(codes),
            "with_plans": len(codes) - len(without),
            "without_plans": without,
        }
    return result


def _evaluations(evaluations: pd.DataFrame) -> pd.DataFrame:
    ratio = evaluations["weighted_ratio"].astype("float64").round(RATIO_DECIMALS)
    bins = pd.cut(ratio, [-float("inf"), 0.5, 0.8, float("inf")], right=False, labels=BINS[:3])
    flags = evaluations["flags"].map(lambda f: dict(f or {}))
    return evaluations.assign(
        bin=bins.astype("object").where(ratio.notna(), "none"),
        **{f"flag_{name}": flags.map(lambda f, n=name: bool(f.get(n))) for name in FLAGS},
    )


def _delivered(delivered: pd.DataFrame, threshold: float) -> pd.DataFrame:
    hours = delivered["delivered_hours"].astype("float64").fillna(0.0)
    spent = delivered["spent_eur"].astype("float64").fillna(0.0)
    ratio = delivered["ratio"].astype("float64").round(RATIO_DECIMALS)
    return delivered.assign(
        hours=hours, spent=spent, done=(hours + spent).gt(0), reached=ratio.ge(threshold)
    )


def _count(
    frame: pd.DataFrame,
    key: str,
    codes: list[str],
    by: str | None = None,
    columns: list[str] | None = None,
    distinct: str | None = None,
) -> pd.DataFrame:
    """Return rows (or distinct `distinct` values) per unit, split into `by` columns if given."""
    groups = [key, by] if by else [key]
    if frame.empty:
        return pd.DataFrame(0, index=codes, columns=columns or ["n"], dtype="int64")
    grouped = frame.groupby(groups)
    counted = grouped[distinct].nunique() if distinct else grouped.size()
    if by:
        table = counted.unstack(by, fill_value=0)
        return table.reindex(index=codes, columns=columns, fill_value=0).astype("int64")
    return counted.reindex(codes, fill_value=0).astype("int64").to_frame("n")


def _sum(frame: pd.DataFrame, key: str, codes: list[str], column: str) -> pd.Series:
    if frame.empty:
        return pd.Series(0.0, index=codes)
    return frame.groupby(key)[column].sum().reindex(codes, fill_value=0.0).astype("float64")


def _mean(frame: pd.DataFrame, key: str, codes: list[str], column: str) -> pd.Series:
    if frame.empty:
        return pd.Series(float("nan"), index=codes)
    return frame.groupby(key)[column].mean().reindex(codes).astype("float64")


def _tables(
    plans: pd.DataFrame,
    counted: pd.DataFrame,
    frames: dict[str, pd.DataFrame],
    key: str,
    codes: list[str],
    subjects: list[str],
    risks: list[str],
    measure_keys: list[str],
) -> dict[str, pd.DataFrame | pd.Series]:
    """Return every figure of the level as a table indexed by unit code."""
    m, e, d = frames["measures"], frames["evaluations"], frames["delivered"]
    consult = m[m["measure"].eq("subject_consultation")]
    hourly = m[m["hours_per_month"].notna()]
    providers = hourly.dropna(subset=["provider_ref"]).assign(
        provider=lambda f: f["school_code"] + "/" + f["provider_ref"].astype("str")
    )
    statuses = [str(s) for s in PlanStatus]
    return {
        "status": _count(plans, key, codes, "status", statuses),
        "pupils": _count(counted, key, codes, distinct="pupil_id")["n"],
        "plans": _count(counted, key, codes)["n"],
        "consult": _count(consult, key, codes, distinct="pupil_id")["n"],
        "subjects": _count(consult, key, codes, "subject", subjects, distinct="pupil_id"),
        "risks": _count(frames["risks"], key, codes, "category", risks, distinct="pupil_id"),
        "providers": _count(providers, key, codes, distinct="provider")["n"],
        "measures": _count(m, key, codes)["n"],
        "by_measure": _count(m, key, codes, "measure", measure_keys),
        "delivered_by_measure": _count(d[d["done"]], key, codes, "measure", measure_keys),
        "reported": _count(d, key, codes)["n"],
        "done": _count(d[d["done"]], key, codes)["n"],
        "reached": _count(d[d["reached"]], key, codes)["n"],
        "hours_planned": _sum(m.assign(x=m["hours_per_month"].fillna(0.0)), key, codes, "x"),
        "eur_planned": _sum(m.assign(x=m["eur_per_month"].fillna(0.0)), key, codes, "x"),
        "hours_delivered": _sum(d, key, codes, "hours"),
        "eur_used": _sum(d, key, codes, "spent"),
        "evaluated": _count(e, key, codes)["n"],
        "bins": _count(e, key, codes, "bin", BINS),
        "outcomes": _count(e, key, codes, "outcome", OUTCOMES),
        "flags": pd.DataFrame({f: _sum(e, key, codes, f"flag_{f}") for f in FLAGS}),
        "mean_ratio": _mean(e, key, codes, "weighted_ratio"),
        "mean_fidelity": _mean(e, key, codes, "fidelity"),
    }


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _number(value: float, digits: int) -> float | None:
    return None if pd.isna(value) else round(float(value), digits)


def _assemble(t: dict[str, Any], code: str, months: int, cap_eur: float) -> dict[str, Any]:
    """Return one unit's figures as plain JSON values."""
    pupils = int(t["pupils"][code])
    cap = round(pupils * cap_eur * months, 2)
    planned_eur = round(float(t["eur_planned"][code]) * months, 2)
    used = round(float(t["eur_used"][code]), 2)

    def split(name: str) -> dict[str, dict[str, Any]]:
        row = t[name].loc[code]
        return {k: {"pupils": int(n), "share": _share(int(n), pupils)} for k, n in row.items()}

    def ints(name: str) -> dict[str, int]:
        return {k: int(v) for k, v in t[name].loc[code].items()}

    delivered = t["delivered_by_measure"].loc[code]
    return {
        "months": months,
        "pupils": pupils,
        "plans": int(t["plans"][code]),
        "plans_by_status": ints("status"),
        "subject_consultations": {
            "pupils": int(t["consult"][code]),
            "share": _share(int(t["consult"][code]), pupils),
            "subjects": split("subjects"),
        },
        "risk_categories": split("risks"),
        "providers": int(t["providers"][code]),
        "measures": {
            "planned": int(t["measures"][code]),
            "reported": int(t["reported"][code]),
            "delivered": int(t["done"][code]),
            "at_threshold": int(t["reached"][code]),
            "by_measure": {
                k: {"planned": int(n), "delivered": int(delivered[k])}
                for k, n in t["by_measure"].loc[code].items()
                if n
            },
        },
        "hours": {
            "planned": round(float(t["hours_planned"][code]) * months, 2),
            "delivered": round(float(t["hours_delivered"][code]), 2),
        },
        "budget": {
            "cap_eur": cap,
            "planned_eur": planned_eur,
            "used_eur": used,
            "planned_share_of_cap": _share(planned_eur, cap),
            "used_share_of_cap": _share(used, cap),
            "used_share_of_planned": _share(used, planned_eur),
        },
        "fulfilment": {
            "evaluated": int(t["evaluated"][code]),
            "awaiting": int(t["status"].loc[code, PlanStatus.APPROVED.value]),
            "bins": ints("bins"),
            "mean_weighted_ratio": _number(t["mean_ratio"][code], 4),
            "mean_fidelity": _number(t["mean_fidelity"][code], 4),
        },
        "outcomes": ints("outcomes"),
        "flags": {k: int(v) for k, v in t["flags"].loc[code].items()},
    }


def compare_figures(
    current: dict[str, Any], previous: dict[str, Any] | None
) -> dict[str, dict[str, float | None]]:
    """Return each headline figure now and in the previous semester, with the change."""
    if previous is None:
        return {}
    result: dict[str, dict[str, float | None]] = {}
    for name, path in CHANGES.items():
        now, before = _at(current, path), _at(previous, path)
        change = None if now is None or before is None else round(now - before, 4)
        relative = None if change is None or not before else round(change / before, 4)
        result[name] = {"now": now, "before": before, "change": change, "relative": relative}
    return result


def _at(figures: dict[str, Any], path: tuple[str, ...]) -> float | None:
    value: Any = figures
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return None if value is None else float(value)
