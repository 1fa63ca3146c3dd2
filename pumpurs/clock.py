"""The one clock: everything asks here for "now", so tests can move time (time-machine)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

RIGA = ZoneInfo("Europe/Riga")


def utcnow() -> dt.datetime:
    """Return the current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def day_end(day: dt.date) -> dt.datetime:
    """Return the moment something valid through `day` (in Latvia) ends: the next midnight."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), RIGA)


def today_riga() -> dt.date:
    """Return today's date in Latvia."""
    return utcnow().astimezone(RIGA).date()
