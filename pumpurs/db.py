"""Engine, sessions and schema migrations; the engine and session factory are made once."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from pumpurs.errors import DatabaseUnavailable, UserError

READ_ONLY = "pumpurs_read_only"  # an execution option: the session never writes


@cache
def engine_for(url: str) -> Engine:
    """Return the one engine for a database URL, creating the SQLite folder when needed."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"future": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            from pathlib import Path

            try:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:  # e.g. a file where the folder should be: one line, no trace
                reason = f"{exc.strerror}: {exc.filename}"
                raise UserError("error.database", reason=reason) from None
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling would defer BEGIN; we issue it ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock at the start, so two writers queue instead of deadlocking.
    # Readers never write: in WAL mode they read a snapshot beside the writer, without the lock.
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


@cache
def session_factory(url: str) -> sessionmaker[Session]:
    """Return the one session factory for a database URL."""
    return sessionmaker(engine_for(url), expire_on_commit=False)


@cache
def read_session_factory(url: str) -> sessionmaker[Session]:
    """Return the session factory for units of work that only read (pages, link checks)."""
    engine = engine_for(url).execution_options(**{READ_ONLY: True})
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> AlembicConfig:
    """Return an Alembic configuration pointing at the package's migrations."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(resources.files("pumpurs") / "migrations"))
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
