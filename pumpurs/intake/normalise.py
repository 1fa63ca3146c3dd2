"""Vectorised cleaning of cell text: catalogue keys, numbers, grades and risk-category lists.

Columns repeat a few values many times (measures, grades, amounts), so the parsers work on each
distinct value once and spread the result back over the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from pumpurs.config import Label
from pumpurs.privacy import mask_series

_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$"
_GRADE = r"^\d{1,2}(?:[.,]0*)?$"
_DIGIT_GAP = r"(?<=\d)[\s\u00a0\u202f'](?=\d)"
_LIST_SEPARATORS = r"[;,\n]"
SHOWN_LENGTH = 60


def per_unique(values: pd.Series, parse: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """Apply `parse` to each distinct value once and return its result for every row."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    parsed = parse(pd.Series(uniques, dtype=values.dtype))
    return pd.Series(parsed.to_numpy()[codes], index=values.index, dtype=parsed.dtype)


def text_column(frame: pd.DataFrame, key: str) -> pd.Series:
    """Return a column as stripped text, empty where the column or the value is missing."""
    if key not in frame.columns:
        return pd.Series("", index=frame.index, dtype="str")
    values = frame[key].astype("str").fillna("")
    return values.str.strip()


def folded(values: pd.Series) -> pd.Series:
    """Return text lowercased with runs of whitespace as one space, for matching."""
    return per_unique(values, lambda v: v.str.lower().str.replace(r"\s+", " ", regex=True))


def spellings(labels: Mapping[str, Label]) -> dict[str, str]:
    """Return every accepted spelling of catalogue keys, folded, mapped to the key."""
    table: dict[str, str] = {}
    for key, label in labels.items():
        for spelling in (key, key.replace("_", " "), label.lv, label.en):
            table[" ".join(spelling.lower().split())] = key
    return table


def allowed(labels: Mapping[str, Label], language: str) -> str:
    """Return the labels a message lists as the allowed values, as the template's lists show
    them to the reader (`“matemātika”, “fizika”`); each is accepted as well as its key."""
    return ", ".join(f"“{label.en if language == 'en' else label.lv}”" for label in labels.values())


def lookup(values: pd.Series, table: Mapping[str, str]) -> pd.Series:
    """Return the catalogue key of each value, NA where it is empty or unknown."""
    return folded(values).map(table).astype("str")


def parse_number(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return (numbers, bad): decimal comma and spaced thousands accepted; NaN where empty."""
    numbers = per_unique(values, _number)
    return numbers, values.ne("") & numbers.isna()


def _number(values: pd.Series) -> pd.Series:
    """Return the number each text says, NaN where it is empty or no plain number."""
    cleaned = (
        values.str.replace(_DIGIT_GAP, "", regex=True)
        .str.replace(",", ".", regex=False)
        .str.replace("\u2212", "-", regex=False)
    )
    good = cleaned.str.fullmatch(_NUMBER)
    return pd.to_numeric(cleaned.where(good), errors="coerce").astype("float64")


def parse_grade(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return (grades as nullable integers, bad): `7`, `7.0` and `7.` are grade 7."""
    grades = per_unique(values, _grade)
    return grades, values.ne("") & grades.isna()


def _grade(values: pd.Series) -> pd.Series:
    """Return the grade each text says, NA where it is no whole number."""
    digits = values.where(values.str.fullmatch(_GRADE)).str.extract(r"^(\d+)", expand=False)
    return pd.to_numeric(digits).astype("Int64")


def parse_list(values: pd.Series, table: Mapping[str, str]) -> tuple[pd.Series, pd.Series]:
    """Return (sorted `;`-joined keys, first unknown item or NA) of `;`-separated lists."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    joined, unknown = _parse_list(pd.Series(uniques, dtype="str"), table)
    return (
        pd.Series(joined.to_numpy()[codes], index=values.index, dtype="str"),
        pd.Series(unknown.to_numpy()[codes], index=values.index, dtype="str"),
    )


def _parse_list(values: pd.Series, table: Mapping[str, str]) -> tuple[pd.Series, pd.Series]:
    """Parse distinct list texts: see `parse_list`."""
    items = values.str.split(_LIST_SEPARATORS, regex=True).explode().astype("str").str.strip()
    items = items[items.ne("") & items.notna()]
    keys = items.str.lower().str.replace(r"\s+", " ", regex=True).map(table)
    unknown = items[keys.isna()].groupby(level=0).first().reindex(values.index)
    known = keys.dropna()
    joined = pd.Series("", index=values.index, dtype="str")
    for key in sorted(set(table.values())):
        has = values.index.isin(known.index[known.eq(key)])
        joined = joined + np.where(has, key + ";", "")
    return joined.str.removesuffix(";"), unknown.astype("str")


def shown(values: pd.Series) -> pd.Series:
    """Return values fit to quote in a message: personal codes masked, long text shortened."""
    masked = mask_series(values).fillna("").astype("str")
    long = masked.str.len().gt(SHOWN_LENGTH)
    return masked.where(~long, masked.str.slice(0, SHOWN_LENGTH - 1) + "…")


def number_text(values: pd.Series, language: str) -> pd.Series:
    """Return numbers as people write them: `310`, `12,5` in Latvian, `12.5` in English."""
    text = values.round(2).astype("str").str.replace(r"\.0+$", "", regex=True)
    return text.str.replace(".", ",", regex=False) if language != "en" else text


def amount_text(values: pd.Series, language: str) -> pd.Series:
    """Return amounts of money with both decimals: `310,50` in Latvian, `310.50` in English."""
    text = values.map(lambda value: f"{value:.2f}", na_action="ignore").astype("str")
    return text.str.replace(".", ",", regex=False) if language != "en" else text


def number(value: float, language: str) -> str:
    """Return one number as people write it in the language."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") if language != "en" else text
