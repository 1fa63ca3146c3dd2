from __future__ import annotations

import datetime as dt

import pytest

from pumpurs.i18n.texts import fmt_date, fmt_day, fmt_number, fmt_percent, plural


def test_latvian_formats_follow_cldr() -> None:
    assert fmt_number(1670, "lv", 0) == "1\u00a0670"
    assert fmt_number(12.5, "lv") == "12,5"
    assert fmt_percent(0.37, "lv") == "37%"
    assert fmt_date(dt.date(2026, 9, 1), "lv") == "2026. gada 1. septembris"
    assert fmt_day(dt.date(2026, 9, 22), "lv") == "22.09.2026."
    assert fmt_number(1670, "en", 0) == "1,670"


@pytest.mark.parametrize(
    ("count", "word"),
    [(1, "rinda"), (2, "rindas"), (11, "rindas"), (21, "rinda"), (111, "rindas"), (0, "rindas")],
)
def test_latvian_plural_after_numbers_ending_in_one(count: int, word: str) -> None:
    assert plural(count, "rinda", "rindas", "lv") == word
