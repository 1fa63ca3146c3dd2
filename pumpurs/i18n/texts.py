"""Translated texts and Latvian/English formatting of numbers and dates (CLDR through Babel)."""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from typing import Any

import yaml
from babel.dates import format_date as _format_date
from babel.numbers import format_decimal, format_percent

LANGUAGES = ("lv", "en")


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """Return every message id with its text per language, from all catalogue files."""
    data: dict[str, dict[str, str]] = {}
    for entry in sorted(resources.files("pumpurs.i18n.locale").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            part: dict[str, dict[str, str]] = yaml.safe_load(entry.read_text("utf-8")) or {}
            clash = data.keys() & part.keys()
            if clash:
                raise KeyError(f"message ids defined twice: {sorted(clash)}")
            data |= part
    return data


def translate(message_id: str, language: str = "lv", **params: Any) -> str:
    """Return the message in `language` with `params` filled in."""
    entry = catalogue().get(message_id)
    if entry is None:
        raise KeyError(f"no message {message_id!r} in the catalogue")
    template = entry.get(language) or entry["lv"]
    return template.format(**params)


def locale_of(language: str) -> str:
    """Return the CLDR locale used for a language setting."""
    return {"lv": "lv_LV", "en": "en_GB"}.get(language, "lv_LV")


def fmt_number(value: float | int, language: str = "lv", digits: int = 1) -> str:
    """Format a number the local way: `1 670` and `12,5` in Latvian."""
    pattern = "#,##0" if digits == 0 else "#,##0." + "#" * digits
    return format_decimal(value, format=pattern, locale=locale_of(language))


def fmt_percent(share: float, language: str = "lv", digits: int = 0) -> str:
    """Format a share (0.37) as a percentage (`37%`)."""
    pattern = "#,##0%" if digits == 0 else "#,##0." + "0" * digits + "%"
    return format_percent(share, format=pattern, locale=locale_of(language))


def fmt_date(value: dt.date, language: str = "lv") -> str:
    """Format a date in words: `2026. gada 1. septembris` in Latvian."""
    return _format_date(value, format="long", locale=locale_of(language))


def fmt_day(value: dt.date, language: str = "lv") -> str:
    """Format a date in digits, for inside a sentence: `22.09.2026.` (Latvian), `22 Sep 2026`."""
    pattern = "dd.MM.yyyy." if language == "lv" else "d MMM yyyy"
    return _format_date(value, format=pattern, locale=locale_of(language))


def plural(count: int, one: str, many: str, language: str = "lv") -> str:
    """Return the word form for a count: Latvian uses the singular after 1, 21, 31 … (not 11)."""
    if language == "lv":
        return one if count % 10 == 1 and count % 100 != 11 else many
    return one if count == 1 else many
