"""Numbers, amounts, percentages and dates the reader's way (CLDR through Babel)."""

from __future__ import annotations

import datetime as dt

import pytest

from pumpurs.i18n.formats import (
    NBSP,
    fmt_amount,
    fmt_date,
    fmt_day,
    fmt_number,
    fmt_ordinal,
    fmt_percent,
)


@pytest.mark.parametrize(
    ("value", "language", "digits", "expected"),
    [
        (1670, "lv", 0, f"1{NBSP}670"),
        (1670, "en", 0, "1,670"),
        (12.5, "lv", 1, "12,5"),
        (12.5, "en", 1, "12.5"),
        (12.0, "lv", 1, "12"),
        (1, "lv", 0, "1"),
        (1.0, "lv", 0, "1"),  # remembered alike: 1 and 1.0 format the same
    ],
)
def test_numbers(value: float, language: str, digits: int, expected: str) -> None:
    assert fmt_number(value, language, digits) == expected


def test_amounts_keep_both_decimals() -> None:
    assert fmt_amount(63.5, "lv") == "63,50"
    assert fmt_amount(63.5, "en") == "63.50"
    assert fmt_amount(1234, "lv") == f"1{NBSP}234,00"


def test_latvian_writes_a_non_breaking_space_before_the_percent_sign() -> None:
    assert fmt_percent(0.37, "lv") == f"37{NBSP}%"
    assert fmt_percent(0.37, "en") == "37%"
    assert fmt_percent(-0.333, "lv") == f"-33{NBSP}%"
    assert fmt_percent(0.8766, "lv", 1) == f"87,7{NBSP}%"


def test_dates_in_words_and_in_digits() -> None:
    assert fmt_date(dt.date(2026, 9, 1), "lv") == "2026. gada 1. septembris"
    assert fmt_date(dt.date(2026, 9, 1), "en") == "1 September 2026"
    assert fmt_day(dt.date(2026, 9, 22), "lv") == "22.09.2026."
    assert fmt_day(dt.date(2026, 9, 22), "en") == "22 Sept 2026"


def test_an_ordinal_standing_alone() -> None:
    assert fmt_ordinal(7, "lv") == "7."
    assert fmt_ordinal(7, "en") == "7"
