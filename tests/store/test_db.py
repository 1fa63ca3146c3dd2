from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from pumpurs.config import load_config
from pumpurs.errors import UserError
from pumpurs.semester import SemesterCode
from pumpurs.store import db
from pumpurs.store.models import (
    Base,
    Municipality,
    Plan,
    PlanRevision,
    PlanStatus,
    Pupil,
    Region,
    School,
)
from pumpurs.store.reference import (
    StoredSemester,
    ensure_semester,
    stored_semester,
    sync_reference,
)

REPO = Path(__file__).resolve().parents[2]


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


def test_a_stored_semester_is_passed_on_as_a_value(database_url: str) -> None:
    db.ensure_schema(database_url)
    config = load_config(REPO / "config")
    sessions = db.session_factory(database_url)
    code = SemesterCode.parse("2026/2027-1")
    with sessions() as session, pytest.raises(UserError) as caught:
        stored_semester(session, code)
    assert "2026/2027-1" in str(caught.value)  # not opened yet: open it first
    with sessions.begin() as session:
        row, _ = ensure_semester(session, config, code)
        found = stored_semester(session, code)
        assert found == StoredSemester.of(row)  # the row's code parsed alike
    assert (found.code, found.id) == (code, row.id)
    assert (found.starts_on, found.ends_on) == (dt.date(2026, 9, 1), dt.date(2026, 12, 22))
    assert found.evaluation_deadline > found.ends_on > found.submission_deadline


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


def test_the_writers_lock_goes_to_its_waiters_in_the_order_they_came() -> None:
    lock = db.FairLock()
    assert lock.acquire(timeout=1)
    order: list[int] = []

    def wait(n: int) -> None:
        assert lock.acquire(timeout=10)
        order.append(n)
        lock.release()

    threads = [threading.Thread(target=wait, args=(n,)) for n in range(5)]
    for n, thread in enumerate(threads):
        thread.start()
        while len(lock._waiters) < n + 1:  # queued before the next one starts
            time.sleep(0.001)
    lock.release()
    for thread in threads:
        thread.join(10)
    assert order == [0, 1, 2, 3, 4]
    assert lock.acquire(timeout=0.01)  # free again
    assert not lock.acquire(timeout=0.05)  # held: a waiter gives up in time …
    assert not lock._waiters  # … and leaves the queue
    lock.release()


def test_sqlite_writers_of_one_process_queue_and_a_failed_one_frees_the_lock(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    db.ensure_schema(url)
    sessions = db.session_factory(url)
    with sessions.begin() as session:
        session.add(
            Region(
                code="R",
                name="R",
                coordinator_email="r@example.lv",
                escalation_email="e@example.lv",
            )
        )
    with pytest.raises(RuntimeError), sessions.begin() as session:
        session.execute(select(Region.id)).all()
        raise RuntimeError("a request failed mid-transaction")
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for _ in range(10):
                with sessions.begin() as session:
                    region = session.scalars(select(Region)).one()
                    region.name = f"R{n}"
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors  # how fast (no writer sits out SQLite's 100 ms sleeps): `make bench`
    with sessions() as session:
        assert session.scalars(select(Region.name)).one() in {f"R{n}" for n in range(20)}


def test_a_sqlite_writer_retries_while_another_process_writes(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE t (x INTEGER)")
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    mine = sqlite3.connect(path, isolation_level=None, timeout=30)
    with pytest.raises(OperationalError):
        db.begin_immediate(mine, time.monotonic() + 0.05)
    assert mine.execute("PRAGMA busy_timeout").fetchone() == (30000,)  # back on
    threading.Timer(0.1, other.rollback).start()
    db.begin_immediate(mine, time.monotonic() + 5)  # how soon after the release: `make bench`
    assert mine.in_transaction
    mine.execute("INSERT INTO t VALUES (1)")
    mine.commit()
    other.close()
    mine.close()


def test_checkpoints_apart_leave_the_commits_and_still_reach_the_file(tmp_path: Path) -> None:
    """While a web app serves, its commits never checkpoint; a thread copies the WAL in."""
    from sqlalchemy import text

    path = tmp_path / "apart.db"
    url = f"sqlite:///{path}"
    engine = db.engine_for(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x BLOB)"))

    def autocheckpoint() -> int:
        with engine.connect() as connection:
            raw = connection.connection.dbapi_connection
            assert raw is not None
            return int(raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0])

    stop = db.checkpoint_apart(url, period=0.05)
    try:
        assert autocheckpoint() == 0
        before = path.stat().st_size
        for _ in range(300):  # ~600 pages: the WAL only, no commit copies them into the file
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO t VALUES (randomblob(8000))"))
        deadline = time.monotonic() + 30
        while path.stat().st_size < before + 2_000_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_size >= before + 2_000_000  # the thread checkpointed them
    finally:
        stop()
    assert autocheckpoint() == db.AUTOCHECKPOINT  # back to SQLite's own once stopped
    engine.dispose()
