"""Generate a synthetic semester inbox: config, plan-draft and evaluation files, and a manifest.

The files look like what schools send (CSV in three encodings and two separators, XLSX, English
or Latvian headers, stray spaces, odd case, blank rows and columns) and carry a known share of
injected mistakes. `manifest.json` records the truth, so tests and demos can hold the intake to
it. The same scale and seed give byte-identical files.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
import unicodedata
import zipfile
from dataclasses import asdict, dataclass, replace
from itertools import combinations
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import yaml
from openpyxl import Workbook
from openpyxl.xml.functions import tostring

from pumpurs.columns import EVALUATION_COLUMNS, PLAN_COLUMNS, Column
from pumpurs.config import Catalogue, Programme, Unit
from pumpurs.privacy import PERSONAL_CODE, mask
from pumpurs.semester import SemesterCode

Scale = Literal["small", "city", "national", "national10"]
Array = npt.NDArray[Any]

RULES: tuple[str, ...] = (
    "personal_code",
    "unknown_measure",
    "unknown_subject",
    "missing_subject",
    "missing_hours",
    "missing_provider",
    "hours_over_max",
    "over_cap",
    "grade_out_of_range",
    "missing_goal",
    "missing_risk",
    "unknown_risk",
    "duplicate_row",
    "wrong_school",
)
VARIANTS: tuple[str, ...] = ("csv_utf8", "csv_utf8_bom", "csv_cp1257", "xlsx")
DEFAULT_SEMESTER = SemesterCode(2026, 1)
CONFIG_SOURCE = Path(__file__).resolve().parents[1] / "config"

_FIXED_TIME = dt.datetime(2026, 1, 1)
_ZIP_TIME = (2026, 1, 1, 0, 0, 0)
_REGIONS: tuple[tuple[str, str], ...] = (
    ("kurzeme", "Kurzemes"),
    ("latgale", "Latgales"),
    ("riga", "Rīgas"),
    ("vidzeme", "Vidzemes"),
    ("zemgale", "Zemgales"),
)
_STEMS = (
    "Ozol",
    "Bērz",
    "Liep",
    "Kļav",
    "Egļ",
    "Priež",
    "Ābel",
    "Vītol",
    "Rož",
    "Sil",
    "Akmeņ",
    "Dzērv",
    "Zīl",
    "Mež",
    "Saul",
    "Vēj",
    "Līč",
    "Gaiļ",
    "Ērgļ",
    "Lāč",
    "Vilk",
    "Dzirn",
    "Pūpol",
    "Rudz",
    "Lazd",
    "Kārkl",
)
_SUFFIXES = (  # nominative and genitive
    ("pils", "pils"),
    ("ciems", "ciema"),
    ("kalns", "kalna"),
    ("muiža", "muižas"),
    ("upe", "upes"),
    ("ezers", "ezera"),
    ("krasts", "krasta"),
    ("leja", "lejas"),
    ("sala", "salas"),
    ("gals", "gala"),
    ("nieki", "nieku"),
    ("mala", "malas"),
)
_NAMED = (
    "Saules",
    "Centra",
    "Raiņa",
    "Ezermalas",
    "Meža",
    "Dzirnavu",
    "Ziemeļu",
    "Pārupes",
    "Krasta",
    "Kalna",
    "Zvaigžņu",
    "Ābeļu",
    "Rīta",
    "Lejas",
    "Priedaines",
    "Aspazijas",
    "Blaumaņa",
    "Dārza",
    "Upmalas",
    "Liepu",
    "Ozolu",
    "Bērzu",
    "Jaunā",
    "Vecpilsētas",
)
_VOCATIONAL = ("Valsts", "Tehnoloģiju un tūrisma", "Būvniecības", "Lauksaimniecības", "Meža")
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
_SUBJECT_SHARE = {
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
_MEDIAN = {  # hours or EUR per month
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
_RISKS = ("learning", "economic", "family", "social_health")
_RISK_PRIMARY = (0.70, 0.23, 0.045, 0.025)
_RISK_EXTRA = (0.167, 0.026, 0.005, 0.0)
_GRADES = {  # school kind: first grade and weights
    "pamatskola": (5, (0.18, 0.20, 0.22, 0.22, 0.18)),
    "vidusskola": (5, (0.12, 0.14, 0.16, 0.17, 0.16, 0.09, 0.08, 0.08)),
    "gimnazija": (7, (0.15, 0.20, 0.20, 0.15, 0.15, 0.15)),
    "vocational": (10, (0.45, 0.33, 0.22)),
}
_KIND_SIZE = {"pamatskola": 0.7, "vidusskola": 1.0, "gimnazija": 0.6, "vocational": 1.4}
_UNKNOWN = {
    "measure": ("tutoring", "summer_camp", "ekskursija", "mentors"),
    "subject": ("astronomy", "programmēšana", "dance", "ķīniešu valoda"),
    "risk": ("bullying", "truancy", "behaviour", "migration"),
}
_NEEDS = {  # rules that need a row with a value in this column
    "unknown_subject": "subject",
    "missing_subject": "subject",
    "missing_hours": "hours_per_month",
    "hours_over_max": "hours_per_month",
    "missing_provider": "provider_ref",
    "over_cap": "eur_per_month",
}
_ALPHABET = np.array(list("23456789ABCDEFGHJKLMNPQRSTUVWXYZ"))
_PLAN_KEYS = tuple(column.key for column in PLAN_COLUMNS)
_EVALUATION_KEYS = tuple(column.key for column in EVALUATION_COLUMNS)


@dataclass(frozen=True)
class GenerateResult:
    """What one run wrote: counts over the whole inbox."""

    schools: int
    municipalities: int
    regions: int
    pupils: int
    plans: int
    rows: int
    files: int
    mistakes: int
    valid_plans: int
    evaluation_rows: int

    def as_dict(self) -> dict[str, int]:
        """Return the counts as a plain dict."""
        return asdict(self)


@dataclass(frozen=True)
class _ScaleSpec:
    municipalities: tuple[int, ...]  # per region, in _REGIONS order
    cities: tuple[int, ...]  # how many of those are cities (valstspilsētas)
    schools: int
    vocational: int
    plans: int
    pinned: tuple[int, int, int] | None = None  # schools, plans, providers of the first city


SCALES: dict[str, _ScaleSpec] = {
    "small": _ScaleSpec((2, 1, 1, 1, 1), (1, 0, 1, 0, 0), 9, 1, 120),
    "city": _ScaleSpec((1, 1, 1, 1, 1), (1, 0, 1, 0, 0), 15, 1, 636, pinned=(9, 496, 247)),
    "national": _ScaleSpec((18, 21, 20, 21, 14), (2, 2, 3, 1, 2), 600, 33, 25_000),
    # Ten times the nation, for the benchmark's scaling check only.
    "national10": _ScaleSpec((18, 21, 20, 21, 14), (2, 2, 3, 1, 2), 6_000, 90, 250_000),
}


@dataclass(frozen=True)
class _Municipality:
    code: str
    name: str
    genitive: str
    region: str
    city: bool


@dataclass(frozen=True)
class _School:
    code: str
    name: str
    municipality: str
    kind: str
    email: str
    plans: int = 0
    providers: int = 0


@dataclass(frozen=True)
class _Mistake:
    uid: int
    column: str | None
    rule: str
    value: str


@dataclass(frozen=True)
class _Style:
    variant: str
    header: str  # "en" (column keys) or "lv" (template labels)


@dataclass(frozen=True)
class _Format:
    extension: str
    encoding: str | None
    delimiter: str | None
    decimal: str | None
    newline: str


_FORMATS = {
    "csv_utf8": _Format(".csv", "utf-8", ",", ".", "\n"),
    "csv_utf8_bom": _Format(".csv", "utf-8-sig", ";", ",", "\r\n"),
    "csv_cp1257": _Format(".csv", "cp1257", ";", ",", "\r\n"),
    "xlsx": _Format(".xlsx", None, None, None, ""),
}


def generate(
    scale: Scale,
    seed: int,
    out: Path,
    semester: SemesterCode | None = None,
    mistake_share: float = 0.04,
    overwrite: bool = False,
) -> GenerateResult:
    """Write config, inbox files and manifest.json for one scale and seed; return the counts."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose one of {sorted(SCALES)}")
    if not 0 <= mistake_share <= 0.5:
        raise ValueError("mistake_share must be between 0 and 0.5")
    semester = semester or DEFAULT_SEMESTER
    inbox = out / "inbox" / semester.folder
    _prepare(out, inbox, overwrite)
    rng = np.random.default_rng(seed)
    programme, catalogue = _read_rules()
    municipalities, schools = _geography(SCALES[scale], rng)
    _write_config(out / "config", municipalities, schools)
    pupils = _pupils(schools, rng)
    rows = _measures(pupils, schools, catalogue, programme, rng)
    sheet = _sheet(rows, pupils, schools, rng)
    injector = _Injector(sheet, pupils, schools, programme, rng)
    mistakes = injector.inject(round(mistake_share * len(pupils["ref"])))
    valid = ~injector.invalid
    styles = [_style(variant, rng) for variant in _variants(len(schools), rng)]
    _late_parts(pupils, schools, rng)
    files = _write_plan_files(
        inbox, semester, injector.result(), pupils, schools, styles, mistakes, rng
    )
    evaluation = _evaluation(sheet, rows, pupils, valid, semester, rng)
    files += _write_evaluation_files(inbox, semester, evaluation, pupils, schools, styles, rng)
    result = GenerateResult(
        schools=len(schools),
        municipalities=len(municipalities),
        regions=len(_REGIONS),
        pupils=len(pupils["ref"]),
        plans=len(pupils["ref"]),
        rows=sum(f["rows"] for f in files if f["kind"] == "plans"),
        files=len(files),
        mistakes=int(injector.invalid.sum()),
        valid_plans=int(valid.sum()),
        evaluation_rows=sum(f["rows"] for f in files if f["kind"] == "evaluation"),
    )
    manifest = {
        "generator": {
            "scale": scale,
            "seed": seed,
            "semester": semester.code,
            "mistake_share": mistake_share,
        },
        "counts": result.as_dict(),
        "valid": _valid_totals(rows, pupils, valid),
        "invalid_plans": injector.invalid_plans(),
        "files": files,
    }
    _write_manifest(out / "manifest.json", manifest)
    return result


