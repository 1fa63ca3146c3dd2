"""What a semester summary says: one unit's stored figures as the labelled rows its email shows.

Nothing here computes a figure: the numbers come from `figures` as stored; this module
only picks, orders and labels them (catalogue labels, translated statuses and bins) and gives
each bar of the email its length: a share's bar is the share of the full width (0–100 %), a
count's bar (plans per school or region) its part of the largest count shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pumpurs.config import Catalogue, Config
from pumpurs.i18n.catalogue import N_, texts
from pumpurs.i18n.formats import fmt_number, fmt_percent
from pumpurs.store.models import PlanStatus
from pumpurs.summaries.figures import BINS, NATION, OUTCOMES, compare_figures

Figures = Mapping[tuple[str, str], dict[str, Any]]
CHILD_LEVEL = {"municipality": "school", "region": "school", "nation": "region"}
LARGEST = 3  # the schools with the most pupils a summary names
RATIOS = frozenset({"mean_weighted_ratio"})  # compared in percentage points
GROUPS = {  # plan statuses as the per-unit charts group them
    "evaluated": (PlanStatus.EVALUATED, PlanStatus.CONTINUED, PlanStatus.CLOSED),
    "approved": (PlanStatus.APPROVED,),
    "pending": (PlanStatus.DRAFT, PlanStatus.SUBMITTED, PlanStatus.RETURNED),
}

NO_CHANGE = N_("no change")
NATION_NAME = N_("Latvia")
STATUS_NAMES = {  # plan statuses as a summary counts them (the words agree with "plans")
    "draft": N_("carried over, not submitted yet"),
    "submitted": N_("submitted, awaiting approval"),
    "returned": N_("returned for revision"),
    "approved": N_("approved, awaiting evaluation"),
    "evaluated": N_("evaluated"),
    "continued": N_("evaluated, to be continued"),
    "closed": N_("evaluated, closed"),
}
BIN_NAMES = {  # how far evaluated plans were fulfilled
    "lt_50": N_("below 50%%"),
    "50_80": N_("50%% to 80%%"),
    "ge_80": N_("80%% or more"),
    "none": N_("not computable"),
    "awaiting": N_("not evaluated yet"),
}
OUTCOME_NAMES = {  # what the school says became of the pupil
    "improved": N_("improved"),
    "no_change": N_("no change"),
    "worse": N_("worse"),
}
FIGURE_NAMES = {  # the headline figures, as compared with the previous semester
    "pupils": N_("Pupils with a support plan"),
    "plans": N_("Approved support plans"),
    "providers": N_("Teachers and specialists engaged"),
    "measures_delivered": N_("Support measures delivered"),
    "hours_delivered": N_("Delivered hours"),
    "used_eur": N_("Funding used, EUR"),
    "mean_weighted_ratio": N_("Mean plan fulfilment"),
}
GROUP_NAMES = {  # the groups of plan statuses the per-unit charts show
    "evaluated": N_("evaluated"),
    "approved": N_("approved, awaiting evaluation"),
    "pending": N_("not approved yet"),
}


@dataclass(frozen=True)
class Unit:
    """A school, municipality, region or the nation, as a summary names it."""

    level: str
    code: str
    name: str


def unit_names(config: Config, language: str) -> dict[tuple[str, str], str]:
    """Return the name of every unit the configuration knows, keyed by (level, code)."""
    names = {("nation", NATION): texts(language).gettext(NATION_NAME)}
    for region in config.regions:
        names[("region", region.code)] = region.name
        for municipality in region.municipalities:
            names[("municipality", municipality.code)] = municipality.name
    for school in config.schools:
        names[("school", school.code)] = school.name
    return names


def members(config: Config, unit: Unit, level: str) -> list[str]:
    """Return the codes of the units of `level` inside `unit`, in configuration order."""
    region_of = {m: r.code for m, r in config.municipality_region().items()}

    def inside(municipality: str) -> bool:
        if unit.level == "nation":
            return True
        if unit.level == "region":
            return region_of[municipality] == unit.code
        return unit.level == "municipality" and municipality == unit.code

    if level == "nation":
        return [NATION]
    if level == "school":
        if unit.level == "school":
            return [unit.code]
        return [s.code for s in config.schools if inside(s.municipality)]
    if level == "municipality":
        return [m for m in region_of if inside(m)]
    return [r.code for r in config.regions if unit.level == "nation" or r.code == unit.code]


def total_plans(figures: Mapping[str, Any]) -> int:
    """Return every plan of the unit, whatever its status."""
    return sum(int(n) for n in figures["plans_by_status"].values())


def unit_row(unit: Unit, figures: Mapping[str, Any]) -> dict[str, Any]:
    """Return one line of a per-unit table: the unit and its headline figures."""
    status, fulfilment, budget = (figures[k] for k in ("plans_by_status", "fulfilment", "budget"))
    schools = figures.get("schools", {})
    return {
        "code": unit.code,
        "name": unit.name,
        "schools_with_plans": schools.get("with_plans"),
        "schools_invited": schools.get("invited"),
        "pupils": figures["pupils"],
        "plans": figures["plans"],
        "plans_all": total_plans(figures),
        **{f"plans_{g}": sum(status.get(s, 0) for s in members) for g, members in GROUPS.items()},
        "providers": figures["providers"],
        "measures_planned": figures["measures"]["planned"],
        "measures_delivered": figures["measures"]["delivered"],
        "evaluated": fulfilment["evaluated"],
        "awaiting": fulfilment["awaiting"],
        "mean_fulfilment": fulfilment["mean_weighted_ratio"],
        "used_eur": budget["used_eur"],
        "cap_eur": budget["cap_eur"],
        "used_share": budget["used_share_of_cap"],
    }


def headline_lines(row: Mapping[str, Any], language: str) -> list[str]:
    """Return a unit's headline figures as short lines (`Skolēni ar atbalsta plānu: 1 670`)."""

    def line(key: str, value: str) -> str:
        return f"{t.gettext(FIGURE_NAMES[key])}: {value}"

    t = texts(language)
    ratio, share = row["mean_fulfilment"], row["used_share"]
    used = fmt_number(row["used_eur"], language, 0)
    return [
        line("pupils", fmt_number(row["pupils"], language, 0)),
        line("plans", fmt_number(row["plans"], language, 0)),
        line("providers", fmt_number(row["providers"], language, 0)),
        line("measures_delivered", fmt_number(row["measures_delivered"], language, 0)),
        line("mean_weighted_ratio", "—" if ratio is None else fmt_percent(ratio, language)),
        line("used_eur", used + ("" if share is None else f" ({fmt_percent(share, language)})")),
    ]


