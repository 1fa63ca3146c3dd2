"""Evaluation rows: delivered and spent, outcomes, continuation, comments, missing pupils."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pumpurs.columns import EVALUATION_COLUMNS
from pumpurs.generate.files import Style, write_file
from pumpurs.generate.geography import Array, School
from pumpurs.privacy import mask
from pumpurs.semester import SemesterCode

_COMMENTS = {  # by how delivery went (hours or EUR), or by outcome where it went as planned
    "improved": ("", "", "Sekmes uzlabojās", "Regulāri apmeklēja nodarbības"),
    "no_change": ("", "Jāturpina atbalsts", "Regulāri apmeklēja nodarbības"),
    "worse": ("", "Nepieciešams pārskatīt plānu", "Jāturpina atbalsts"),
    "partial_hours": ("", "Apmeklēja neregulāri", "Daļa nodarbību nenotika slimības dēļ"),
    "partial_eur": ("", "Izdevumi mazāki, nekā plānots"),
    "zero_hours": (
        "Skolēns konsultācijas neapmeklēja",
        "Speciālists nebija pieejams",
        "Pasākums netika uzsākts",
    ),
    "zero_eur": ("Kompensācija netika pieprasīta", "Pasākums netika uzsākts"),
    "over_hours": ("", "Papildu nodarbības pirms pārbaudes darba"),
    "over_eur": ("Pieauga izmaksas", "Sadārdzinājās transporta biļetes"),
}
_EVALUATION_KEYS = tuple(column.key for column in EVALUATION_COLUMNS)


def draw_evaluation(
    sheet: dict[str, Array],
    rows: dict[str, Array],
    pupils: dict[str, Array],
    valid: Array,
    semester: SemesterCode,
    rng: np.random.Generator,
) -> dict[str, Array]:
    """Draw what was delivered and spent per measure of the valid plans, and the outcomes."""
    months = 4 if semester.term == 1 else 5
    keep = valid[rows["pupil"]]
    hourly = np.array([h is not None for h in rows["hours"]])[keep]
    planned = np.array(
        [
            h if h is not None else e
            for h, e in zip(rows["hours"][keep], rows["eur"][keep], strict=True)
        ],
        dtype=float,
    )
    category = np.where(
        hourly,
        rng.choice(4, size=len(planned), p=(0.74, 0.09, 0.07, 0.10)),
        rng.choice(4, size=len(planned), p=(0.80, 0.08, 0.08, 0.04)),
    )
    low, high = np.array([0.8, 0.3, 0.0, 1.05])[category], np.array([1.0, 0.8, 0.0, 1.3])[category]
    amount = planned * months * rng.uniform(low, high)
    amount = np.where(hourly, np.round(amount * 2) / 2, np.round(amount, 2))
    pupil = rows["pupil"][keep]
    outcome = _outcomes(category, rng)
    return {
        "school_code": sheet["school_code"][keep],
        "pupil_ref": pupils["ref"][pupil],
        "measure": sheet["measure"][keep],
        "subject": sheet["subject"][keep],
        "delivered_hours": _where(hourly, amount),
        "spent_eur": _where(~hourly, amount),
        "outcome": outcome,
        "continue": _continue(pupil, outcome, rng),
        "comment": _comments(category, hourly, outcome, rng),
        "_pupil": pupil,
        "_category": category,
        "_hourly": hourly,
    }


def _where(mask_: Array, values: Array) -> Array:
    result = values.astype(object)
    result[~mask_] = None
    return result


def _outcomes(category: Array, rng: np.random.Generator) -> Array:
    """Draw an outcome per measure, better where more was delivered."""
    chance = np.array([[0.65, 0.30], [0.35, 0.50], [0.10, 0.60], [0.65, 0.30]])[category]
    draw = rng.random(len(category))
    names = np.array(["improved", "no_change", "worse"], dtype=object)
    return names[np.where(draw < chance[:, 0], 0, np.where(draw < chance.sum(axis=1), 1, 2))]


def _continue(pupil: Array, outcome: Array, rng: np.random.Generator) -> Array:
    """Draw whether each plan continues (likelier without improvement), same on its rows."""
    size = int(pupil.max()) + 1 if len(pupil) else 0
    rows = np.bincount(pupil, minlength=size)
    unimproved = np.bincount(pupil, weights=outcome != "improved", minlength=size)
    chance = 0.2 + 0.5 * unimproved / np.maximum(rows, 1)
    return np.where((rng.random(size) < chance)[pupil], "yes", "no").astype(object)


def _comments(category: Array, hourly: Array, outcome: Array, rng: np.random.Generator) -> Array:
    """Draw a Latvian comment that fits how the measure went (often none)."""
    kinds = ("near", "partial", "zero", "over")
    draw = rng.random(len(category))
    result = np.empty(len(category), dtype=object)
    for i, (c, h, o, x) in enumerate(
        zip(category.tolist(), hourly.tolist(), outcome.tolist(), draw.tolist(), strict=True)
    ):
        key = o if c == 0 else f"{kinds[c]}_{'hours' if h else 'eur'}"
        options = _COMMENTS[key]
        result[i] = options[int(x * len(options))] or None
    return result


def write_evaluation_files(
    inbox: Path,
    semester: SemesterCode,
    evaluation: dict[str, Array],
    pupils: dict[str, Array],
    schools: list[School],
    styles: list[Style],
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """Write one evaluation file per school, a few of them missing some pupils."""
    school = pupils["school"][evaluation["_pupil"]]
    missing = _missing_pupils(evaluation["_pupil"], school, len(schools), rng)
    present = ~np.isin(evaluation["_pupil"], missing)
    bounds = np.searchsorted(school, np.arange(len(schools) + 1))
    entries = []
    for s in range(len(schools)):
        rows = bounds[s] + np.flatnonzero(present[bounds[s] : bounds[s + 1]])
        if not len(rows):
            continue
        records = [[evaluation[key][r] for key in _EVALUATION_KEYS] for r in rows.tolist()]
        entry, _ = write_file(
            inbox / schools[s].code / "evaluation",
            f"izvertejums_{semester.folder}_{schools[s].code}",
            styles[s],
            EVALUATION_COLUMNS,
            records,
            rng,
        )
        absent = sorted({str(pupils["ref"][p]) for p in missing if pupils["school"][p] == s})
        category, hourly = evaluation["_category"][rows], evaluation["_hourly"][rows]
        entries.append(
            {
                "kind": "evaluation",
                "school_code": schools[s].code,
                **entry,
                "pupils": len(set(evaluation["_pupil"][rows].tolist())),
                "missing_pupils": [mask(ref) for ref in absent],
                "zero_delivered": int((category == 2).sum()),
                "over_delivered": int(((category == 3) & hourly).sum()),
                "overspent": int(((category == 3) & ~hourly).sum()),
                "mistakes": [],
            }
        )
    return entries


def _missing_pupils(pupil: Array, school: Array, n_schools: int, rng: np.random.Generator) -> Array:
    """Choose pupils whose evaluation a few schools forgot."""
    if n_schools < 3:
        return np.zeros(0, dtype=int)
    chosen = rng.choice(n_schools, size=max(1, round(0.08 * n_schools)), replace=False)
    missing = []
    for s in np.sort(chosen):
        present = np.unique(pupil[school == s])
        if len(present) >= 2:
            size = min(len(present) - 1, max(1, round(len(present) * rng.uniform(0.1, 0.3))))
            missing.append(rng.choice(present, size=size, replace=False))
    return np.sort(np.concatenate(missing)) if missing else np.zeros(0, dtype=int)
