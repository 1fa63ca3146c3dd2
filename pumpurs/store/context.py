"""What every entry point needs before work starts: settings, checked config, migrated store."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from pumpurs.config import Config, load_config
from pumpurs.settings import Settings, get_settings
from pumpurs.store import db
from pumpurs.store.reference import sync_reference

_override: Settings | None = None


@dataclass(frozen=True)
class Context:
    settings: Settings
    config: Config

    @property
    def sessions(self) -> sessionmaker[Session]:
        """Return the session factory of the configured database."""
        return db.session_factory(self.settings.effective_database_url)


def current_settings() -> Settings:
    """Return the settings in force: those set by `use_settings`, else the environment's."""
    return _override if _override is not None else get_settings()


@contextmanager
def use_settings(settings: Settings) -> Iterator[Settings]:
    """Make `settings` the ones in force for this process (for tests and embedding)."""
    global _override
    previous, _override = _override, settings
    try:
        yield settings
    finally:
        _override = previous


@cache
def _config_at(config_dir: Path, _stamp: tuple[tuple[str, int], ...]) -> Config:
    return load_config(config_dir)


_reading = threading.Lock()  # threads asking at once (a web app's first requests) read it once


def cached_config(config_dir: Path) -> Config:
    """Return the config, read again only when one of its files changed.

    Every web request asks: the check is one directory scan with the files' modification
    times (os.scandir, no Path objects), the reading of the YAML only when they changed.
    """
    try:
        with os.scandir(config_dir) as entries:
            stamp = tuple(
                sorted(
                    (entry.name, entry.stat().st_mtime_ns)
                    for entry in entries
                    if entry.name.endswith(".yaml")
                )
            )
    except OSError:  # no such folder: reading it says so, in the reader's language
        stamp = ()
    with _reading:
        return _config_at(Path(os.path.abspath(config_dir)), stamp)


def context() -> Context:
    """Return the context in force, without migrating or syncing (tasks inside a flow)."""
    settings = current_settings()
    return Context(settings=settings, config=cached_config(settings.config_dir))


def load_context(settings: Settings | None = None) -> Context:
    """Load config, migrate the database if needed and sync reference data into it."""
    settings = settings or current_settings()
    config = cached_config(settings.config_dir)
    url = settings.effective_database_url
    db.ensure_schema(url)
    with db.session_factory(url).begin() as session:
        sync_reference(session, config)
    return Context(settings=settings, config=config)
