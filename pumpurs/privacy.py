"""Latvian personal codes: recognise them anywhere, and mask them before anything shows them."""

from __future__ import annotations

import re

import pandas as pd

# DDMMYY-NNNNN (old form, also without the hyphen) and 32NNNN-NNNNN (new form since 2017).
PERSONAL_CODE = re.compile(
    r"(?<!\d)(?:(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])\d{2}|32\d{4})[-\s]?\d{5}(?!\d)"
)


# What `mask` leaves of a code (12****-*****). A kept file is masked in the inbox before its
# collection commits; if that run dies, the next one reads the masked file, and must refuse
# such a value as the code it was rather than take it for a pseudonym.
MASKED_CODE = re.compile(r"(?<![\d*])\d{2}\*{4}[-\s]?\*{5}(?![\d*])")
CODE_OR_MASKED = re.compile(f"{PERSONAL_CODE.pattern}|{MASKED_CODE.pattern}")


def looks_like_personal_code(value: str) -> bool:
    """Return whether the text contains something shaped like a Latvian personal code."""
    return PERSONAL_CODE.search(value) is not None


def mask(value: str) -> str:
    """Replace every personal-code-shaped part with its first two digits and stars."""
    return PERSONAL_CODE.sub(lambda m: m.group(0)[:2] + re.sub(r"\d", "*", m.group(0)[2:]), value)


def code_shaped(values: pd.Series) -> pd.Series:
    """Return a boolean mask of the values with a personal-code shape, masked or not."""
    return values.astype("string").str.contains(CODE_OR_MASKED, regex=True, na=False)


def mask_series(values: pd.Series) -> pd.Series:
    """Return the values with every personal-code shape masked (vectorised)."""
    return values.astype("string").str.replace(
        PERSONAL_CODE, lambda m: m.group(0)[:2] + re.sub(r"\d", "*", m.group(0)[2:]), regex=True
    )


_CODE_BYTES = re.compile(PERSONAL_CODE.pattern.encode("ascii"))


def _mask_bytes(match: re.Match[bytes]) -> bytes:
    found = match.group(0)
    return found[:2] + re.sub(rb"\d", b"*", found[2:])


def redact_bytes(content: bytes) -> bytes:
    """Return the file with every personal-code shape masked, keeping its format.

    Digits and hyphens are single ASCII bytes in UTF-8 and the Baltic code pages, so text is
    masked in place; a zip (XLSX) is rewritten member by member; UTF-16 text is decoded first.
    """
    if content.startswith(b"PK\x03\x04"):
        return _redact_zip(content)
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = content.decode("utf-16")
        return mask(text).encode("utf-16")
    return _CODE_BYTES.sub(_mask_bytes, content)


def _redact_zip(content: bytes) -> bytes:
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as source:
            members = [(info, source.read(info)) for info in source.infolist()]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return _CODE_BYTES.sub(_mask_bytes, content)  # a broken zip: mask what is readable
    if not any(_CODE_BYTES.search(data) for _, data in members):
        return content
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in members:
            target.writestr(info, _CODE_BYTES.sub(_mask_bytes, data))
    return out.getvalue()
