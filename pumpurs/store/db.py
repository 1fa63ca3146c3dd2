"""Engine, sessions and schema migrations; the engine and session factory are made once."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeAlias

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from pumpurs.errors import DatabaseUnavailable, UserError
from pumpurs.i18n.catalogue import N_

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
READ_ONLY = "pumpurs_read_only"  # an execution option: the session never writes
BUSY_SECONDS = 30.0  # how long a writer waits for SQLite's write lock before giving up
SQLITE_POOL = 20  # connections kept: web requests run on 40 threads, each reads or writes
SQLITE_OVERFLOW = 30
_HOLDS_LOCK = "pumpurs_write_lock"  # in a pooled connection's info: the lock it holds

# What a unit of work runs its statements on: an ORM session, or a Core connection where no
# ORM object is made (the approval app's plan page: no session to set up and tear down).
Executor: TypeAlias = Session | Connection


class FairLock:
    """A lock handed to its waiters in the order they came: none waits while others barge in.

    `threading.Lock` lets a thread that just arrived take the lock before one woken to take
    it; with dozens of request threads some would wait for many seconds.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        """Take the lock, waiting at most `timeout` seconds; return whether it was taken."""
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=timeout):
            return True  # handed over by `release`
        with self._mutex:
            try:
                self._waiters.remove(turn)
            except ValueError:
                return True  # handed over just as the wait ran out
            return False

    def release(self) -> None:
        """Hand the lock to the longest waiter, or free it."""
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._held = False