def dashboard_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return a per-unit table row for the dashboard, its shares in percent (87.3)."""
    shares = {"mean_fulfilment": "mean_fulfilment_pct", "used_share": "used_of_cap_pct"}
    return {
        shares.get(k, k): (None if v is None else round(100 * v, 1)) if k in shares else v
        for k, v in row.items()
    }


def summary_context(
    unit: Unit,
    figures: Figures,
    previous: Figures | None,
    config: Config,
    language: str,
    names: Mapping[tuple[str, str], str],
) -> dict[str, Any]:
    """Return everything the summary templates show about one unit."""
    t = texts(language)
    own = figures[(unit.level, unit.code)]
    before = previous.get((unit.level, unit.code)) if previous else None
    schools = schools_with_pupils(unit, figures, config, names) if unit.level != "school" else []
    children: list[dict[str, Any]] = []
    if unit.level in CHILD_LEVEL:
        level = CHILD_LEVEL[unit.level]
        for code in members(config, unit, level):
            child = figures.get((level, code))
            if child is not None and total_plans(child):
                children.append(unit_row(Unit(level, code, names.get((level, code), code)), child))
    return {
        "level": unit.level,
        "unit": unit,
        "f": own,
        "plans_all": total_plans(own),
        "statuses": _statuses(own, language),
        "subjects": _subjects(own, config.catalogue, language),
        "risks": _risks(own, config.catalogue, language),
        "measures": _measures(own, config.catalogue, language),
        "bins": _bins(own, language),
        "outcomes": [
            {"label": t.gettext(OUTCOME_NAMES[k]), "plans": own["outcomes"][k]} for k in OUTCOMES
        ],
        "changes": _changes(own, before, language),
        "children": _with_bars(children),
        "groups": [{"key": g, "label": t.gettext(GROUP_NAMES[g])} for g in GROUPS],
        "participation": participation(unit, figures, config, names),
        "pupil_schools": len(schools),
        "largest": [
            {"name": name, "pupils": pupils, "line": f"{name} ({fmt_number(pupils, language, 0)})"}
            for name, pupils in schools[:LARGEST]
        ]
        if len(schools) > 1
        else [],
        "threshold": config.programme.fidelity_threshold,
        "monthly_cap": config.programme.monthly_cap_eur,
    }


def participation(
    unit: Unit, figures: Figures, config: Config, names: Mapping[tuple[str, str], str]
) -> dict[str, Any] | None:
    """Return the schools taking part of those invited, and who sent no plans: by name in a
    municipality or region, counted per region for the nation (None for a school)."""
    schools = figures[(unit.level, unit.code)].get("schools")
    if unit.level == "school" or schools is None:
        return None
    missing: list[str] = []
    by_region: list[dict[str, Any]] = []
    if unit.level == "nation":
        for region in config.regions:
            found = figures.get(("region", region.code), {}).get("schools")
            if found and found["without_plans"]:
                by_region.append(
                    {
                        "name": region.name,
                        "without": len(found["without_plans"]),
                        "invited": found["invited"],
                    }
                )
    else:
        missing = sorted(names.get(("school", code), code) for code in schools["without_plans"])
    return {
        "with_plans": schools["with_plans"],
        "invited": schools["invited"],
        "without": len(schools["without_plans"]),
        "missing": missing,
        "by_region": by_region,
    }


def schools_with_pupils(
    unit: Unit, figures: Figures, config: Config, names: Mapping[tuple[str, str], str]
) -> list[tuple[str, int]]:
    """Return the unit's schools with pupils with a plan (name, pupils), most pupils first."""
    found = []
    for code in members(config, unit, "school"):
        pupils = int(figures.get(("school", code), {}).get("pupils", 0))
        if pupils:
            found.append((names.get(("school", code), code), pupils))
    return sorted(found, key=lambda item: (-item[1], item[0]))


