"""Semester codes (`2026/2027-1`) and the dates the calendar in config gives them."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import BeforeValidator, Field

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


def _empty_for_none(value: object) -> object:
    """Read a missing value (None, as an API client may send it) as the empty code."""
    return "" if value is None else value


SemesterParameter = Annotated[
    str, BeforeValidator(_empty_for_none), Field(examples=["2026/2027-1"])
]
"""A flow's semester parameter, empty for the calendar's semester.

A plain string with a default, so the Prefect UI's Custom run form shows a text box at once
(an optional parameter would hide it behind a "None" toggle). Prefect titles the field with the
parameter's name and describes it with the flow docstring's `Args:` entry (in Latvian there:
what a code looks like), whatever a `Field` here says. It carries no JSON-schema pattern on
purpose: the UI would refuse a wrong code with its own English message quoting the pattern as a
regular expression. The flow parses the code as its first step instead and fails at once with
the catalogue's message ("Nederīgs semestra kods …: jābūt formā 2026/2027-1 (mācību gads un
semestris 1 vai 2)."), in the run's language.
"""
