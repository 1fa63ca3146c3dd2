"""Single functions timed on their own, no servers: row checks at national scale and the SQLite
writers' lock. These were wall-clock assertions in the tests; the tests keep what they check
besides time, and the benchmark keeps the time.
"""

from __future__ import annotations

import sqlite3
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.measure import Phase, Sample, timed

ROOT = Path(__file__).resolve().parents[1]
VALIDATE = "validate 75,000 plan rows"
WRITERS = "SQLite writers (20 threads × 10)"
HANDOVER = "SQLite lock handover"
NAMES = [VALIDATE, WRITERS, HANDOVER]


def plan_rows(count: int = 75_000) -> pd.DataFrame:
    """Return `count` plan rows of one school as read from its files: three measures a pupil,
    a rejected row (25 hours a month) every 50 rows."""
    pupil = np.arange(count) // 3
    measures = np.array(["psychologist", "subject_consultation", "meals"])[np.arange(count) % 3]
    hours = measures != "meals"
    rows = pd.DataFrame(
        {
            "school_code": "LV-LIE-006",
            "pupil_ref": [f"S-{number:05d}" for number in pupil],
            "grade": "7",
            "risk_categories": "learning",
            "goal": "Uzlabot atzīmes",
            "measure": measures,
            "subject": np.where(measures == "subject_consultation", "mathematics", ""),
            "provider_ref": "PSY-2",
            "hours_per_month": np.where(hours, "2,5", ""),
            "eur_per_month": np.where(hours, "", "40"),
            "file": [f"plani-{number % 40}.csv" for number in pupil],
            "folder_school": "LV-LIE-006",
            "row_number": np.arange(count) + 2,
        }
    )
    rows.loc[rows.index % 50 == 0, "hours_per_month"] = "25"
    return rows


def validate(runs: int, phase: Phase) -> None:
    """Time `validate_plans` on 75,000 rows (the rows are made before the clock starts)."""
    from pumpurs.config import load_config
    from pumpurs.intake import row_accounting, validate_plans

    config = load_config(ROOT / "config")
    rows = plan_rows()
    for _ in range(runs):
        sample = timed(lambda: validate_plans(rows, config))
        counts = row_accounting(rows, sample.result)
        assert counts["unaccounted"] == 0 and counts["rejected"] > 0, counts
        phase.samples.append(sample)
    phase.rows = len(rows)


def writers(runs: int, phase: Phase, threads: int = 20, writes: int = 10) -> None:
    """Time `threads` threads of one process each making `writes` small write transactions on
    one SQLite database: they queue for the writers' lock instead of sitting out SQLite's
    busy sleeps of up to 100 ms."""
    for run in range(runs):
        with tempfile.TemporaryDirectory(prefix="pumpurs-bench-") as folder:
            url = f"sqlite:///{Path(folder) / f'writers-{run}.db'}"
            phase.samples.append(_writers_once(url, threads, writes))
    phase.rows = threads * writes


def _writers_once(url: str, threads: int, writes: int) -> Sample:
    from sqlalchemy import select

    from pumpurs.store import db
    from pumpurs.store.models import Region

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
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for _ in range(writes):
                with sessions.begin() as session:
                    session.scalars(select(Region)).one().name = f"R{n}"
        except BaseException as exc:  # reported below
            errors.append(exc)

    def all_writers() -> None:
        pool = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()

    sample = timed(all_writers)
    assert not errors, errors
    db.engine_for(url).dispose()
    return sample


def handover(runs: int, phase: Phase, hold: float = 0.1) -> None:
    """Time how soon a writer gets SQLite's write lock after another process, which held it for
    `hold` seconds, lets it go (`begin_immediate` retries every ≤ 2 ms)."""
    from pumpurs.store import db

    latencies: list[float] = []
    for run in range(runs):
        with tempfile.TemporaryDirectory(prefix="pumpurs-bench-") as folder:
            path = Path(folder) / f"handover-{run}.db"
            other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            other.execute("PRAGMA journal_mode=WAL")
            other.execute("CREATE TABLE t (x INTEGER)")
            other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            mine = sqlite3.connect(path, isolation_level=None, timeout=30)
            released: list[float] = []

            def release(connection: sqlite3.Connection = other, at: list[float] = released) -> None:
                connection.rollback()
                at.append(time.perf_counter())

            acquired: list[float] = []

            def take(connection: sqlite3.Connection = mine, at: list[float] = acquired) -> None:
                db.begin_immediate(connection, time.monotonic() + 5)
                at.append(time.perf_counter())

            threading.Timer(hold, release).start()
            sample = timed(take)
            latencies.append(acquired[0] - released[0])
            phase.samples.append(Sample(sample.seconds, sample.peak_rss))
            mine.rollback()
            other.close()
            mine.close()
    phase.extra["hold_s"] = hold
    phase.extra["after_release_ms"] = round(1000 * max(0.0, *latencies), 1)


def run(runs: int, phases: dict[str, Phase]) -> None:
    """Add samples of every phase of this module to `phases` (keyed by NAMES)."""
    validate(runs, phases[VALIDATE])
    writers(runs, phases[WRITERS])
    handover(runs, phases[HANDOVER])
