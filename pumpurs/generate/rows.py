"""Plan rows: pupils (references, risks, goals), measures, amounts, providers, the sheet."""

from __future__ import annotations

from typing import Any

import numpy as np

from pumpurs.config import Catalogue, Programme, Unit
from pumpurs.generate.geography import Array, School

_GOALS = (
    "Uzlabot sekmes matemātikā",
    "Uzlabot latviešu valodas prasmes",
    "Samazināt neattaisnotos kavējumus",
    "Regulāri apmeklēt skolu",
    "Sekmīgi pabeigt mācību gadu",
    "Nokārtot valsts pārbaudes darbus",
    "Uzlabot mācīšanās motivāciju",
    "Iekļauties klases kolektīvā",
    "Mazināt uzvedības problēmas stundās",
    "Turpināt mācības nākamajā klasē",
    "Apgūt mācību vielu, kas nokavēta slimības dēļ",
    "Uzlabot sekmes, samazināt kavējumus",
    "Nodrošināt ēdināšanu un nokļūšanu skolā",
    "Uzlabot saskarsmes prasmes ar vienaudžiem",
)
SUBJECT_SHARE = {
    "mathematics": 0.37,
    "latvian": 0.27,
    "english": 0.14,
    "russian": 0.03,
    "natural_sciences": 0.03,
    "physics": 0.04,
    "chemistry": 0.03,
    "biology": 0.03,
    "geography": 0.02,
    "history": 0.03,
    "social_sciences": 0.02,
    "sport": 0.01,
}
_OTHER_WEIGHT = {
    "teacher_assistant": 0.20,
    "psychologist": 0.15,
    "social_pedagogue": 0.15,
    "speech_therapist": 0.06,
    "special_educator": 0.07,
    "transport": 0.10,
    "meals": 0.12,
    "dormitory": 0.02,
    "personal_items": 0.06,
    "study_materials": 0.07,
}
MEDIAN = {  # hours or EUR per month
    "subject_consultation": 4,
    "teacher_assistant": 8,
    "psychologist": 2,
    "social_pedagogue": 2,
    "speech_therapist": 3,
    "special_educator": 4,
    "transport": 35,
    "meals": 45,
    "dormitory": 70,
    "personal_items": 50,
    "study_materials": 30,
}
_OTHER_COUNT_P = (0.12, 0.27, 0.30, 0.18, 0.09, 0.04)
RISKS = ("learning", "economic", "family", "social_health")
_RISK_PRIMARY = (0.70, 0.23, 0.045, 0.025)
_RISK_EXTRA = (0.167, 0.026, 0.005, 0.0)
_GRADES = {  # school kind: first grade and weights
    "pamatskola": (5, (0.18, 0.20, 0.22, 0.22, 0.18)),
    "vidusskola": (5, (0.12, 0.14, 0.16, 0.17, 0.16, 0.09, 0.08, 0.08)),
    "gimnazija": (7, (0.15, 0.20, 0.20, 0.15, 0.15, 0.15)),
    "vocational": (10, (0.45, 0.33, 0.22)),
}
_ALPHABET = np.array(list("23456789ABCDEFGHJKLMNPQRSTUVWXYZ"))


def draw_pupils(schools: list[School], rng: np.random.Generator) -> dict[str, Array]:
    """Draw one plan per pupil: school, reference, grade, risks and goal, sorted per school."""
    school = np.repeat(np.arange(len(schools)), [s.plans for s in schools])
    n = len(school)
    kinds = np.array([s.kind for s in schools])[school]
    grade = np.zeros(n, dtype=int)
    for kind, (first, weights) in _GRADES.items():
        where = np.flatnonzero(kinds == kind)
        grade[where] = first + rng.choice(len(weights), size=len(where), p=weights)
    ref = np.array(_refs(rng, n, "P-", 6), dtype=object)
    risk = _risks(n, rng)
    goal = np.array(_GOALS, dtype=object)[rng.integers(len(_GOALS), size=n)]
    order = np.lexsort((ref.astype(str), grade, school))
    return {
        "school": school[order],
        "ref": ref[order],
        "grade": grade[order],
        "risk": risk[order],
        "goal": goal[order],
        "part": np.zeros(n, dtype=int),
    }


