from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select

from pumpurs import db
from pumpurs.config import load_config
from pumpurs.models import Base, Municipality, Plan, PlanRevision, PlanStatus, Pupil, Region, School
from pumpurs.semester import SemesterCode
from pumpurs.store import ensure_semester, sync_reference

REPO = Path(__file__).resolve().parents[1]


def test_upgrade_creates_every_table_and_is_idempotent(database_url: str) -> None:
    assert not db.is_current(database_url)
    db.ensure_schema(database_url)
    db.ensure_schema(database_url)
    assert db.is_current(database_url)
    tables = set(db.table_names(database_url))
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_reference_data_and_semester_sync_idempotently(database_url: str) -> None:
    db.ensure_schema(database_url)
    config = load_config(REPO / "config")
    sessions = db.session_factory(database_url)
    semester = SemesterCode.parse("2026/2027-1")
    for _ in range(2):
        with sessions.begin() as session:
            sync_reference(session, config)
            stored, _new = ensure_semester(session, config, semester)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Region)) == 5
        assert session.scalar(select(func.count()).select_from(Municipality)) == 6
        assert session.scalar(select(func.count()).select_from(School)) == len(config.schools)
        assert stored.starts_on == dt.date(2026, 9, 1)


def test_datetimes_come_back_zone_aware_in_utc(database_url: str) -> None:
    db.ensure_schema(database_url)
    config = load_config(REPO / "config")
    sessions = db.session_factory(database_url)
    riga_noon = dt.datetime(2026, 9, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    with sessions.begin() as session:
        sync_reference(session, config)
        semester, _ = ensure_semester(session, config, SemesterCode.parse("2026/2027-1"))
        school = session.scalars(select(School)).first()
        assert school is not None
        pupil = Pupil(school_id=school.id, ref="P-ABC123")
        session.add(pupil)
        session.flush()
        plan = Plan(
            semester_id=semester.id,
            school_id=school.id,
            pupil_id=pupil.id,
            status=PlanStatus.SUBMITTED,
            revision=1,
            created_at=riga_noon,
        )
        plan.revisions.append(PlanRevision(number=1, grade=7, goal="Uzlabot matemātiku"))
        session.add(plan)
    with sessions() as session:
        stored = session.scalars(select(Plan)).one()
        assert stored.created_at == riga_noon
        assert stored.created_at.tzinfo is not None
        assert stored.revisions[0].goal == "Uzlabot matemātiku"


def test_a_reading_session_reads_beside_an_open_write(database_url: str) -> None:
    db.ensure_schema(database_url)
    config = load_config(REPO / "config")
    with db.session_factory(database_url).begin() as writer:
        sync_reference(writer, config)
        writer.flush()
        with db.read_session_factory(database_url)() as reader:
            # SQLite: no write lock wanted, so no wait; the writer's rows are not visible yet.
            assert reader.scalar(select(func.count()).select_from(School)) == 0
    with db.read_session_factory(database_url)() as reader:
        assert reader.scalar(select(func.count()).select_from(School)) == len(config.schools)
