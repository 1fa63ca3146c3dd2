"""Read a school's plan or evaluation file (CSV or XLSX) into a frame of text, or say why not."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from python_calamine import CalamineSheet, CalamineWorkbook, PasswordError, SheetVisibleEnum

from pumpurs.columns import EVALUATION_COLUMNS, PLAN_COLUMNS, Column, header_aliases
from pumpurs.i18n.catalogue import N_, texts
from pumpurs.intake.normalise import number
from pumpurs.intake.table import Table, build_table, required_keys
from pumpurs.intake.text import decode, split_records
from pumpurs.privacy import mask

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_ENCRYPTED_MARKS = (b"EncryptedPackage", "EncryptedPackage".encode("utf-16-le"))
_XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xltx"})
_MB = 1024 * 1024
Cell = int | float | str | bool | dt.time | dt.date | dt.datetime | dt.timedelta
FILE_PROBLEMS = {  # what can be wrong with a whole file, and what the school should do
    "intake.file.empty": N_(
        "The file “%(file)s” is empty. Put the table with its header row and data in it and submit "
        "it again."
    ),
    "intake.file.too_large": N_(
        "The file “%(file)s” is %(size_mb)s MB, but at most %(limit_mb)s MB is allowed. Delete "
        "extra sheets and pictures or split the data into several files and submit them again."
    ),
    "intake.file.unreadable": N_(
        "The file “%(file)s” cannot be read as a table. Open it in a spreadsheet program, save it "
        "as XLSX (Excel workbook) or CSV (UTF-8) and submit it again."
    ),
    "intake.file.corrupt": N_(
        "The file “%(file)s” is damaged and cannot be opened. Save the table again from your "
        "spreadsheet program as XLSX or CSV and submit it again."
    ),
    "intake.file.encrypted": N_(
        "The file “%(file)s” is protected with a password, so it cannot be read. Remove the "
        "password (save the file without one) and submit it again."
    ),
    "intake.file.unsupported_format": N_(
        "The format of the file “%(file)s” is not accepted (for example the old Excel 97–2003 .xls "
        "format). Save the table as XLSX (Excel workbook) or CSV and submit it again."
    ),
    "intake.file.missing_columns": N_(
        "The header row of the file “%(file)s” lacks required columns: %(columns)s. Add them (the "
        "template's names or the English names both work) and submit the file again."
    ),
    "intake.file.no_rows": N_(
        "The file “%(file)s” has a header row but no data rows. Fill in at least one row and "
        "submit the file again."
    ),
}


@dataclass(frozen=True, eq=False)
class ReadResult:
    """A file's data rows as text (`frame`), or the `problem` (a `FILE_PROBLEMS` key) and its
    params."""

    filename: str
    frame: pd.DataFrame | None = None
    problem: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    format: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    ignored_columns: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Return whether the file gave data rows."""
        return self.frame is not None

    def message(self, language: str = "lv") -> str | None:
        """Return the problem as a sentence for the school coordinator, or None."""
        if self.problem is None:
            return None
        params = {"file": mask(self.filename), **self.params}
        missing = params.pop("missing", ())
        labels = {column.key: column for column in (*PLAN_COLUMNS, *EVALUATION_COLUMNS)}
        names = [_label(labels[key], language) if key in labels else key for key in missing]
        params["columns"] = ", ".join(f"“{name}”" for name in names)
        for name in ("size_mb", "limit_mb"):
            if name in params:
                params[name] = number(params[name], language)
        return texts(language).gettext(FILE_PROBLEMS[self.problem], **params)


def _label(column: Column, language: str) -> str:
    """Return a column's header label in the language."""
    return column.en if language == "en" else column.lv


def read_file(
    path: Path,
    *,
    max_bytes: int,
    columns: tuple[Column, ...] = PLAN_COLUMNS,
    required: Sequence[str] | None = None,
) -> ReadResult:
    """Read a file from disk, refusing one over `max_bytes` without reading it."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return _too_large(path.name, size, max_bytes)
        with path.open("rb") as handle:
            content = handle.read(max_bytes + 1)
    except OSError:
        return ReadResult(path.name, problem="intake.file.unreadable")
    return read_bytes(content, path.name, max_bytes=max_bytes, columns=columns, required=required)


def read_bytes(
    content: bytes,
    filename: str,
    *,
    max_bytes: int,
    columns: tuple[Column, ...] = PLAN_COLUMNS,
    required: Sequence[str] | None = None,
) -> ReadResult:
    """Read a file's bytes as CSV or XLSX into a frame of text cells, or name the problem."""
    needed = required_keys(columns) if required is None else tuple(required)
    if len(content) > max_bytes:
        return _too_large(filename, len(content), max_bytes)
    if not content.replace(b"\xef\xbb\xbf", b"").strip():
        return ReadResult(filename, problem="intake.file.empty")
    if content.startswith(OLE2_MAGIC):
        encrypted = any(mark in content for mark in _ENCRYPTED_MARKS)
        problem = "intake.file.encrypted" if encrypted else "intake.file.unsupported_format"
        return ReadResult(filename, problem=problem)
    if content.startswith(ZIP_MAGIC):
        return _read_workbook(content, filename, columns, needed)
    return _read_text(content, filename, columns, needed)


