"""Turn a sheet's rows of text cells into a frame of the known columns, keyed by row number."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from pumpurs.columns import Column, header_aliases, normalise_header

PLAN_REQUIRED = ("school_code", "pupil_ref", "grade", "risk_categories", "goal", "measure")
EVALUATION_REQUIRED = ("school_code", "pupil_ref", "measure", "outcome", "continue")
REQUIRED_KEYS = frozenset(PLAN_REQUIRED + EVALUATION_REQUIRED)
"""Columns a file must have in its header; the others may be left out when never needed."""


@dataclass(frozen=True)
class Table:
    """The data rows of a sheet, or why there are none (a `read.FILE_PROBLEMS` key)."""

    frame: pd.DataFrame | None
    problem: str | None = None
    missing: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()


def required_keys(columns: Sequence[Column]) -> tuple[str, ...]:
    """Return the keys among these columns that every file must have."""
    return tuple(column.key for column in columns if column.key in REQUIRED_KEYS)


def build_table(
    rows: Sequence[Sequence[str]], columns: Sequence[Column], required: Sequence[str]
) -> Table:
    """Find the header, map it to column keys, and return the data rows as a text frame."""
    # Plain lists until the frame is built: a school's file has a few hundred rows, and one
    # pass in Python beats a pandas string operation per column for each of hundreds of files.
    grid = [[cell.strip() for cell in row] for row in rows]
    filled = [any(row) for row in grid]
    if not any(filled):
        return Table(None, "intake.file.empty")
    header_at = filled.index(True)
    keys, ignored = _header_keys(grid[header_at], columns)
    missing = tuple(key for key in required if key not in keys.values())
    if missing:
        return Table(None, "intake.file.missing_columns", missing=missing, ignored=ignored)
    positions = list(keys)
    numbers = [n for n in range(header_at + 1, len(grid)) if filled[n]]
    cells = [[_at(grid[n], p) for p in positions] for n in numbers]
    body = pd.DataFrame(cells, columns=list(keys.values()), index=numbers, dtype="str")
    body = _drop_notes_row(body, columns)
    body = body.loc[(body.to_numpy(dtype=object) != "").any(axis=1)]
    if body.empty:
        return Table(None, "intake.file.no_rows", ignored=ignored)
    frame = body.assign(row_number=(body.index + 1).astype("int64")).reset_index(drop=True)
    return Table(frame, ignored=ignored)


def _at(row: Sequence[str], position: int) -> str:
    return row[position] if position < len(row) else ""


def _header_keys(
    header: list[str], columns: Sequence[Column]
) -> tuple[dict[int, str], tuple[str, ...]]:
    """Return the grid position of each known column and the headers that are not known."""
    aliases = header_aliases(tuple(columns))
    keys: dict[int, str] = {}
    ignored: list[str] = []
    for position, cell in enumerate(header):
        key = aliases.get(normalise_header(cell))
        if key is not None and key not in keys.values():
            keys[position] = key
        elif cell:
            ignored.append(cell)
    return keys, tuple(ignored)


def _drop_notes_row(body: pd.DataFrame, columns: Sequence[Column]) -> pd.DataFrame:
    """Drop the template's notes row: the first row whose filled cells are all column notes."""
    if body.empty:
        return body
    first = body.iloc[0]
    notes = {c.key: c.note_pattern for c in columns}
    filled = {key: normalise_header(value) for key, value in first.items() if value}
    if filled and all(notes[str(key)].fullmatch(value) for key, value in filled.items()):
        return body.iloc[1:]
    return body
