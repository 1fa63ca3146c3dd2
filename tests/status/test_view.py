"""The semester's status from a store built the way the phases leave it, at frozen moments."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from pumpurs.approvals import ensure_steps
from pumpurs.clock import RIGA, utcnow
from pumpurs.opening.carry import open_records
from pumpurs.opening.invitations import queue_invitations
from pumpurs.semester import SemesterCode
from pumpurs.status import headline, semester_status, status_tables
from pumpurs.status.timeline import Stage
from pumpurs.store import lifecycle
from pumpurs.store.context import Context
from pumpurs.store.models import Plan, PlanRevision, PlanStatus, RowRejection, School, Submission
from tests.approvals.factory import SEMESTER, submitted_plan

CODE = SemesterCode.parse(SEMESTER)
OPENED = dt.datetime(2026, 9, 1, 9, 0, tzinfo=RIGA)  # the semester's first day (a Tuesday)
SUBMITTED = dt.datetime(2026, 9, 5, 10, 0, tzinfo=RIGA)
NOW = dt.datetime(2026, 9, 15, 11, 30, tzinfo=RIGA)


def _file(ctx: Context, school: str, refused: list[tuple[str | None, str]], at: dt.datetime) -> int:
    """Store a plan file of `school` received at `at`, refusing (pupil, rule) rows; its id."""
    with time_machine.travel(at, tick=False), ctx.sessions.begin() as session:
        semester = session.scalars(select(Plan.semester_id)).first()
        sid = session.scalar(select(School.id).where(School.code == school))
        row = Submission(
            semester_id=semester,
            school_folder=school,
            school_id=sid,
            kind="plans",
            filename=f"{at:%H%M}.csv",
            sha256=f"{school}{at}",
            size=1,
            content=b"x",
            status="ingested",
            rows_read=len(refused),
            rows_rejected=len(refused),
            received_at=utcnow(),
        )
        session.add(row)
        session.flush()
        for number, (ref, rule) in enumerate(refused, start=2):
            session.add(
                RowRejection(
                    submission_id=row.id,
                    row_number=number,
                    column="goal",
                    rule=rule,
                    message="…",
                    pupil_ref=ref,
                )
            )
        return row.id


@pytest.fixture
def semester(context: Context) -> Context:
    """Open the semester and invite the schools on its first day; three plans by the 5th, two
    of them in Liepāja (Kurzeme), routed at once; plan files with refused rows."""
    with time_machine.travel(OPENED, tick=False), context.sessions.begin() as session:
        opened = open_records(session, context.config, CODE).semester
        queue_invitations(session, context.config, context.settings, opened)
    with time_machine.travel(SUBMITTED, tick=False):
        for school, ref in [("LV-LIE-006", "P-1"), ("LV-LIE-006", "P-2"), ("LV-RIG-T01", "P-3")]:
            submitted_plan(context, school, ref)
        with context.sessions.begin() as session:
            ensure_steps(session, context.config)
    decided = ("P-1", "plan_already_decided")  # not the school's to put right
    first = _file(
        context,
        "LV-LIE-006",
        [("P-2", "missing_goal"), ("P-9", "missing_goal"), decided],
        SUBMITTED,
    )
    later = _file(context, "LV-LIE-006", [], SUBMITTED + dt.timedelta(days=1))
    with context.sessions.begin() as session:  # P-2's plan now comes from the later file
        revision = session.scalars(select(PlanRevision).join(Plan).where(Plan.id == 2)).one()
        revision.submission_id = later
    assert first < later
    _file(context, "LV-KUL-001", [("P-7", "missing_goal"), (None, "missing_value")], SUBMITTED)
    return context


def test_schools_that_sent_nothing_are_named_with_their_coordinator(semester: Context) -> None:
    with semester.sessions() as session:
        status = semester_status(session, semester.config, CODE, NOW)
    missing = {s.code: s for s in status.schools_not_submitted}
    assert set(missing) == {
        "LV-LIE-LIED",
        "LV-LIE-015",
        "LV-LIE-G1",
        "LV-KUL-001",
        "LV-DAU-010",
        "LV-MAD-001",
        "LV-JEL-004",
    }
    kuldiga = missing["LV-KUL-001"]
    assert (kuldiga.name, kuldiga.coordinator_email) == (
        "Kuldīgas Centra vidusskola",
        "iaps@centra.kuldiga.example",
    )
    assert (kuldiga.invited_on, kuldiga.days_since_invitation, kuldiga.files) == (
        dt.date(2026, 9, 1),
        14,
        1,
    )
    rows = status_tables(status, "lv")["schools-not-submitted"].rows
    assert [
        "Kurzemes reģions",
        "Kuldīgas novads",
        "Kuldīgas Centra vidusskola (LV-KUL-001)",
        "Skolas koordinators",
        "iaps@centra.kuldiga.example",
        "01.09.2026.",
        14,
        1,
    ] in rows


def test_refused_rows_count_until_a_later_file_accepts_the_pupil(semester: Context) -> None:
    with semester.sessions() as session:
        status = semester_status(session, semester.config, CODE, NOW)
    # Liepāja: P-2 was accepted from a later file, P-1's refusal is the approver's matter,
    # P-9 is still open. Kuldīga: P-7, and a row without a pupil reference (no later file).
    assert {s.code: s.unresolved for s in status.schools_unresolved} == {
        "LV-LIE-006": 1,
        "LV-KUL-001": 2,
    }


def test_waiting_plans_per_region_and_approver_with_their_age(semester: Context) -> None:
    with semester.sessions() as session:
        status = semester_status(session, semester.config, CODE, NOW)
    by_approver = {(w.region, w.approver): w for w in status.waiting}
    kurzeme = by_approver[("Kurzemes reģions", "Kurzemes reģionālais koordinators")]
    assert (kurzeme.waiting, kurzeme.oldest_days) == (2, 10)
    assert (kurzeme.past_reminder, kurzeme.past_escalation) == (2, 2)  # 3 and 10 days
    assert (status.plans_submitted, status.plans_waiting) == (3, 3)
    regions = status_tables(status, "lv")["approvals-by-region"]
    assert regions.columns[-2:] == [
        "Gaida 3+ dienas (atgādinājums)",
        "Gaida 10+ dienas (eskalācija)",
    ]
    assert regions.rows == [["Kurzemes reģions", 2, 10, 2, 2], ["Rīgas reģions", 1, 10, 1, 1]]


def test_the_timeline_gives_the_days_left_for_the_frozen_day(semester: Context) -> None:
    with semester.sessions() as session:
        status = semester_status(session, semester.config, CODE, NOW)
    line = status.timeline
    assert (line.today, line.stage) == (dt.date(2026, 9, 15), Stage.SUBMISSION)
    assert [(m.name, m.on, m.days_left) for m in line.milestones] == [
        ("starts_on", dt.date(2026, 9, 1), -14),
        ("submission_deadline", dt.date(2026, 9, 22), 7),
        ("ends_on", dt.date(2026, 12, 22), 98),
        ("evaluation_deadline", dt.date(2027, 1, 5), 112),
    ]
    rows = status_tables(status, "lv")["timeline"].rows
    assert rows[1] == ["Plānu iesniegšanas termiņš", "22.09.2026.", "pēc 7 dienām"]
    assert rows[0][2] == "pirms 14 dienām"
    assert headline(status, "lv")[0] == (
        "Nākamais datums: plānu iesniegšanas termiņš 22.09.2026. (pēc 7 dienām)."
    )


def test_the_headline_says_what_a_manager_asks_first(semester: Context) -> None:
    with semester.sessions() as session:
        status = semester_status(session, semester.config, CODE, NOW)
    assert headline(status, "lv") == [
        "Nākamais datums: plānu iesniegšanas termiņš 22.09.2026. (pēc 7 dienām).",
        "Skolas, kas iesniegušas plānus: 2 no 9.",
        "7 skolas vēl nav iesniegušas plānus.",
        "2 skolām ir noraidītas rindas, ko neviens vēlāks fails nav izlabojis.",
        "Lēmumu gaida 3 plāni.",
        "Ilgāk gaidošais plāns gaida 10 dienas.",
        "3 plāni gaida 3 un vairāk dienu (atgādinājuma termiņš).",
        "3 plāni gaida 10 un vairāk dienu (eskalācijas termiņš).",
        "Izvērtēšana sāksies pēc semestra beigām (22.12.2026.).",
    ]
    assert headline(status, "en")[1:3] == [
        "2 of 9 schools have submitted plans.",
        "7 schools have not submitted yet.",
    ]


def test_evaluation_counts_plans_and_names_schools_still_missing(semester: Context) -> None:
    with semester.sessions.begin() as session:
        for plan in session.scalars(select(Plan).order_by(Plan.id)):
            lifecycle.move(plan, PlanStatus.APPROVED)
            if plan.id == 3:  # Rīga's plan was evaluated
                lifecycle.move(plan, PlanStatus.EVALUATED)
    after_term = dt.datetime(2026, 12, 28, 12, 0, tzinfo=RIGA)
    with semester.sessions() as session:
        status = semester_status(session, semester.config, CODE, after_term)
    assert (status.plans_evaluated, status.plans_awaiting_evaluation) == (1, 2)
    assert [s.code for s in status.schools_evaluation_missing] == ["LV-LIE-006"]
    tables = status_tables(status, "lv")
    assert tables["evaluation-by-region"].rows == [
        ["Kurzemes reģions", 0, 2, 1],
        ["Rīgas reģions", 1, 0, 0],
    ]
    assert "Izvērtēti plāni: 1 no 3." in headline(status, "lv")
    assert "1 skolai trūkst izvērtējuma." in headline(status, "lv")


def test_a_semester_not_opened_yet_has_its_calendar_and_empty_tables(context: Context) -> None:
    before = dt.datetime(2026, 8, 20, 9, 0, tzinfo=RIGA)
    with context.sessions() as session:
        status = semester_status(session, context.config, CODE, before)
    assert not status.opened and status.timeline.stage == Stage.NOT_STARTED
    assert status.timeline.next_milestone is not None
    assert status.timeline.next_milestone.days_left == 12
    assert headline(status, "lv")[0] == "Semestris vēl nav atvērts (tas sākas 01.09.2026.)."
    tables = status_tables(status, "lv")
    assert len(tables["schools-not-submitted"].rows) == 9
    waiting = tables["approvals-by-approver"]
    assert waiting.rows == []
    assert waiting.records("nav") == [dict.fromkeys(waiting.columns, "") | {"Reģions": "nav"}]