def _too_large(filename: str, size: int, max_bytes: int) -> ReadResult:
    """Return the problem of a file over the size limit, sizes in megabytes."""
    params = {"size_mb": round(size / _MB, 1), "limit_mb": round(max_bytes / _MB, 1)}
    return ReadResult(filename, problem="intake.file.too_large", params=params)


def _read_text(
    content: bytes, filename: str, columns: tuple[Column, ...], required: tuple[str, ...]
) -> ReadResult:
    """Read CSV (or other delimited text) bytes."""
    text = decode(content)
    if text is None:
        problem = _binary_problem(filename)
        return ReadResult(filename, problem=problem)
    records = split_records(text.content, header_aliases(columns))
    if records is None:
        return ReadResult(filename, problem="intake.file.unreadable", encoding=text.encoding)
    table = build_table(records.rows, columns, required)
    return _result(table, filename, "csv", text.encoding, records.delimiter)


def _binary_problem(filename: str) -> str:
    """Return the problem of bytes that are no text: a broken workbook or unknown data."""
    if Path(filename).suffix.lower() in _XLSX_SUFFIXES:
        return "intake.file.corrupt"
    return "intake.file.unreadable"


def _read_workbook(
    content: bytes, filename: str, columns: tuple[Column, ...], required: tuple[str, ...]
) -> ReadResult:
    """Read the first visible sheet of an XLSX (or ODS) workbook with calamine."""
    kind = _zip_kind(content)
    if kind is None:
        return ReadResult(filename, problem="intake.file.corrupt")
    if kind == "other":
        return ReadResult(filename, problem="intake.file.unsupported_format")
    try:
        with CalamineWorkbook.from_filelike(io.BytesIO(content)) as workbook:
            rows = _first_sheet(workbook).to_python(skip_empty_area=False)
    except PasswordError:
        return ReadResult(filename, problem="intake.file.encrypted", format=kind)
    except Exception:  # calamine raises several unrelated types for broken workbooks
        return ReadResult(filename, problem="intake.file.corrupt", format=kind)
    table = build_table([[_cell_text(cell) for cell in row] for row in rows], columns, required)
    return _result(table, filename, kind, None, None)


def _zip_kind(content: bytes) -> str | None:
    """Return `xlsx`, `ods` or `other` for a readable zip archive, None for a broken one."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" in names:
                return "xlsx"
            if "mimetype" in names and b"spreadsheet" in archive.read("mimetype"):
                return "ods"
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return None
    return "other"


def _first_sheet(workbook: CalamineWorkbook) -> CalamineSheet:
    """Return the first visible sheet (templates may hide a helper sheet before it)."""
    for index, meta in enumerate(workbook.sheets_metadata):
        if meta.visible == SheetVisibleEnum.Visible:
            return workbook.get_sheet_by_index(index)
    return workbook.get_sheet_by_index(0)


def _cell_text(cell: Cell) -> str:
    """Return a cell value as the text a person sees: `7` not `7.0`, dates as ISO dates."""
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float):
        if cell.is_integer():
            return str(int(cell))
        return format(cell, ".15g")
    if isinstance(cell, dt.datetime) and cell.time() == dt.time(0):
        return cell.date().isoformat()
    if isinstance(cell, dt.date | dt.time):
        return cell.isoformat()
    return str(cell)


def _result(
    table: Table, filename: str, kind: str, encoding: str | None, delimiter: str | None
) -> ReadResult:
    """Wrap a table (or its problem) as a read result with how the file was read."""
    params = {"missing": table.missing} if table.missing else {}
    return ReadResult(
        filename,
        frame=table.frame,
        problem=table.problem,
        params=params,
        format=kind,
        encoding=encoding,
        delimiter=delimiter,
        ignored_columns=table.ignored,
    )