@cache
def engine_for(url: str) -> Engine:
    """Return the one engine for a database URL, creating the SQLite folder when needed."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"future": True}
    writers: FairLock | None = None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            # This process's writers queue here rather than in SQLite's busy handler.
            writers = FairLock()
            try:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:  # e.g. a file where the folder should be: one line, no trace
                reason = f"{exc.strerror}: {exc.filename}"
                message = N_("The database is not reachable (%(reason)s).")
                raise UserError(message, reason=reason) from None
            kwargs |= {
                "poolclass": QueuePool,
                "pool_size": SQLITE_POOL,
                "max_overflow": SQLITE_OVERFLOW,
            }
        kwargs["connect_args"] = {"timeout": BUSY_SECONDS}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)

        def begin(connection: Any) -> None:
            _sqlite_begin(connection, writers)

        event.listen(engine, "begin", begin)
        if writers is not None:
            assert database is not None

            def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
                _autocheckpoint(dbapi_connection, record, database)

            event.listen(engine, "checkout", checkout)
            for name in ("checkin", "invalidate", "soft_invalidate", "close", "detach"):
                event.listen(engine.pool, name, _release_write_lock)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling would defer BEGIN; we issue it ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")
    cursor.close()


def _sqlite_begin(connection: Any, writers: FairLock | None) -> None:
    # IMMEDIATE takes the write lock at the start, so two writers queue instead of deadlocking.
    # Readers never write: in WAL mode they read a snapshot beside the writer, without the lock.
    if connection.get_execution_options().get(READ_ONLY, False):
        connection.exec_driver_sql("BEGIN")
        return
    if writers is None:  # an in-memory database: one per connection
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        return
    deadline = time.monotonic() + BUSY_SECONDS
    info = connection.info
    if _HOLDS_LOCK not in info:
        # The writers of this process queue on a lock that wakes the next one at once; SQLite's
        # busy handler would have them poll, sleeping up to 100 ms between tries, while the
        # database lock stands free. A connection keeps it until it goes back to the pool.
        if not writers.acquire(timeout=BUSY_SECONDS):
            raise _locked()
        info[_HOLDS_LOCK] = writers
    begin_immediate(connection.connection.dbapi_connection, deadline)


def begin_immediate(dbapi_connection: Any, deadline: float) -> None:
    """Start a write transaction, retrying every few milliseconds while another process writes.

    SQLite's busy handler is off meanwhile (it would sleep up to 100 ms between tries); it is
    back on for the statements of the transaction.
    """
    cursor = dbapi_connection.cursor()
    try:
        pause = 0.0002
        cursor.execute("PRAGMA busy_timeout=0")
        try:
            while True:
                try:
                    cursor.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if not _is_busy(exc) or time.monotonic() + pause > deadline:
                        raise
                time.sleep(pause)
                pause = min(pause * 2, 0.002)
        finally:
            cursor.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")
    except sqlite3.OperationalError as exc:
        raise OperationalError("BEGIN IMMEDIATE", None, exc) from None
    finally:
        cursor.close()


AUTOCHECKPOINT = 1000  # SQLite's default: a commit that filled the WAL this far checkpoints
_apart: dict[str, int] = {}  # SQLite files whose checkpoints a thread of this process makes


def _autocheckpoint(dbapi_connection: Any, record: Any, database: str) -> None:
    """Give a connection, as it leaves the pool, the checkpointing now wanted for its file."""
    wanted = 0 if _apart.get(database) else AUTOCHECKPOINT
    if record.info.get("autocheckpoint", AUTOCHECKPOINT) != wanted:
        dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={wanted}")
        record.info["autocheckpoint"] = wanted


def checkpoint_apart(url: str, period: float = 0.5) -> Callable[[], None]:
    """Checkpoint a SQLite file's WAL in a thread of its own, not in the commits of this
    process; return the function that stops it (commits checkpoint themselves again).

    A commit that fills the WAL past `AUTOCHECKPOINT` pages copies it into the database and
    syncs the file to disk: tens to hundreds of milliseconds on a busy disk, for the one
    request that happened to commit then (and, on the web app's event loop, every request
    waiting behind it). The thread checkpoints every `period` seconds instead (PASSIVE: it
    waits for no reader or writer). Nothing to do for other databases.
    """
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return lambda: None
    engine_for(url)  # its connections take the setting as they leave the pool
    stop = threading.Event()
    _apart[database] = _apart.get(database, 0) + 1

    def run() -> None:
        connection: sqlite3.Connection | None = None
        last = ""  # each failure is logged once, not every period
        try:
            while not stop.wait(period):
                try:
                    if connection is None:  # the file as it is: never a new, empty one
                        uri = f"{Path(database).resolve().as_uri()}?mode=rw"
                        connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:
                    busy = isinstance(exc, sqlite3.OperationalError) and _is_busy(exc)
                    if not busy and str(exc) != last:  # busy: another process checkpoints it
                        log.warning("WAL checkpoint of %s failed: %s", database, exc)
                    last = str(exc)
        finally:
            if connection is not None:
                connection.close()

    thread = threading.Thread(target=run, name="sqlite-checkpoint", daemon=True)
    thread.start()

    def end() -> None:
        _apart[database] -= 1
        stop.set()
        thread.join(timeout=BUSY_SECONDS)

    return end


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def _locked() -> OperationalError:
    return OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))


def _release_write_lock(_dbapi_connection: Any, record: Any, *_args: Any) -> None:
    info = getattr(record, "info", None) if record is not None else None
    lock = info.pop(_HOLDS_LOCK, None) if info is not None else None
    if lock is not None:
        lock.release()


@cache
def session_factory(url: str) -> sessionmaker[Session]:
    """Return the one session factory for a database URL."""
    return sessionmaker(engine_for(url), expire_on_commit=False)


@cache
def read_engine(url: str) -> Engine:
    """Return the engine for units of work that only read (no write lock on SQLite)."""
    return engine_for(url).execution_options(**{READ_ONLY: True})


@cache
def read_session_factory(url: str) -> sessionmaker[Session]:
    """Return the session factory for units of work that only read (pages, link checks)."""
    return sessionmaker(read_engine(url), expire_on_commit=False)


def alembic_config(url: str) -> AlembicConfig:
    """Return an Alembic configuration pointing at the package's migrations."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["engine"] = engine_for(url)
    return config


def upgrade(url: str) -> None:
    """Bring the schema up to the newest migration."""
    try:
        command.upgrade(alembic_config(url), "head")
    except OperationalError as exc:
        raise DatabaseUnavailable(_short(exc)) from None


def is_current(url: str) -> bool:
    """Return whether the database has the newest schema."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(url))
    with engine_for(url).connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    return set(current) == set(script.get_heads())


def ensure_schema(url: str) -> None:
    """Migrate a new or outdated database; called by every entry point before work starts."""
    try:
        if not is_current(url):
            upgrade(url)
    except OperationalError as exc:
        raise DatabaseUnavailable(_short(exc)) from None


def table_names(url: str) -> list[str]:
    """Return the tables the database has."""
    return sorted(inspect(engine_for(url)).get_table_names())


def _short(exc: Exception) -> str:
    return " ".join(str(getattr(exc, "orig", exc)).split())[:200]