def _refs(rng: np.random.Generator, count: int, prefix: str, length: int) -> list[str]:
    """Draw distinct pseudonymous references such as P-7F3K2Q (never personal-code shaped)."""
    numbers = rng.choice(32**length, size=count, replace=False)
    digits = (numbers[:, None] // 32 ** np.arange(length - 1, -1, -1)) % 32
    return [prefix + "".join(row) for row in _ALPHABET[digits].tolist()]


def _risks(n: int, rng: np.random.Generator) -> Array:
    """Give each pupil one main risk category by quota, and sometimes a second one."""
    bounds = np.round(np.cumsum(_RISK_PRIMARY) * n).astype(int)
    primary = np.searchsorted(bounds, rng.permutation(n), side="right")
    member = rng.random((n, len(RISKS))) < np.array(_RISK_EXTRA)
    member[np.arange(n), primary] = True
    return member


def measures(
    pupils: dict[str, Array],
    schools: list[School],
    catalogue: Catalogue,
    programme: Programme,
    rng: np.random.Generator,
) -> dict[str, Array]:
    """Draw each pupil's measures, one row each, with hours, EUR and provider."""
    n = len(pupils["ref"])
    subjects = list(SUBJECT_SHARE)
    taken = np.zeros((n, len(subjects)), dtype=bool)
    for j, share in enumerate(SUBJECT_SHARE.values()):
        taken[rng.choice(n, size=round(share * n), replace=False), j] = True
    others = _other_measures(pupils, schools, np.asarray(taken.any(axis=1)), catalogue, rng)
    sp, sj = np.nonzero(taken)
    op, oj = np.nonzero(others)
    names = np.array(list(_OTHER_WEIGHT), dtype=object)
    pupil = np.concatenate([sp, op])
    rows = {
        "pupil": pupil,
        "measure": np.concatenate(
            [np.full(len(sp), "subject_consultation", dtype=object), names[oj]]
        ),
        "subject": np.concatenate(
            [np.array(subjects, dtype=object)[sj], np.full(len(op), "", dtype=object)]
        ),
    }
    order = np.lexsort((np.concatenate([sj, len(subjects) + oj]), pupil))
    rows = {key: values[order] for key, values in rows.items()}
    hourly = np.array([catalogue.measures[m].unit == Unit.HOURS for m in rows["measure"]])
    rows["hours"], rows["eur"] = _amounts(rows, hourly, programme, rng)
    rows["provider"] = _providers(rows, hourly, pupils, schools, rng)
    return rows


def _other_measures(
    pupils: dict[str, Array],
    schools: list[School],
    has_subject: Array,
    catalogue: Catalogue,
    rng: np.random.Generator,
) -> Array:
    """Choose each pupil's measures other than subject consultations, without repeats."""
    n = len(has_subject)
    count = rng.choice(len(_OTHER_COUNT_P), size=n, p=_OTHER_COUNT_P)
    count[~has_subject & (count == 0)] = 1
    names = list(_OTHER_WEIGHT)
    weights = np.tile(np.array(list(_OTHER_WEIGHT.values())), (n, 1))
    eur = np.array([catalogue.measures[m].unit == Unit.EUR for m in names])
    weights[:, eur] *= np.where(pupils["risk"][:, 1], 3.0, 0.6)[:, None]
    vocational = np.array([s.kind == "vocational" for s in schools])[pupils["school"]]
    weights[vocational, names.index("dormitory")] *= 6.0
    keys = np.log(weights) + rng.gumbel(size=weights.shape)  # Gumbel top-k: weighted, no repeats
    rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
    return rank < count[:, None]


def _amounts(
    rows: dict[str, Array], hourly: Array, programme: Programme, rng: np.random.Generator
) -> tuple[Array, Array]:
    """Draw hours per month for hour-based rows and EUR per month within the cap for the rest."""
    median = np.array([MEDIAN[m] for m in rows["measure"]], dtype=float)
    draw = median * rng.lognormal(0.0, np.where(hourly, 0.5, 0.35))
    hours = np.clip(np.round(draw * 2) / 2, 0.5, programme.max_hours_per_month)
    eur = np.where(hourly, 0.0, np.maximum(1.0, np.round(draw * 2) / 2))
    total = np.bincount(rows["pupil"], weights=eur)[rows["pupil"]]
    over = total > programme.monthly_cap_eur
    eur[over] = np.floor(eur[over] * programme.monthly_cap_eur / total[over] * 2) / 2
    hours_out = np.where(hourly, hours, np.nan).astype(object)
    eur_out = np.where(hourly, np.nan, eur).astype(object)
    hours_out[~hourly], eur_out[hourly] = None, None
    return hours_out, eur_out


def _providers(
    rows: dict[str, Array],
    hourly: Array,
    pupils: dict[str, Array],
    schools: list[School],
    rng: np.random.Generator,
) -> Array:
    """Assign staff to hour-based rows, using every member of a school's pool where possible."""
    pool = _refs(rng, sum(s.providers for s in schools), "T-", 5)
    starts = np.concatenate([[0], np.cumsum([s.providers for s in schools])])
    provider = np.full(len(hourly), None, dtype=object)
    where = np.flatnonzero(hourly)
    school = pupils["school"][rows["pupil"][where]]
    bounds = np.searchsorted(school, np.arange(len(schools) + 1))
    for s, (low, high) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        size, need = schools[s].providers, int(high - low)
        if need <= size:
            picks = rng.choice(size, size=need, replace=False)
        else:
            picks = rng.permutation(
                np.concatenate([np.arange(size), rng.integers(size, size=need - size)])
            )
        provider[where[low:high]] = [pool[starts[s] + int(p)] for p in picks]
    return provider


# --- the written sheet ------------------------------------------------------------------------


def written_sheet(
    rows: dict[str, Array],
    pupils: dict[str, Array],
    schools: list[School],
    rng: np.random.Generator,
) -> dict[str, Array]:
    """Return the plan rows as written: plan columns repeated, with harmless variety."""
    p = rows["pupil"]
    codes = np.array([s.code for s in schools], dtype=object)
    risk_text = np.array(
        [
            ";".join(r for r, on in zip(RISKS, flags, strict=True) if on)
            for flags in pupils["risk"].tolist()
        ],
        dtype=object,
    )
    return {
        "school_code": codes[pupils["school"][p]],
        "pupil_ref": pupils["ref"][p],
        "grade": pupils["grade"][p].astype(object),
        "risk_categories": _vary(risk_text, rng, title=0.03)[p],
        "goal": _vary(pupils["goal"], rng, pad=0.05)[p],
        "measure": _vary(rows["measure"], rng, title=0.05, upper=0.02, pad=0.05),
        "subject": _vary(rows["subject"], rng, title=0.06, upper=0.01, pad=0.03),
        "provider_ref": _vary(rows["provider"], rng, pad=0.03),
        "hours_per_month": rows["hours"].copy(),
        "eur_per_month": rows["eur"].copy(),
        "_pupil": p,
    }


def _vary(
    values: Array,
    rng: np.random.Generator,
    title: float = 0.0,
    upper: float = 0.0,
    pad: float = 0.0,
) -> Array:
    """Return the texts with some capitalised, some upper case and some padded with spaces."""
    case, space = rng.random(len(values)), rng.random(len(values))
    result = values.copy()
    for i, text in enumerate(values.tolist()):
        if not text:
            result[i] = None
            continue
        if case[i] < title:
            text = text.capitalize()
        elif case[i] < title + upper:
            text = text.upper()
        if space[i] < pad / 2:
            text = f" {text} "
        elif space[i] < pad:
            text = f"{text} "
        result[i] = text
    return result


def cell_text(value: Any, decimal: str) -> str:
    """Return a cell as CSV text: numbers without needless decimals, in the decimal mark."""
    if value is None:
        return ""
    if isinstance(value, float):
        text = str(int(value)) if value.is_integer() else f"{value:.2f}".rstrip("0")
        return text.replace(".", decimal)
    return str(value)
