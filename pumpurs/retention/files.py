"""One pupil's rows in a school's file (text or XLSX): found, and erased on request.

The kept copy of a school's file and the file in the inbox hold every pupil the school sent.
Erasing one pupil blanks just the rows that name the reference: each becomes a row holding the
token alone, so the other pupils' rows, and the row numbers the school's reports quote, stay
as they were. A workbook is written again by openpyxl (its shared strings rebuilt, so nothing
of the erased rows is left in it); a text file is changed line by line, in its own encoding.
"""

from __future__ import annotations

import io
import re
import zipfile

_ZIP = b"PK\x03\x04"
_UTF16 = (b"\xff\xfe", b"\xfe\xff")
_LINES = re.compile(rb"(\r\n|\n|\r)")


def _pattern(ref: str) -> re.Pattern[str]:
    # The reference as a whole value: not a piece of a longer reference or word.
    return re.compile(r"(?<![\w-])" + re.escape(ref) + r"(?![\w-])")


def _bytes_pattern(ref: str) -> re.Pattern[bytes]:
    return re.compile(rb"(?<![\w-])" + re.escape(ref.encode("utf-8")) + rb"(?![\w-])")


def names_ref(content: bytes, ref: str) -> bool:
    """Return whether a school's file (text, or an XLSX workbook) names this reference."""
    if content.startswith(_ZIP):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                members = [archive.read(info) for info in archive.infolist()]
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            members = [content]
        return any(_bytes_pattern(ref).search(data) for data in members)
    if content.startswith(_UTF16):
        return _pattern(ref).search(content.decode("utf-16")) is not None
    return _bytes_pattern(ref).search(content) is not None


def without_ref(content: bytes, ref: str, token: str) -> bytes:
    """Return the file with every row that names the reference replaced by the token alone."""
    if not names_ref(content, ref):
        return content
    if content.startswith(_ZIP):
        rewritten = _workbook_without(content, ref, token)
        if rewritten is not None:
            return rewritten
        return _bytes_pattern(ref).sub(token.encode("utf-8"), content)  # not a workbook
    if content.startswith(_UTF16):
        text = content.decode("utf-16")
        lines = re.split(r"(\r\n|\n|\r)", text)
        found = _pattern(ref)
        return "".join(token if found.search(line) else line for line in lines).encode("utf-16")
    named = _bytes_pattern(ref)
    parts = _LINES.split(content)
    return b"".join(token.encode("ascii") if named.search(part) else part for part in parts)


def _workbook_without(content: bytes, ref: str, token: str) -> bytes | None:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(content))
    except Exception:  # not a workbook openpyxl reads: the caller falls back
        return None
    pattern = _pattern(ref)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            if any(isinstance(c.value, str) and pattern.search(c.value) for c in row):
                for cell in row:
                    cell.value = None
                row[0].value = token
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
