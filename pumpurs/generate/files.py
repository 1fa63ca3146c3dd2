"""Inbox files: variants and styles, CSV and XLSX written byte-stable, and the manifest."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from openpyxl import Workbook
from openpyxl.xml.functions import tostring

from pumpurs.columns import PLAN_COLUMNS, Column
from pumpurs.generate.geography import Array, School
from pumpurs.generate.rows import MEDIAN, RISKS, SUBJECT_SHARE, cell_text
from pumpurs.privacy import PERSONAL_CODE, mask
from pumpurs.semester import SemesterCode

if TYPE_CHECKING:
    from pumpurs.generate.mistakes import Mistake

VARIANTS: tuple[str, ...] = ("csv_utf8", "csv_utf8_bom", "csv_cp1257", "xlsx")

_FIXED_TIME = dt.datetime(2026, 1, 1)
_ZIP_TIME = (2026, 1, 1, 0, 0, 0)
_PLAN_KEYS = tuple(column.key for column in PLAN_COLUMNS)


@dataclass(frozen=True)
class Style:
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


def variants(n: int, rng: np.random.Generator) -> list[str]:
    """Choose each school's file variant, every variant at least once when there are enough."""
    chosen = rng.choice(len(VARIANTS), size=n, p=(0.35, 0.25, 0.2, 0.2))
    first = rng.permutation(n)[: len(VARIANTS)]
    chosen[first] = np.arange(len(first))
    return [VARIANTS[int(i)] for i in chosen]


def choose_style(variant: str, rng: np.random.Generator) -> Style:
    """Choose the header language that goes with a variant."""
    header = {"csv_utf8": "en", "csv_cp1257": "lv"}.get(variant)
    return Style(variant, header or ("lv" if rng.random() < 0.5 else "en"))


def late_parts(pupils: dict[str, Array], schools: list[School], rng: np.random.Generator) -> None:
    """Move some pupils of a few schools into a late second file."""
    eligible = [s for s, school in enumerate(schools) if school.plans >= 8]
    if not eligible:
        return
    count = max(1, round(0.06 * len(schools)))
    for s in np.sort(rng.choice(eligible, size=min(count, len(eligible)), replace=False)):
        where = np.flatnonzero(pupils["school"] == s)
        size = max(2, round(len(where) * rng.uniform(0.1, 0.25)))
        pupils["part"][rng.choice(where, size=size, replace=False)] = 1


def write_plan_files(
    inbox: Path,
    semester: SemesterCode,
    sheet: dict[str, Array],
    pupils: dict[str, Array],
    schools: list[School],
    styles: list[Style],
    mistakes: list[Mistake],
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    """Write each school's plan files and return their manifest entries."""
    school, part = pupils["school"][sheet["_pupil"]], pupils["part"][sheet["_pupil"]]
    order = np.lexsort((sheet["_order"], part, school))
    by_uid: dict[int, list[Mistake]] = {}
    for mistake in mistakes:
        by_uid.setdefault(mistake.uid, []).append(mistake)
    entries = []
    for s, p, rows in _groups(order, school, part):
        suffix = "_papildinajums" if p else ""
        name = f"IAP_{semester.folder}_{schools[s].code}{suffix}"
        records = [[sheet[key][r] for key in _PLAN_KEYS] for r in rows.tolist()]
        entry, numbers = write_file(
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


def write_file(
    folder: Path,
    stem: str,
    style: Style,
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
        writer.writerows([[cell_text(v, fmt.decimal) for v in record] for record in records])


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


# --- manifest ---------------------------------------------------------------------------------


def valid_totals(rows: dict[str, Array], pupils: dict[str, Array], valid: Array) -> dict[str, Any]:
    """Return the semester's figures over the valid plans, as the summaries will quote them."""
    keep = valid[rows["pupil"]]
    plans = int(valid.sum())
    consult = keep & (rows["measure"] == "subject_consultation")
    subject_pupils = {
        subject: len(set(rows["pupil"][consult & (rows["subject"] == subject)].tolist()))
        for subject in SUBJECT_SHARE
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
        "risk_pupils": {risk: int(pupils["risk"][valid, j].sum()) for j, risk in enumerate(RISKS)},
        "measure_rows": {m: int((keep & (rows["measure"] == m)).sum()) for m in MEDIAN},
    }


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest, refusing if any personal-code shape slipped through unmasked."""
    text = json.dumps(manifest, ensure_ascii=False, indent=1) + "\n"
    if PERSONAL_CODE.search(text):
        raise RuntimeError("manifest would contain an unmasked personal code")
    path.write_text(text, encoding="utf-8")
