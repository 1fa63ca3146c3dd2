"""Thin Prefect tasks around the core: names, retries for I/O, nothing else."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError

from pumpurs.errors import DatabaseUnavailable


def transient_only(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only when the database or network dropped, never on a bug or bad data."""
    try:
        state.result()
    except (OperationalError, DatabaseUnavailable, ConnectionError, TimeoutError):
        return True
    except DBAPIError as exc:
        return bool(exc.connection_invalidated)
    except Exception:
        return False
    return False


IO_RETRIES: dict[str, Any] = {
    "retries": 3,
    "retry_delay_seconds": [2, 5, 15],
    "retry_condition_fn": transient_only,
}