def bar_width(share: float | None) -> int:
    """Return a bar's length in per cent of the full width: a share of 0–1 as 0–100, at least 1
    for anything above 0 so it shows."""
    if not share or share <= 0:
        return 0
    return max(1, min(100, round(share * 100)))


def _with_bars(children: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the per-unit rows, most plans first, each with its stacked bar: a part per group
    of statuses, the largest unit's plans the full width.

    `bar_width` is the bar's length in per cent of the full width; each part has its `width`
    in per cent of the full width and its `inner` width in per cent of the bar.
    """
    most = max((row["plans_all"] for row in children), default=0)
    rows = []
    for row in sorted(children, key=lambda r: (-r["plans_all"], r["name"])):
        total = row["plans_all"]
        parts, done, edge, inner = [], 0, 0, 0
        for group in GROUPS:
            done += row[f"plans_{group}"]
            end = round(100 * done / most)  # rounded at the edges: the parts add up
            inner_end = round(100 * done / total) if total else 0
            parts.append({"key": group, "width": end - edge, "inner": inner_end - inner})
            edge, inner = end, inner_end
        rows.append({**row, "bar": parts, "bar_width": edge})
    return rows


def _statuses(f: Mapping[str, Any], language: str) -> list[dict[str, Any]]:
    counts = f["plans_by_status"]
    return [
        {
            "key": str(s),
            "label": texts(language).gettext(STATUS_NAMES[s]),
            "plans": counts.get(str(s), 0),
        }
        for s in PlanStatus
        if counts.get(str(s))
    ]


def _subjects(f: Mapping[str, Any], catalogue: Catalogue, language: str) -> list[dict[str, Any]]:
    rows = [
        {
            "key": key,
            "label": getattr(catalogue.subjects[key], language),
            **value,
            "width": bar_width(value["share"]),
        }
        for key, value in f["subject_consultations"]["subjects"].items()
        if value["pupils"] and key in catalogue.subjects
    ]
    return sorted(rows, key=lambda r: (-r["pupils"], r["label"]))


def _risks(f: Mapping[str, Any], catalogue: Catalogue, language: str) -> list[dict[str, Any]]:
    return [
        {
            "key": key,
            "label": getattr(label, language),
            **f["risk_categories"][key],
            "width": bar_width(f["risk_categories"][key]["share"]),
        }
        for key, label in catalogue.risk_categories.items()
        if key in f["risk_categories"]
    ]


def _measures(f: Mapping[str, Any], catalogue: Catalogue, language: str) -> list[dict[str, Any]]:
    rows = [
        {"key": key, "label": getattr(catalogue.measures[key], language), **value}
        for key, value in f["measures"]["by_measure"].items()
        if key in catalogue.measures
    ]
    return sorted(rows, key=lambda r: (-r["planned"], r["label"]))


def _bins(f: Mapping[str, Any], language: str) -> list[dict[str, Any]]:
    fulfilment = f["fulfilment"]
    evaluated = fulfilment["evaluated"]
    rows = []
    for key, n in fulfilment["bins"].items():
        if key in BINS:
            share = round(n / evaluated, 4) if evaluated else None
            rows.append(
                {
                    "key": key,
                    "label": texts(language).gettext(BIN_NAMES[key]),
                    "plans": n,
                    "share": share,
                    "width": bar_width(share),
                }
            )
    return rows


def _changes(
    f: Mapping[str, Any], before: Mapping[str, Any] | None, language: str
) -> list[dict[str, Any]]:
    compared = compare_figures(dict(f), dict(before) if before is not None else None)
    return [
        {
            "key": key,
            "label": texts(language).gettext(FIGURE_NAMES[key]),
            "now": _shown(values["now"], key, language),
            "before": _shown(values["before"], key, language),
            "change": _change(values, key, language),
        }
        for key, values in compared.items()
    ]


def _shown(value: float | None, key: str, language: str) -> str:
    if value is None:
        return "—"
    return fmt_percent(value, language) if key in RATIOS else fmt_number(value, language, 0)


def _change(values: Mapping[str, float | None], key: str, language: str) -> str:
    """Return the change as people say it: `+170 (+11%)`, `-2 procentpunkti`, `bez izmaiņām`."""
    t = texts(language)
    change, relative = values["change"], values["relative"]
    if change is None:
        return "—"
    if key in RATIOS:
        points = round(change * 100)
        if not points:
            return t.gettext(NO_CHANGE)
        signed = _sign(points) + str(points)
        return t.ngettext(
            "%(num)s percentage point", "%(num)s percentage points", abs(points), num=signed
        )
    if not round(change):
        return t.gettext(NO_CHANGE)
    text = f"{_sign(change)}{fmt_number(change, language, 0)}"
    if relative is not None:
        text += f" ({_sign(relative)}{fmt_percent(relative, language)})"
    return text


def _sign(value: float) -> str:
    return "+" if value > 0 else ""
