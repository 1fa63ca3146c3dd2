"""Tests for the synthetic inbox generator: layout, determinism, proportions and mistakes."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from pumpurs.columns import EVALUATION_COLUMNS, PLAN_COLUMNS, header_aliases, normalise_header
from pumpurs.config import Config, Unit, load_config
from pumpurs.generate import RULES, GenerateResult, generate
from pumpurs.privacy import PERSONAL_CODE, looks_like_personal_code, mask
from pumpurs.semester import SemesterCode

FOLDER = "2026-2027-1"
DIACRITICS = set("āčēģīķļņšūžĀČĒĢĪĶĻŅŠŪŽ")
Row = dict[str, str]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateResult]:
    out = tmp_path_factory.mktemp("small")
    return out, generate("small", 1, out)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a small inbox with enough mistakes that every rule occurs."""
    out = tmp_path_factory.mktemp("faulty")
    generate("small", 5, out, mistake_share=0.25)
    return out


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    generate("city", 2, out)
    return out


@pytest.fixture(scope="module")
def national(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the national inbox (a few seconds to write and read back)."""
    out = tmp_path_factory.mktemp("national")
    generate("national", 3, out)
    return out


def manifest(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return data


def read_table(out: Path, entry: dict[str, Any]) -> dict[int, Row]:
    """Return a written file's data rows by spreadsheet row number, keyed by column key."""
    path = out / "inbox" / entry["path"]
    if entry["format"] == "xlsx":
        workbook = openpyxl.load_workbook(path, read_only=True)
        cells = [
            ["" if v is None else str(v) for v in row]
            for row in workbook.worksheets[0].iter_rows(values_only=True)
        ]
        workbook.close()
    else:
        frame = pd.read_csv(
            path,
            sep=entry["delimiter"],
            encoding=entry["encoding"],
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
        )
        cells = frame.to_numpy().tolist()
    aliases = header_aliases(PLAN_COLUMNS + EVALUATION_COLUMNS)
    keys = [aliases.get(normalise_header(h)) if h else None for h in cells[0]]
    table = {}
    for number, values in enumerate(cells[1:], start=2):
        values = values + [""] * (len(keys) - len(values))
        if any(v.strip() for v in values):
            table[number] = {k: v for k, v in zip(keys, values, strict=True) if k}
    return table


def key(text: str) -> str:
    return text.strip().lower()


def number(text: str) -> float:
    return float(text.strip().replace(",", "."))


def row_problems(row: Row, config: Config, school: str) -> set[str]:
    """Return the rules a single plan row breaks."""
    catalogue, programme = config.catalogue, config.programme
    problems = set()
    measure, subject = key(row["measure"]), key(row["subject"])
    unit = catalogue.measures[measure].unit if measure in catalogue.measures else None
    checks = {
        "personal_code": looks_like_personal_code(row["pupil_ref"]),
        "unknown_measure": unit is None,
        "unknown_subject": bool(subject) and subject not in catalogue.subjects,
        "missing_subject": measure == "subject_consultation" and not subject,
        "missing_hours": unit == Unit.HOURS and not row["hours_per_month"].strip(),
        "missing_provider": unit == Unit.HOURS and not row["provider_ref"].strip(),
        "hours_over_max": unit == Unit.HOURS
        and bool(row["hours_per_month"].strip())
        and number(row["hours_per_month"]) > programme.max_hours_per_month,
        "grade_out_of_range": not programme.grade_min <= int(row["grade"]) <= programme.grade_max,
        "missing_goal": not row["goal"].strip(),
        "missing_risk": not row["risk_categories"].strip(),
        "unknown_risk": any(
            key(r) not in catalogue.risk_categories
            for r in row["risk_categories"].split(";")
            if r.strip()
        ),
        "wrong_school": row["school_code"].strip() != school,
    }
    problems = {rule for rule, broken in checks.items() if broken}
    if "wrong_school" in problems:
        assert config.school(row["school_code"].strip()) is not None
    if subject and measure != "subject_consultation" and unit is not None:
        problems.add("subject_on_other_measure")
    return problems


def file_problems(table: dict[int, Row], config: Config) -> set[tuple[int, str]]:
    """Return the whole-file defects: rows repeating an earlier row, pupils over the EUR cap."""
    found, seen = set(), set()
    totals: dict[str, float] = defaultdict(float)
    for number_, row in table.items():
        frozen = tuple(sorted(row.items()))
        if frozen in seen:
            found.add((number_, "duplicate_row"))
        seen.add(frozen)
        if row["eur_per_month"].strip():
            totals[row["pupil_ref"].strip()] += number(row["eur_per_month"])
    for number_, row in table.items():
        over = totals[row["pupil_ref"].strip()] > config.programme.monthly_cap_eur
        if over and row["eur_per_month"].strip():
            found.add((number_, "over_cap"))
    return found


def plan_files(out: Path) -> list[dict[str, Any]]:
    return [f for f in manifest(out)["files"] if f["kind"] == "plans"]


def sha256_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_small_writes_loadable_config_and_matching_counts(
    small: tuple[Path, GenerateResult],
) -> None:
    out, result = small
    config = load_config(out / "config")
    data = manifest(out)
    assert [r.code for r in config.regions] == ["kurzeme", "latgale", "riga", "vidzeme", "zemgale"]
    assert (result.regions, result.municipalities, result.schools) == (5, 6, 9)
    coordinators = [m.coordinator for m in config.municipalities().values()]
    assert all(c is not None and c.email.endswith(".example") for c in coordinators)
    assert result.plans == result.pupils == 120
    assert all(p.email.endswith(".example") for s in config.schools for p in [s.coordinator])
    assert any(set(s.name) & DIACRITICS for s in config.schools)
    assert data["counts"] == result.as_dict()
    written = sorted(
        p.relative_to(out / "inbox").as_posix() for p in (out / "inbox").rglob("*") if p.is_file()
    )
    assert written == sorted(f["path"] for f in data["files"]) and len(written) == result.files
    assert result.rows == sum(f["rows"] for f in plan_files(out))
    for entry in data["files"]:
        folder, school, kind, _ = entry["path"].split("/")
        assert (folder, school, kind) == (FOLDER, entry["school_code"], entry["kind"])
        assert config.school(school) is not None
        assert len(read_table(out, entry)) == entry["rows"]
    assert {f["school_code"] for f in plan_files(out)} == {s.code for s in config.schools}


def test_other_semester_goes_to_its_folder(tmp_path: Path) -> None:
    generate("small", 1, tmp_path, semester=SemesterCode.parse("2026/2027-2"))
    assert [p.name for p in (tmp_path / "inbox").iterdir()] == ["2026-2027-2"]


def test_refuses_to_mix_with_an_earlier_run(small: tuple[Path, GenerateResult]) -> None:
    with pytest.raises(FileExistsError):
        generate("small", 1, small[0])


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        generate("small", seed, tmp_path / name)
    first, second, other = (sha256_tree(tmp_path / name) for name in "abc")
    assert first == second
    assert any(path.endswith(".xlsx") for path in first)
    inbox = [path for path in first if path.startswith("inbox")]
    assert all(other.get(path) != first[path] for path in inbox)
    assert other["manifest.json"] != first["manifest.json"]


def recompute_valid(out: Path) -> dict[str, Any]:
    """Recount the valid plans from the written files, using only the manifest's mistake rows."""
    tables = [(entry, read_table(out, entry)) for entry in plan_files(out)]
    invalid = {
        (entry["school_code"], table[m["row"]]["pupil_ref"].strip())
        for entry, table in tables
        for m in entry["mistakes"]
    }
    pupils: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for entry, table in tables:
        for row in table.values():
            plan = (entry["school_code"], row["pupil_ref"].strip())
            if plan not in invalid:
                pupils[plan].append(row)
    risks: dict[str, int] = defaultdict(int)
    for rows in pupils.values():
        for risk in {key(r) for r in rows[0]["risk_categories"].split(";")}:
            risks[risk] += 1

    def share(subject: str) -> float:
        having = [
            p
            for p, rows in pupils.items()
            if any(
                key(r["measure"]) == "subject_consultation" and key(r["subject"]) == subject
                for r in rows
            )
        ]
        return round(len(having) / len(pupils), 4)

    return {
        "plans": len(pupils),
        "rows": sum(len(rows) for rows in pupils.values()),
        "share_mathematics": share("mathematics"),
        "share_latvian": share("latvian"),
        "risk_pupils": dict(risks),
        "providers": len(
            {
                r["provider_ref"].strip()
                for rows in pupils.values()
                for r in rows
                if r["provider_ref"].strip()
            }
        ),
    }


@pytest.mark.parametrize("fixture", ["city", pytest.param("national", marks=pytest.mark.slow)])
def test_proportions_match_the_sources(fixture: str, request: pytest.FixtureRequest) -> None:
    out: Path = request.getfixturevalue(fixture)
    valid = manifest(out)["valid"]
    mine = recompute_valid(out)
    assert {k: valid[k] for k in mine} == mine
    assert abs(valid["share_mathematics"] - 0.37) <= 0.04
    assert abs(valid["share_latvian"] - 0.27) <= 0.04
    risk = valid["risk_pupils"]
    assert risk["learning"] > risk["economic"] > risk["family"] > risk["social_health"] > 0


def test_city_has_one_city_of_nine_schools(city: Path) -> None:
    config = load_config(city / "config")
    data = manifest(city)
    by_municipality: dict[str, list[str]] = defaultdict(list)
    for school in config.schools:
        by_municipality[school.municipality].append(school.code)
    city_code = next(m for m, schools in by_municipality.items() if len(schools) == 9)
    city_files = [f for f in plan_files(city) if f["school_code"] in by_municipality[city_code]]
    assert sum(f["pupils"] for f in city_files) == 496
    providers = {
        r["provider_ref"].strip()
        for f in city_files
        for r in read_table(city, f).values()
        if r["provider_ref"].strip()
    }
    assert 230 <= len(providers) <= 247
    assert all(by_municipality[m.code] for r in config.regions for m in r.municipalities)
    assert data["counts"]["valid_plans"] == data["valid"]["plans"]


@pytest.mark.parametrize("fixture", ["faulty", "city"])
def test_every_mistake_is_where_the_manifest_says(
    fixture: str,
    request: pytest.FixtureRequest,
) -> None:
    out: Path = request.getfixturevalue(fixture)
    config = load_config(out / "config")
    rules = set()
    for entry in plan_files(out):
        table = read_table(out, entry)
        found = {
            (n, rule)
            for n, row in table.items()
            for rule in row_problems(row, config, entry["school_code"])
        }
        found |= file_problems(table, config)
        recorded = {(m["row"], m["rule"]) for m in entry["mistakes"]}
        over_cap_pupils = {table[n]["pupil_ref"] for n, rule in recorded if rule == "over_cap"}
        assert recorded - found == set(), entry["path"]
        unexplained = {
            (n, rule)
            for n, rule in found - recorded
            if not (rule == "over_cap" and table[n]["pupil_ref"] in over_cap_pupils)
        }
        assert unexplained == set(), entry["path"]
        for m in entry["mistakes"]:
            rules.add(m["rule"])
            if m["column"] is not None:
                written = table[m["row"]][m["column"]].strip()
                assert mask(written).replace(",", ".") == m["value"].replace(",", ".")
    if fixture == "faulty":
        assert rules == set(RULES)


def test_manifest_never_shows_a_personal_code(faulty: Path) -> None:
    text = (faulty / "manifest.json").read_text(encoding="utf-8")
    assert PERSONAL_CODE.search(text) is None
    masked = [
        m["value"]
        for f in plan_files(faulty)
        for m in f["mistakes"]
        if m["rule"] == "personal_code"
    ]
    assert masked and all("*" in value for value in masked)


def test_valid_totals_exclude_the_broken_plans(faulty: Path) -> None:
    data = manifest(faulty)
    broken = len(data["invalid_plans"])
    assert broken == data["counts"]["mistakes"] > 0
    assert data["valid"]["plans"] == data["counts"]["plans"] - broken
    assert recompute_valid(faulty)["plans"] == data["valid"]["plans"]


def test_file_variety_and_encodings(small: tuple[Path, GenerateResult]) -> None:
    out, _ = small
    entries = manifest(out)["files"]
    assert {f["variant"] for f in entries} == {"csv_utf8", "csv_utf8_bom", "csv_cp1257", "xlsx"}
    for entry in entries:
        raw = (out / "inbox" / entry["path"]).read_bytes()
        if entry["variant"] == "csv_cp1257":
            text = raw.decode("cp1257")
            assert set(text) & DIACRITICS and entry["header_language"] == "lv"
            assert text.startswith(
                PLAN_COLUMNS[0].lv if entry["kind"] == "plans" else EVALUATION_COLUMNS[0].lv
            )
        elif entry["variant"] == "csv_utf8_bom":
            assert raw.startswith(b"\xef\xbb\xbf") and entry["delimiter"] == ";"
        elif entry["variant"] == "csv_utf8":
            assert not raw.startswith(b"\xef\xbb\xbf")
            raw.decode("utf-8")
        else:
            assert zipfile.is_zipfile(out / "inbox" / entry["path"])


def test_decimal_comma_where_the_manifest_says(small: tuple[Path, GenerateResult]) -> None:
    out, _ = small
    for entry in plan_files(out):
        if entry["format"] != "csv":
            continue
        hours = [r["hours_per_month"] for r in read_table(out, entry).values()]
        fractional = [h for h in hours if "," in h or "." in h]
        assert fractional
        assert all(("," in h) == (entry["decimal"] == ",") for h in fractional)


def test_evaluation_covers_valid_plans_only(faulty: Path) -> None:
    out = faulty
    data = manifest(out)
    invalid = {(p["school_code"], p["pupil_ref"]) for p in data["invalid_plans"]}
    planned = {
        (f["school_code"], mask(r["pupil_ref"].strip()))
        for f in plan_files(out)
        for r in read_table(out, f).values()
    }
    evaluated: set[tuple[str, str]] = set()
    missing: set[tuple[str, str]] = set()
    for entry in (f for f in data["files"] if f["kind"] == "evaluation"):
        for row in read_table(out, entry).values():
            assert key(row["outcome"]) in {"improved", "no_change", "worse"}
            assert key(row["continue"]) in {"yes", "no"}
            assert bool(row["delivered_hours"].strip()) != bool(row["spent_eur"].strip())
            evaluated.add((entry["school_code"], row["pupil_ref"].strip()))
        missing |= {(entry["school_code"], ref) for ref in entry["missing_pupils"]}
    assert missing and not missing & evaluated
    assert evaluated | missing == planned - invalid
    assert (
        sum(f["rows"] for f in data["files"] if f["kind"] == "evaluation")
        == (data["counts"]["evaluation_rows"])
    )


@pytest.mark.slow
def test_national_shape(national: Path) -> None:
    config = load_config(national / "config")
    counts = manifest(national)["counts"]
    assert (len(config.regions), counts["municipalities"], counts["schools"]) == (5, 94, 600)
    assert sum(s.vocational for s in config.schools) == 33
    assert counts["plans"] == 25_000 and 70_000 <= counts["rows"] <= 80_000
    assert len({s.name for s in config.schools}) == 600
    municipalities = list(config.municipalities().values())
    with_coordinator = [m for m in municipalities if m.coordinator is not None]
    assert 0.7 * 94 < len(with_coordinator) < 94  # most municipalities have one, not all
    assert all(m.coordinator for m in municipalities if "valstspilsēta" in m.name)


def test_harmless_variety_within_files(city: Path) -> None:
    entries = plan_files(city)
    assert any(f["blank_rows"] for f in entries) and any(f["blank_column"] for f in entries)
    files: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        files[entry["school_code"]].append(Path(entry["path"]).stem)
    twice = [names for names in files.values() if len(names) == 2]
    assert twice and all(late == main + "_papildinajums" for main, late in twice)
    refs: dict[str, list[str]] = defaultdict(list)
    measures, padded = set(), 0
    for entry in entries:
        table = read_table(city, entry)
        refs[entry["school_code"]] += sorted({r["pupil_ref"] for r in table.values()})
        measures |= {r["measure"] for r in table.values()}
        padded += sum(r["goal"] != r["goal"].strip() for r in table.values())
    assert all(len(found) == len(set(found)) for found in refs.values())
    assert {m for m in measures if m != m.strip().lower()} and padded
