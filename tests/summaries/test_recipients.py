"""Who gets which summary: one party by code or address, keys of provisional and repeated
sends, and the evaluation deadline that decides whether figures are final."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from pumpurs.config import Person
from pumpurs.errors import UserError
from pumpurs.settings import Settings
from pumpurs.store.context import Context, load_context, use_settings
from pumpurs.store.models import OutboxMessage
from pumpurs.store.reference import StoredSemester, stored_semester
from pumpurs.summaries.compose import queue_summaries
from pumpurs.summaries.content import Unit
from pumpurs.summaries.recipients import (
    SummaryRun,
    check_timing,
    for_party,
    recipients,
    summary_key,
)
from pumpurs.summaries.store import read_figures
from tests.evaluation.factory import SEMESTER
from tests.summaries.test_compose import TODAY, two_regions

DEADLINE = dt.date(2027, 1, 5)


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    with use_settings(settings):
        yield load_context(settings)


def semester(deadline: dt.date = DEADLINE) -> StoredSemester:
    return StoredSemester(
        code=SEMESTER,
        id=1,
        starts_on=dt.date(2026, 9, 1),
        submission_deadline=dt.date(2026, 9, 22),
        ends_on=dt.date(2026, 12, 22),
        evaluation_deadline=deadline,
    )


def test_final_summaries_wait_for_the_evaluation_deadline() -> None:
    with pytest.raises(UserError) as refused:
        check_timing(semester(), DEADLINE, provisional=False, language="lv")
    assert refused.value.render("lv") == (
        "Semestra 2026/2027-1 izvērtējumu iesniegšanas termiņš ir 05.01.2027.: izvērtējumi vēl "
        "var pienākt, tāpēc kopsavilkumi nebūtu galīgi. Sūtiet tos pēc termiņa vai tagad kā "
        "provizoriskus: pumpurs summaries 2026/2027-1 --provisional"
    )
    check_timing(semester(), DEADLINE, provisional=True, language="lv")
    check_timing(semester(), DEADLINE + dt.timedelta(days=1), provisional=False, language="lv")
    with pytest.raises(UserError, match="has passed"):
        check_timing(semester(), DEADLINE + dt.timedelta(days=1), provisional=True, language="en")


def chosen(ctx: Context) -> list[tuple[Unit, Person]]:
    two_regions(ctx)
    with ctx.sessions() as session:
        figures = read_figures(session, stored_semester(session, SEMESTER).id)
    return list(recipients(ctx.config, figures, "lv"))


@pytest.mark.parametrize(
    ("party", "expected"),
    [
        ("LV-LIE-006", [("school", "LV-LIE-006")]),
        (" lv-lie-006 ", [("school", "LV-LIE-006")]),
        ("liepaja", [("municipality", "liepaja")]),
        ("kurzeme", [("region", "kurzeme")]),
        ("LV", [("nation", "LV")]),
        ("Koordinators@Kurzeme.example", [("region", "kurzeme")]),
    ],
)
def test_one_party_by_its_code_or_address(
    ctx: Context, party: str, expected: list[tuple[str, str]]
) -> None:
    found = for_party(chosen(ctx), ctx.config, party, SEMESTER)
    assert [(u.level, u.code) for u, _ in found] == expected


@pytest.mark.parametrize(
    ("party", "message"),
    [
        ("LV-XXX-999", "Nevienai skolai, pašvaldībai vai reģionam nav koda “LV-XXX-999”"),
        ("daugavpils", "daugavpils nesaņem semestra 2026/2027-1 kopsavilkumu"),  # no coordinator
        ("LV-KUL-001", "LV-KUL-001 nesaņem semestra 2026/2027-1 kopsavilkumu"),  # no plans
        (
            "riga",
            "“riga” ir vairāku veidu vienību kods: rakstiet vienu no šiem: "
            "region:riga, municipality:riga.",
        ),
        ("nobody@nowhere.example", "Neviens ar adresi nobody@nowhere.example nesaņem"),
    ],
)
def test_a_party_without_a_summary_is_told_why(ctx: Context, party: str, message: str) -> None:
    with pytest.raises(UserError) as refused:
        for_party(chosen(ctx), ctx.config, party, SEMESTER)
    assert message in refused.value.render("lv")


def keys(ctx: Context) -> list[str]:
    with ctx.sessions() as session:
        found = session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.kind == "summary")
        )
        return sorted(found)


def queue(ctx: Context, run: SummaryRun, today: dt.date = TODAY) -> dict[str, int]:
    with ctx.sessions.begin() as session:
        semester = stored_semester(session, SEMESTER)
        report = queue_summaries(session, ctx.config, "lv", semester, today, run)
    return {**{k: v for k, v in report.queued.items() if v}, "before": report.sent_before}


def test_one_party_gets_its_summary_first_once_then_again_each_run(ctx: Context) -> None:
    two_regions(ctx)
    base = summary_key(SEMESTER, Unit("region", "kurzeme", ""), "koordinators@kurzeme.example")
    assert queue(ctx, SummaryRun(again="resent-1", to="kurzeme")) == {"region": 1, "before": 0}
    assert keys(ctx) == [base]  # never sent before: it goes as the final one, under its key
    assert queue(ctx, SummaryRun()) == {
        "school": 3,
        "municipality": 1,
        "region": 1,
        "nation": 1,
        "before": 1,
    }
    assert queue(ctx, SummaryRun(again="resent-2", to="kurzeme")) == {"region": 1, "before": 0}
    assert queue(ctx, SummaryRun(again="resent-2", to="kurzeme")) == {"before": 1}  # a retry
    assert f"{base}:resent-2" in keys(ctx) and len(keys(ctx)) == 8


def test_provisional_summaries_have_keys_of_their_own_a_day(ctx: Context) -> None:
    two_regions(ctx)
    early = dt.date(2027, 1, 3)
    assert queue(ctx, SummaryRun(provisional=True), early)["before"] == 0
    assert queue(ctx, SummaryRun(provisional=True), early) == {"before": 7}
    assert queue(ctx, SummaryRun(provisional=True), early + dt.timedelta(days=1))["before"] == 0
    final = queue(ctx, SummaryRun())
    assert (final["school"], final["before"]) == (3, 0)  # the final send still goes to all
    found = keys(ctx)
    assert len(found) == 21
    assert "summary:2026/2027-1:nation:LV:pmp@ikvd.example:provisional-2027-01-03" in found
    with ctx.sessions() as session:
        subjects = set(session.scalars(select(OutboxMessage.subject)))
    assert "[Provizorisks] PuMPuRS 2026/2027-1: semestra kopsavilkums — Latvija" in subjects
    assert "PuMPuRS 2026/2027-1: semestra kopsavilkums — Latvija" in subjects