def _prepare(out: Path, inbox: Path, overwrite: bool) -> None:
    """Refuse to mix with an earlier run, or clear what an earlier run wrote when asked to."""
    owned = (inbox, out / "config", out / "manifest.json")
    if not overwrite and any(path.exists() for path in owned):
        raise FileExistsError(f"{out} already holds generated data; pass overwrite=True")
    for path in owned:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    inbox.mkdir(parents=True)


def _read_rules() -> tuple[Programme, Catalogue]:
    """Read the programme rules and the catalogue from the repository's default config."""
    programme = Programme.model_validate(_yaml(CONFIG_SOURCE / "programme.yaml"))
    catalogue = Catalogue.model_validate(_yaml(CONFIG_SOURCE / "catalogue.yaml"))
    unknown = (
        (set(_SUBJECT_SHARE) - set(catalogue.subjects))
        | (set(_MEDIAN) - set(catalogue.measures))
        | (set(_RISKS) - set(catalogue.risk_categories))
    )
    if unknown:
        raise ValueError(f"the catalogue lacks keys the generator uses: {sorted(unknown)}")
    return programme, catalogue


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# --- geography --------------------------------------------------------------------------------


def _geography(
    spec: _ScaleSpec, rng: np.random.Generator
) -> tuple[list[_Municipality], list[_School]]:
    """Draw the municipalities and schools of a scale, with plans and staff per school."""
    municipalities = _municipalities(spec, rng)
    counts = _school_counts(spec, municipalities, rng)
    vocational = _vocational_counts(spec, counts, rng)
    used: set[str] = set()
    schools = [
        school
        for m, count, voc in zip(municipalities, counts, vocational, strict=True)
        for school in _municipality_schools(
            m, int(count), int(voc), _abbreviation(m.code, used), rng
        )
    ]
    return municipalities, _with_plans(spec, schools, rng)


