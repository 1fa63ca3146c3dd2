from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pumpurs.config import load_config
from pumpurs.errors import SemesterCodeError
from pumpurs.semester import SemesterCode

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("text", "code", "folder"),
    [
        ("2026/2027-1", "2026/2027-1", "2026-2027-1"),
        (" 2026 / 2027 - 2 ", "2026/2027-2", "2026-2027-2"),
        ("2026-2027-1", "2026/2027-1", "2026-2027-1"),
    ],
)
def test_parse_accepts_code_and_folder_forms(text: str, code: str, folder: str) -> None:
    semester = SemesterCode.parse(text)
    assert (semester.code, semester.folder) == (code, folder)


@pytest.mark.parametrize("text", ["2026/2028-1", "2026/2027-3", "2026/2027", "", "abc", "26/27-1"])
def test_parse_refuses_malformed_codes(text: str) -> None:
    with pytest.raises(SemesterCodeError) as caught:
        SemesterCode.parse(text)
    assert "2026/2027-1" in caught.value.render("lv")
    assert "\n" not in caught.value.render("lv")


def test_next_and_previous_cross_the_school_year() -> None:
    first = SemesterCode.parse("2026/2027-1")
    assert first.next().code == "2026/2027-2"
    assert first.next().next().code == "2027/2028-1"
    assert first.previous().code == "2025/2026-2"


def test_calendar_gives_dates_and_moves_weekend_starts_to_monday() -> None:
    config = load_config(REPO / "config")
    autumn = config.semester_dates(SemesterCode.parse("2026/2027-1"))
    assert autumn.starts_on == dt.date(2026, 9, 1)  # a Tuesday
    assert autumn.submission_deadline == dt.date(2026, 9, 22)
    assert autumn.ends_on == dt.date(2026, 12, 22)
    # 5 January 2030 is a Saturday: the term starts on Monday 7 January.
    assert config.semester_dates(SemesterCode.parse("2029/2030-2")).starts_on == dt.date(2030, 1, 7)
