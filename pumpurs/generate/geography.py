"""Geography: municipality and school names, plans and staff per school, the config files."""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from dataclasses import dataclass, replace
from itertools import combinations
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Scale = Literal["small", "city", "national", "national10"]
Array = npt.NDArray[Any]

CONFIG_SOURCE = Path(__file__).resolve().parents[2] / "config"

REGIONS: tuple[tuple[str, str], ...] = (
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
_KIND_SIZE = {"pamatskola": 0.7, "vidusskola": 1.0, "gimnazija": 0.6, "vocational": 1.4}


@dataclass(frozen=True)
class _ScaleSpec:
    municipalities: tuple[int, ...]  # per region, in REGIONS order
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
class School:
    code: str
    name: str
    municipality: str
    kind: str
    email: str
    plans: int = 0
    providers: int = 0


def geography(
    spec: _ScaleSpec, rng: np.random.Generator
) -> tuple[list[_Municipality], list[School]]:
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
    for (region, _), count, cities in zip(REGIONS, spec.municipalities, spec.cities, strict=True):
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
) -> list[School]:
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
        School(
            code=f"LV-{abbreviation}-{suffix}",
            name=f"{m.genitive} {rest}",
            municipality=m.code,
            kind=kind,
            email=f"iaps@{_slug(rest)}.{m.code}.example",
        )
        for rest, kind, suffix in named
    ]


def _with_plans(spec: _ScaleSpec, schools: list[School], rng: np.random.Generator) -> list[School]:
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


def write_config(folder: Path, municipalities: list[_Municipality], schools: list[School]) -> None:
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
    for code, genitive in REGIONS:
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
        for index, m in enumerate(municipalities):
            if m.region != code:
                continue
            local = _person(f"{m.genitive} koordinators", f"koordinators@{m.code}.example")
            extra = f", coordinator: {local}" if _has_coordinator(m, index) else ""
            lines.append(f"      - {{code: {_q(m.code)}, name: {_q(m.name)}{extra}}}")
    return "\n".join(lines) + "\n"


def _has_coordinator(municipality: _Municipality, index: int) -> bool:
    """Return whether a municipality has a coordinator: every city, three novadi of four.

    Decided by position, not drawn, so the rest of a world stays as the seed made it.
    """
    return municipality.city or index % 4 != 3


def _schools_yaml(schools: list[School]) -> str:
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