def _municipalities(spec: _ScaleSpec, rng: np.random.Generator) -> list[_Municipality]:
    """Draw distinct Latvian-looking municipality names, cities first in each region."""
    combos = [(stem, suffix) for stem in _STEMS for suffix in _SUFFIXES]
    picks = rng.choice(len(combos), size=sum(spec.municipalities), replace=False)
    result, index = [], 0
    for (region, _), count, cities in zip(_REGIONS, spec.municipalities, spec.cities, strict=True):
        for position in range(count):
            stem, (nominative, genitive) = combos[picks[index]]
            index += 1
            city = position < cities
            name = f"{stem}{genitive} {'valstspilsēta' if city else 'novads'}"
            code = _fold(stem + nominative).lower()
            result.append(_Municipality(code, name, stem + genitive, region, city))
    return result


def _school_counts(
    spec: _ScaleSpec, municipalities: list[_Municipality], rng: np.random.Generator
) -> Array:
    """Split the schools over municipalities, cities getting more."""
    weights = np.array([6.0 if m.city else 1.0 for m in municipalities])
    weights *= rng.lognormal(0.0, 0.4, size=len(weights))
    if spec.pinned is None:
        return _allocate(spec.schools, weights, 1)
    rest = _allocate(spec.schools - spec.pinned[0], weights[1:], 1)
    return np.concatenate([[spec.pinned[0]], rest])


def _vocational_counts(spec: _ScaleSpec, counts: Array, rng: np.random.Generator) -> Array:
    """Choose the municipalities that have a vocational school (one each)."""
    weights = (counts - 1).astype(float)
    if np.count_nonzero(weights) < spec.vocational:
        weights = counts.astype(float)
    chosen = rng.choice(len(counts), size=spec.vocational, replace=False, p=weights / weights.sum())
    result = np.zeros(len(counts), dtype=int)
    result[chosen] = 1
    return result


