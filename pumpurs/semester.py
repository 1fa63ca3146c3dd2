"""Semester codes (`2026/2027-1`) and the dates the calendar in config gives them."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field

from pumpurs.errors import SemesterCodeError

_CODE = re.compile(r"^\s*(\d{4})\s*/\s*(\d{4})\s*-\s*([12])\s*$")
_FOLDER = re.compile(r"^(\d{4})-(\d{4})-([12])$")


@dataclass(frozen=True, order=True)
class SemesterCode:
    """One semester of a school year: term 1 is September–December, term 2 January–June."""

    start_year: int
    term: int

    @classmethod
    def parse(cls, text: str) -> SemesterCode:
        """Parse `2026/2027-1` (or the folder form `2026-2027-1`); raise SemesterCodeError."""
        match = _CODE.match(text) or _FOLDER.match(text.strip())
        if not match:
            raise SemesterCodeError(text)
        first, second, term = (int(part) for part in match.groups())
        if second != first + 1 or not 2000 <= first <= 2200:
            raise SemesterCodeError(text)
        return cls(first, term)

    @property
    def code(self) -> str:
        """Return the canonical code, `2026/2027-1`."""
        return f"{self.start_year}/{self.start_year + 1}-{self.term}"

    @property
    def folder(self) -> str:
        """Return the inbox folder name, the code with `/` written as `-`."""
        return f"{self.start_year}-{self.start_year + 1}-{self.term}"

    @property
    def calendar_year(self) -> int:
        """Return the calendar year the semester starts in."""
        return self.start_year if self.term == 1 else self.start_year + 1

    def next(self) -> SemesterCode:
        """Return the semester after this one."""
        return (
            SemesterCode(self.start_year, 2)
            if self.term == 1
            else SemesterCode(self.start_year + 1, 1)
        )

    def previous(self) -> SemesterCode:
        """Return the semester before this one."""
        return (
            SemesterCode(self.start_year - 1, 2)
            if self.term == 1
            else SemesterCode(self.start_year, 1)
        )

    def __str__(self) -> str:
        return self.code


def first_weekday_on_or_after(day: dt.date) -> dt.date:
    """Return `day`, or the Monday after it when it falls on a weekend."""
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


SemesterParameter = Annotated[
    str,
    Field(
        pattern=r"^\s*\d{4}\s*/\s*\d{4}\s*-\s*[12]\s*$",
        title="Semestris / Semester",
        description="Semestra kods, piem. 2026/2027-1; tukšs — pēc kalendāra. "
        "Semester code, e.g. 2026/2027-1; empty — from the calendar.",
        examples=["2026/2027-1"],
    ),
]
"""A flow's semester parameter: typed so the Prefect UI shows a checked form field."""
