"""Text files as schools save them: guess the encoding and the delimiter, split into records."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass

from charset_normalizer import from_bytes

from pumpurs.columns import normalise_header

DELIMITERS = (";", ",", "\t")
LATVIAN_LETTERS = frozenset("āčēģīķļņšūžĀČĒĢĪĶĻŅŠŪŽ")
_EXCEL_SEP_LINE = re.compile(r"^sep=(.)\r?$")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Only these control characters occur in real text files; any other one means binary data.
_TEXT_CONTROLS = frozenset("\t\n\r\f\v")


@dataclass(frozen=True)
class Text:
    """A decoded text file and the encoding that decoded it."""

    content: str
    encoding: str


@dataclass(frozen=True)
class Records:
    """A text file split into records (one per spreadsheet row) with the delimiter used."""

    rows: list[list[str]]
    delimiter: str


def decode(content: bytes) -> Text | None:
    """Decode text bytes: UTF-8 first, then Latvian Windows-1257, then the best guess."""
    if content.startswith(_UTF16_BOMS):
        return _strict(content, "utf-16")
    if b"\x00" in content:
        return None
    utf8 = _strict(content, "utf-8-sig")
    if utf8 is not None:
        return utf8 if content.startswith(b"\xef\xbb\xbf") else Text(utf8.content, "utf-8")
    baltic = _strict(content, "cp1257")
    if baltic is not None and looks_latvian(baltic.content):
        return baltic
    return _guess(content)


def _strict(content: bytes, encoding: str) -> Text | None:
    """Return the text decoded strictly, or None when it is not valid text in that encoding."""
    try:
        text = content.decode(encoding)
    except UnicodeDecodeError:
        return None
    return Text(text, encoding) if is_text(text) else None


def _guess(content: bytes) -> Text | None:
    """Return charset-normalizer's best reading of the bytes, or None."""
    match = from_bytes(content).best()
    if match is None:
        return None
    text = str(match)
    return Text(text, match.encoding) if is_text(text) else None


def is_text(text: str) -> bool:
    """Return whether decoded content looks like text rather than binary data."""
    return not any(
        unicodedata.category(char) in {"Cc", "Cs", "Co", "Cn"} and char not in _TEXT_CONTROLS
        for char in set(text)
    )


def looks_latvian(text: str) -> bool:
    """Return whether most non-ASCII letters of the text are Latvian letters."""
    letters = [char for char in text if ord(char) > 127 and char.isalpha()]
    if not letters:
        return False
    latvian = sum(char in LATVIAN_LETTERS for char in letters)
    return latvian * 2 >= len(letters)


def split_records(text: str, aliases: dict[str, str]) -> Records | None:
    """Split text into records with the delimiter the header line uses; None if it cannot."""
    lines = text.splitlines()
    explicit = _EXCEL_SEP_LINE.match(lines[0]) if lines else None
    if explicit:
        # Excel's `sep=;` line says the delimiter and is not shown as a row: drop it.
        text = text.split("\n", 1)[1] if "\n" in text else ""
        delimiter = explicit.group(1)
    else:
        header = _first_nonblank(lines)
        if not header:
            return Records([], ",")
        delimiter = sniff_delimiter(header, aliases)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False))
    except csv.Error:
        return None
    return Records(rows, delimiter)


def _first_nonblank(lines: list[str]) -> str:
    """Return the first line with anything but whitespace and delimiters on it."""
    for line in lines:
        if line.strip().strip("".join(DELIMITERS)).strip():
            return line
    return ""


def sniff_delimiter(header: str, aliases: dict[str, str]) -> str:
    """Return the delimiter that splits the header line into the most known column names."""

    def score(delimiter: str) -> tuple[int, int]:
        cells = next(csv.reader([header], delimiter=delimiter), [])
        known = sum(normalise_header(cell) in aliases for cell in cells)
        return known, len(cells)

    return max(DELIMITERS, key=score)