def _municipality_schools(
    m: _Municipality, count: int, vocational: int, abbreviation: str, rng: np.random.Generator
) -> list[_School]:
    """Name the schools of one municipality and give them codes and coordinator addresses."""
    named: list[tuple[str, str, str]] = [  # name without the town, kind, code suffix
        (f"{_VOCATIONAL[int(i)]} tehnikums", "vocational", f"T{n + 1:02d}")
        for n, i in enumerate(rng.permutation(len(_VOCATIONAL))[:vocational])
    ]
    general = count - vocational
    if general >= (3 if m.city else 4):
        named.append(("valsts ģimnāzija", "gimnazija", "G1"))
        general -= 1
    numbered = general // 2 if m.city else 0
    numbered += max(0, general - numbered - len(_NAMED))
    numbers = np.sort(rng.choice(np.arange(1, 2 * numbered + 3), size=numbered, replace=False))
    named += [(f"{k}. vidusskola", "vidusskola", f"{k:03d}") for k in numbers]
    first = max(101, 2 * numbered + 3)  # named schools' codes follow the numbered ones'
    for n, i in enumerate(rng.permutation(len(_NAMED))[: general - numbered]):
        kind = "pamatskola" if rng.random() < 0.5 else "vidusskola"
        named.append((f"{_NAMED[int(i)]} {kind}", kind, f"{first + n:03d}"))
    return [
        _School(
            code=f"LV-{abbreviation}-{suffix}",
            name=f"{m.genitive} {rest}",
            municipality=m.code,
            kind=kind,
            email=f"iaps@{_slug(rest)}.{m.code}.example",
        )
        for rest, kind, suffix in named
    ]


def _with_plans(
    spec: _ScaleSpec, schools: list[_School], rng: np.random.Generator
) -> list[_School]:
    """Give each school its number of plans and of teachers and specialists."""
    weights = rng.lognormal(0.0, 0.45, size=len(schools))
    weights *= np.array([_KIND_SIZE[s.kind] for s in schools])
    if spec.pinned is None:
        plans = _allocate(spec.plans, weights, 3)
        providers = np.maximum(2, np.round(plans * 0.5)).astype(int)
    else:
        count, city_plans, city_providers = spec.pinned
        plans = np.concatenate(
            [
                _allocate(city_plans, weights[:count], 3),
                _allocate(spec.plans - city_plans, weights[count:], 3),
            ]
        )
        providers = np.concatenate(
            [
                _allocate(city_providers, plans[:count].astype(float), 2),
                np.maximum(2, np.round(plans[count:] * 0.5)).astype(int),
            ]
        )
    return [
        replace(s, plans=int(p), providers=int(k))
        for s, p, k in zip(schools, plans, providers, strict=True)
    ]


def _allocate(total: int, weights: Array, minimum: int) -> Array:
    """Split total into integers proportional to weights, each at least minimum."""
    rest = total - minimum * len(weights)
    raw = weights / weights.sum() * rest
    parts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - parts), kind="stable")
    parts[order[: rest - int(parts.sum())]] += 1
    result: Array = parts + minimum
    return result


def _abbreviation(code: str, used: set[str]) -> str:
    """Return an unused three-letter abbreviation of a municipality code."""
    letters = re.sub(r"[^a-z]", "", code)
    for i, j in combinations(range(1, len(letters)), 2):
        candidate = (letters[0] + letters[i] + letters[j]).upper()
        if candidate not in used:
            used.add(candidate)
            return candidate
    raise ValueError(f"no free abbreviation for {code!r}")


