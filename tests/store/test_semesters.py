"""A run without a semester code takes the calendar's; when that one is not open, the message
names the semester to open, or when the phase's work can start, never a past semester."""

from __future__ import annotations

import datetime as dt

import pytest

from pumpurs.calendar import Phase
from pumpurs.errors import UserError
from pumpurs.semester import SemesterCode
from pumpurs.store.context import Context
from pumpurs.store.reference import ensure_semester
from pumpurs.store.semesters import semester_for_run

DECEMBER = dt.date(2026, 12, 10)  # term 1 of 2026/2027 in progress; its evaluation in January
CURRENT = SemesterCode.parse("2026/2027-1")


def _refusal(context: Context, phase: Phase, language: str = "lv") -> str:
    with context.sessions() as session, pytest.raises(UserError) as refused:
        semester_for_run(session, context.config, phase, DECEMBER)
    return refused.value.render(language)


def _open(context: Context, code: SemesterCode = CURRENT) -> None:
    with context.sessions.begin() as session:
        ensure_semester(session, context.config, code)


def test_the_semester_in_progress_is_found_once_opened(context: Context) -> None:
    _open(context)
    with context.sessions() as session:
        found = semester_for_run(session, context.config, Phase.COLLECT, DECEMBER)
    assert (found.code, found.evaluation_deadline) == (CURRENT, dt.date(2027, 1, 5))


@pytest.mark.parametrize("phase", [Phase.COLLECT, Phase.ROUTE, Phase.EVALUATE, Phase.SUMMARIES])
def test_nothing_opened_names_the_semester_in_progress_to_open(
    context: Context, phase: Phase
) -> None:
    assert _refusal(context, phase) == (
        "Kalendāra semestris 2026/2027-1 vēl nav atvērts. Vispirms atveriet to: palaidiet "
        "izvietojumu open-semester (tā Quick run atver 2026/2027-1) vai komandu pumpurs "
        "open-semester 2026/2027-1."
    )


def test_summaries_in_december_say_when_the_open_semester_can_have_them(
    context: Context,
) -> None:
    _open(context)
    message = _refusal(context, Phase.SUMMARIES)
    assert "2025/2026-2" in message and "open-semester" not in message
    assert "Pašreizējā semestra 2026/2027-1 izvērtējuma termiņš ir 05.01.2027., pēc tam" in message
    english = _refusal(context, Phase.SUMMARIES, "en")
    assert "The evaluation deadline of the semester in progress, 2026/2027-1, is 5 Jan 2027" in (
        english
    )


def test_evaluate_in_december_says_when_the_term_ends(context: Context) -> None:
    _open(context)
    message = _refusal(context, Phase.EVALUATE)
    assert "Pašreizējais semestris 2026/2027-1 beidzas 22.12.2026., tad to var izvērtēt" in message
    assert "open-semester" not in message
