"""The one clock: everything asks here for "now", so tests can move time (time-machine)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

RIGA = ZoneInfo("Europe/Riga")


def utcnow() -> dt.datetime:
    """Return the current time, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)


def today_riga() -> dt.date:
    """Return today's date in Latvia."""
    return utcnow().astimezone(RIGA).date()