def _fold(text: str) -> str:
    """Return the text without diacritics (ā → a, ķ → k)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", _fold(text).lower()).strip("-")


# --- config files -----------------------------------------------------------------------------


def _write_config(
    folder: Path, municipalities: list[_Municipality], schools: list[_School]
) -> None:
    """Copy the programme and catalogue and write the generated regions and schools."""
    folder.mkdir(parents=True)
    for name in ("programme.yaml", "catalogue.yaml"):
        shutil.copyfile(CONFIG_SOURCE / name, folder / name)
    (folder / "regions.yaml").write_text(_regions_yaml(municipalities), encoding="utf-8")
    (folder / "schools.yaml").write_text(_schools_yaml(schools), encoding="utf-8")


def _regions_yaml(municipalities: list[_Municipality]) -> str:
    lines = [
        "# Planning regions (generated by pumpurs.generate; .example addresses only).",
        "regions:",
    ]
    escalation = _person("IKVD projekta vadītājs", "pmp@ikvd.example")
    for code, genitive in _REGIONS:
        coordinator = _person(
            f"{genitive} reģionālais koordinators", f"koordinators@{code}.example"
        )
        lines += [
            f"  - code: {_q(code)}",
            f"    name: {_q(genitive + ' reģions')}",
            f"    coordinator: {coordinator}",
            f"    escalation: {escalation}",
            "    municipalities:",
        ]
        for m in (m for m in municipalities if m.region == code):
            local = _person(f"{m.genitive} koordinators", f"koordinators@{m.code}.example")
            extra = f", coordinator: {local}" if m.city else ""
            lines.append(f"      - {{code: {_q(m.code)}, name: {_q(m.name)}{extra}}}")
    return "\n".join(lines) + "\n"


def _schools_yaml(schools: list[_School]) -> str:
    lines = ["# Participating schools (generated by pumpurs.generate).", "schools:"]
    for s in schools:
        vocational = ", vocational: true" if s.kind == "vocational" else ""
        lines.append(
            f"  - {{code: {_q(s.code)}, name: {_q(s.name)}, "
            f"municipality: {_q(s.municipality)}{vocational}, "
            f"coordinator: {_person('Skolas koordinators', s.email)}}}"
        )
    return "\n".join(lines) + "\n"


def _person(name: str, email: str) -> str:
    return f"{{name: {_q(name)}, email: {_q(email)}}}"


def _q(text: str) -> str:
    """Return text as a double-quoted YAML scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


# --- pupils and measures ----------------------------------------------------------------------


def _pupils(schools: list[_School], rng: np.random.Generator) -> dict[str, Array]:
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
    member = rng.random((n, len(_RISKS))) < np.array(_RISK_EXTRA)
    member[np.arange(n), primary] = True
    return member


def _measures(
    pupils: dict[str, Array],
    schools: list[_School],
    catalogue: Catalogue,
    programme: Programme,
    rng: np.random.Generator,
) -> dict[str, Array]:
    """Draw each pupil's measures, one row each, with hours, EUR and provider."""
    n = len(pupils["ref"])
    subjects = list(_SUBJECT_SHARE)
    taken = np.zeros((n, len(subjects)), dtype=bool)
    for j, share in enumerate(_SUBJECT_SHARE.values()):
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
    schools: list[_School],
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
    median = np.array([_MEDIAN[m] for m in rows["measure"]], dtype=float)
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
    schools: list[_School],
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


def _sheet(
    rows: dict[str, Array],
    pupils: dict[str, Array],
    schools: list[_School],
    rng: np.random.Generator,
) -> dict[str, Array]:
    """Return the plan rows as written: plan columns repeated, with harmless variety."""
    p = rows["pupil"]
    codes = np.array([s.code for s in schools], dtype=object)
    risk_text = np.array(
        [
            ";".join(r for r, on in zip(_RISKS, flags, strict=True) if on)
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


# --- injected mistakes ------------------------------------------------------------------------


class _Injector:
    """Break a share of plans, one rule each, and remember where every defect is."""

    def __init__(
        self,
        sheet: dict[str, Array],
        pupils: dict[str, Array],
        schools: list[_School],
        programme: Programme,
        rng: np.random.Generator,
    ) -> None:
        self.sheet = {key: values.copy() for key, values in sheet.items()}
        self.pupils, self.schools, self.programme, self.rng = pupils, schools, programme, rng
        n = len(pupils["ref"])
        self.bounds = np.searchsorted(sheet["_pupil"], np.arange(n + 1))
        self.invalid = np.zeros(n, dtype=bool)
        self.rules: dict[int, str] = {}
        self.copies: list[int] = []
        self.mistakes: list[_Mistake] = []

    def inject(self, count: int) -> list[_Mistake]:
        """Break count plans, cycling through the rules, and return the defects."""
        rules = [r for r in RULES if r != "wrong_school" or len(self.schools) > 1]
        order = self.rng.permutation(len(rules))
        candidates = self.rng.permutation(len(self.invalid)).tolist()
        for k in range(count):
            rule = rules[int(order[k % len(rules)])]
            pupil = next((p for p in candidates if self._eligible(rule, p)), None)
            if pupil is None:
                continue
            candidates.remove(pupil)
            self.invalid[pupil], self.rules[pupil] = True, rule
            getattr(self, f"_{rule}")(pupil)
        return self.mistakes

    def result(self) -> dict[str, Array]:
        """Return the sheet with the duplicated rows added and each row's uid and order."""
        n = len(self.sheet["_pupil"])
        source = np.array(self.copies, dtype=int)
        sheet = {
            key: np.concatenate([values, values[source]]) for key, values in self.sheet.items()
        }
        sheet["_uid"] = np.arange(n + len(source))
        sheet["_order"] = np.concatenate([np.arange(n) * 2, source * 2 + 1])
        return sheet

    def invalid_plans(self) -> list[dict[str, str]]:
        """Return the broken plans: school folder, pupil reference as written (masked), rule."""
        return [
            {
                "school_code": self.schools[int(self.pupils["school"][p])].code,
                "pupil_ref": mask(str(self.sheet["pupil_ref"][self._rows(p)[0]])),
                "rule": rule,
            }
            for p, rule in sorted(self.rules.items())
        ]

    def _rows(self, pupil: int) -> range:
        return range(int(self.bounds[pupil]), int(self.bounds[pupil + 1]))

    def _rows_with(self, pupil: int, column: str) -> list[int]:
        return [r for r in self._rows(pupil) if self.sheet[column][r] is not None]

    def _eligible(self, rule: str, pupil: int) -> bool:
        column = _NEEDS.get(rule)
        return column is None or bool(self._rows_with(pupil, column))

    def _set(self, rows: list[int] | range, column: str | None, rule: str, value: Any) -> None:
        for r in rows:
            if column is not None:
                self.sheet[column][r] = value
            self.mistakes.append(_Mistake(r, column, rule, _text(value, ".")))

    def _pick(self, pupil: int, column: str) -> list[int]:
        rows = self._rows_with(pupil, column)
        return [rows[int(self.rng.integers(len(rows)))]]

    def _personal_code(self, pupil: int) -> None:
        if self.rng.random() < 0.3:
            code = f"32{self.rng.integers(10**4):04d}-{self.rng.integers(10**5):05d}"
        else:
            day, month, year = (
                int(self.rng.integers(low, high)) for low, high in ((1, 29), (1, 13), (8, 17))
            )
            code = f"{day:02d}{month:02d}{year:02d}-2{self.rng.integers(10**4):04d}"
        self._set(self._rows(pupil), "pupil_ref", "personal_code", code)

    def _unknown_measure(self, pupil: int) -> None:
        row = self._rows(pupil)[int(self.rng.integers(len(self._rows(pupil))))]
        self.sheet["subject"][row] = None
        self._set([row], "measure", "unknown_measure", self._choice(_UNKNOWN["measure"]))

    def _unknown_subject(self, pupil: int) -> None:
        self._set(
            self._pick(pupil, "subject"),
            "subject",
            "unknown_subject",
            self._choice(_UNKNOWN["subject"]),
        )

    def _missing_subject(self, pupil: int) -> None:
        self._set(self._pick(pupil, "subject"), "subject", "missing_subject", None)

    def _missing_hours(self, pupil: int) -> None:
        self._set(self._pick(pupil, "hours_per_month"), "hours_per_month", "missing_hours", None)

    def _missing_provider(self, pupil: int) -> None:
        self._set(self._pick(pupil, "provider_ref"), "provider_ref", "missing_provider", None)

    def _hours_over_max(self, pupil: int) -> None:
        value = self.programme.max_hours_per_month + self._choice((2, 4, 10, 20))
        self._set(
            self._pick(pupil, "hours_per_month"), "hours_per_month", "hours_over_max", float(value)
        )

    def _over_cap(self, pupil: int) -> None:
        [row] = self._pick(pupil, "eur_per_month")
        others = sum(self.sheet["eur_per_month"][r] or 0.0 for r in self._rows(pupil) if r != row)
        value = self.programme.monthly_cap_eur - others + self._choice((10, 50, 120))
        self._set([row], "eur_per_month", "over_cap", float(value))

    def _grade_out_of_range(self, pupil: int) -> None:
        low, high = self.programme.grade_min, self.programme.grade_max
        values = [g for g in (low - 1, low - 2, high + 1) if g > 0]
        self._set(self._rows(pupil), "grade", "grade_out_of_range", self._choice(values))

    def _missing_goal(self, pupil: int) -> None:
        self._set(self._rows(pupil), "goal", "missing_goal", None)

    def _missing_risk(self, pupil: int) -> None:
        self._set(self._rows(pupil), "risk_categories", "missing_risk", None)

    def _unknown_risk(self, pupil: int) -> None:
        current = self.sheet["risk_categories"][self._rows(pupil)[0]]
        value = f"{current};{self._choice(_UNKNOWN['risk'])}"
        self._set(self._rows(pupil), "risk_categories", "unknown_risk", value)

    def _duplicate_row(self, pupil: int) -> None:
        row = self._rows(pupil)[int(self.rng.integers(len(self._rows(pupil))))]
        uid = len(self.sheet["_pupil"]) + len(self.copies)
        self.copies.append(row)
        self.mistakes.append(_Mistake(uid, None, "duplicate_row", ""))

    def _wrong_school(self, pupil: int) -> None:
        own = int(self.pupils["school"][pupil])
        other = (own + 1 + int(self.rng.integers(len(self.schools) - 1))) % len(self.schools)
        self._set(self._rows(pupil), "school_code", "wrong_school", self.schools[other].code)

    def _choice(self, values: tuple[Any, ...] | list[Any]) -> Any:
        return values[int(self.rng.integers(len(values)))]


# --- files ------------------------------------------------------------------------------------


def _variants(n: int, rng: np.random.Generator) -> list[str]:
    """Choose each school's file variant, every variant at least once when there are enough."""
    chosen = rng.choice(len(VARIANTS), size=n, p=(0.35, 0.25, 0.2, 0.2))
    first = rng.permutation(n)[: len(VARIANTS)]
    chosen[first] = np.arange(len(first))
    return [VARIANTS[int(i)] for i in chosen]


def _style(variant: str, rng: np.random.Generator) -> _Style:
    """Choose the header language that goes with a variant."""
    header = {"csv_utf8": "en", "csv_cp1257": "lv"}.get(variant)
    return _Style(variant, header or ("lv" if rng.random() < 0.5 else "en"))


def _late_parts(pupils: dict[str, Array], schools: list[_School], rng: np.random.Generator) -> None:
    """Move some pupils of a few schools into a late second file."""
    eligible = [s for s, school in enumerate(schools) if school.plans >= 8]
    if not eligible:
        return
    count = max(1, round(0.06 * len(schools)))
    for s in np.sort(rng.choice(eligible, size=min(count, len(eligible)), replace=False)):
        where = np.flatnonzero(pupils["school"] == s)
        size = max(2, round(len(where) * rng.uniform(0.1, 0.25)))
        pupils["part"][rng.choice(where, size=size, replace=False)] = 1


def _write_plan_files(
    inbox: Path,
    semester: SemesterCode,
    sheet: dict[str, Array],
    pupils: dict[str, Array],
    schools: list[_School],
    styles: list[_Style],
    mistakes: list[_Mistake],
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """Write each school's plan files and return their manifest entries."""
    school, part = pupils["school"][sheet["_pupil"]], pupils["part"][sheet["_pupil"]]
    order = np.lexsort((sheet["_order"], part, school))
    by_uid: dict[int, list[_Mistake]] = {}
    for mistake in mistakes:
        by_uid.setdefault(mistake.uid, []).append(mistake)
    entries = []
    for s, p, rows in _groups(order, school, part):
        suffix = "_papildinajums" if p else ""
        name = f"IAP_{semester.folder}_{schools[s].code}{suffix}"
        records = [[sheet[key][r] for key in _PLAN_KEYS] for r in rows.tolist()]
        entry, numbers = _write_file(
            inbox / schools[s].code / "plans", name, styles[s], PLAN_COLUMNS, records, rng
        )
        entry["mistakes"] = [
            {"row": numbers[i], "column": m.column, "rule": m.rule, "value": mask(m.value)}
            for i, r in enumerate(rows.tolist())
            for m in by_uid.get(int(sheet["_uid"][r]), [])
        ]
        entry["pupils"] = len(set(sheet["_pupil"][rows].tolist()))
        entries.append({"kind": "plans", "school_code": schools[s].code, **entry})
    return entries


def _groups(order: Array, school: Array, part: Array) -> list[tuple[int, int, Array]]:
    """Split row indices, already ordered, into runs of the same school and part."""
    keys = school[order] * 2 + part[order]
    cuts = np.flatnonzero(np.diff(keys)) + 1
    return [(int(school[run[0]]), int(part[run[0]]), run) for run in np.split(order, cuts)]


def _write_file(
    folder: Path,
    stem: str,
    style: _Style,
    columns: tuple[Column, ...],
    records: list[list[Any]],
    rng: np.random.Generator,
) -> tuple[dict[str, Any], list[int]]:
    """Lay out and write one file; return its description and each record's row number."""
    fmt = _FORMATS[style.variant]
    header: list[Any] = [c.key if style.header == "en" else c.lv for c in columns]
    blank_rows: list[int] = []
    if len(records) >= 4 and rng.random() < 0.25:
        at = int(rng.integers(1, len(records)))
        records = [*records[:at], [None] * len(columns), *records[at:]]
        blank_rows.append(at + 2)
    numbers = [i + 2 for i in range(len(records)) if i + 2 not in blank_rows]
    blank_column = int(rng.integers(1, len(columns) + 1)) if rng.random() < 0.12 else None
    if blank_column is not None:
        header.insert(blank_column, None)
        for record in records:
            record.insert(blank_column, None)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (stem + fmt.extension)
    if fmt.encoding is None:
        _write_xlsx(path, header, records)
    else:
        _write_csv(path, header, records, fmt)
    entry = {
        "path": "/".join(path.parts[-4:]),
        "format": fmt.extension[1:],
        "variant": style.variant,
        "encoding": fmt.encoding,
        "bom": fmt.encoding == "utf-8-sig",
        "delimiter": fmt.delimiter,
        "decimal": fmt.decimal,
        "header_language": style.header,
        "rows": len(numbers),
        "blank_rows": blank_rows,
        "blank_column": None if blank_column is None else blank_column + 1,
    }
    return entry, numbers


def _write_csv(path: Path, header: list[Any], records: list[list[Any]], fmt: _Format) -> None:
    """Write a CSV file in the format's encoding, separator and decimal mark."""
    assert fmt.encoding is not None and fmt.delimiter is not None and fmt.decimal is not None
    with path.open("w", encoding=fmt.encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=fmt.delimiter, lineterminator=fmt.newline)
        writer.writerow(["" if h is None else h for h in header])
        writer.writerows([[_text(v, fmt.decimal) for v in record] for record in records])


def _text(value: Any, decimal: str) -> str:
    """Return a cell as CSV text: numbers without needless decimals, in the decimal mark."""
    if value is None:
        return ""
    if isinstance(value, float):
        text = str(int(value)) if value.is_integer() else f"{value:.2f}".rstrip("0")
        return text.replace(".", decimal)
    return str(value)


def _write_xlsx(path: Path, header: list[Any], records: list[list[Any]]) -> None:
    """Write the first sheet of an XLSX workbook whose bytes depend only on the content."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("IAP")
    sheet.append(header)
    for record in records:
        sheet.append([_cell(value) for value in record])
    workbook.properties.creator = "pumpurs.generate"
    workbook.properties.created = _FIXED_TIME
    buffer = io.BytesIO()
    workbook.save(buffer)
    workbook.properties.modified = _FIXED_TIME  # save() stamps the current time; undo that
    core = tostring(workbook.properties.to_tree())
    path.write_bytes(_stable_zip(buffer.getvalue(), {"docProps/core.xml": core}))


def _cell(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _stable_zip(data: bytes, replacements: dict[str, bytes]) -> bytes:
    """Rewrite a zip archive with fixed entry timestamps and attributes."""
    target = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        for name in source.namelist():
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type, info.create_system, info.external_attr = (
                zipfile.ZIP_DEFLATED,
                3,
                0o644 << 16,
            )
            archive.writestr(info, replacements.get(name, source.read(name)))
    return target.getvalue()


# --- evaluation -------------------------------------------------------------------------------


def _evaluation(
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


def _write_evaluation_files(
    inbox: Path,
    semester: SemesterCode,
    evaluation: dict[str, Array],
    pupils: dict[str, Array],
    schools: list[_School],
    styles: list[_Style],
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
        entry, _ = _write_file(
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


# --- manifest ---------------------------------------------------------------------------------


def _valid_totals(rows: dict[str, Array], pupils: dict[str, Array], valid: Array) -> dict[str, Any]:
    """Return the semester's figures over the valid plans, as the summaries will quote them."""
    keep = valid[rows["pupil"]]
    plans = int(valid.sum())
    consult = keep & (rows["measure"] == "subject_consultation")
    subject_pupils = {
        subject: len(set(rows["pupil"][consult & (rows["subject"] == subject)].tolist()))
        for subject in _SUBJECT_SHARE
    }
    providers = {p for p in rows["provider"][keep].tolist() if p is not None}
    return {
        "plans": plans,
        "pupils": plans,
        "rows": int(keep.sum()),
        "providers": len(providers),
        "share_mathematics": round(subject_pupils["mathematics"] / max(plans, 1), 4),
        "share_latvian": round(subject_pupils["latvian"] / max(plans, 1), 4),
        "subject_pupils": subject_pupils,
        "risk_pupils": {risk: int(pupils["risk"][valid, j].sum()) for j, risk in enumerate(_RISKS)},
        "measure_rows": {m: int((keep & (rows["measure"] == m)).sum()) for m in _MEDIAN},
    }


def _write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest, refusing if any personal-code shape slipped through unmasked."""
    text = json.dumps(manifest, ensure_ascii=False, indent=1) + "\n"
    if PERSONAL_CODE.search(text):
        raise RuntimeError("manifest would contain an unmasked personal code")
    path.write_text(text, encoding="utf-8")
