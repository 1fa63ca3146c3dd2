"""Measuring one phase: wall time, peak resident memory, and the Prefect task runs it made."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from statistics import median
from typing import Any


def rss_bytes() -> int:
    """Return this process's resident memory now (Linux)."""
    with open(f"/proc/{os.getpid()}/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@dataclass
class Sample:
    seconds: float
    peak_rss: int
    result: Any = None
    # CPU time of this whole process meanwhile (every thread: the in-process mail server and
    # web app too): on a shared machine the wall time also holds the waits for a core.
    cpu_seconds: float | None = None


@contextmanager
def watch(period: float = 0.02) -> Iterator[list[int]]:
    """Sample resident memory every `period` seconds while the block runs."""
    peaks = [rss_bytes()]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(period):
            peaks[0] = max(peaks[0], rss_bytes())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peaks
    finally:
        done.set()
        thread.join()
        peaks[0] = max(peaks[0], rss_bytes())


def timed(action: Callable[[], Any]) -> Sample:
    """Run `action` once; return its wall time, peak memory and result."""
    with watch() as peaks:
        started, cpu = time.perf_counter(), time.process_time()
        result = action()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Sample(seconds, peaks[0], result, cpu)


@dataclass
class Phase:
    name: str
    rows: int = 0
    samples: list[Sample] = field(default_factory=list)
    task_runs: int | None = None
    target: str = ""
    met: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        """Return the median wall time."""
        return median(s.seconds for s in self.samples)

    @property
    def cpu_seconds(self) -> float | None:
        """Return the median CPU time, if every run has one."""
        times = [s.cpu_seconds for s in self.samples]
        return median(t for t in times if t is not None) if None not in times else None

    @property
    def peak_mib(self) -> float:
        """Return the highest peak memory over the runs, in MiB."""
        return max(s.peak_rss for s in self.samples) / 2**20

    def row(self) -> dict[str, Any]:
        """Return the phase as a table row."""
        per_second = self.rows / self.seconds if self.rows and self.seconds else None
        return {
            "phase": self.name,
            "runs": len(self.samples),
            "median_s": round(self.seconds, 2),
            "cpu_s": round(self.cpu_seconds, 2) if self.cpu_seconds is not None else None,
            "rows": self.rows,
            "rows_per_s": round(per_second) if per_second else None,
            "peak_mib": round(self.peak_mib),
            "task_runs": self.task_runs,
            "target": self.target,
            "met": self.met,
            **self.extra,
        }


def task_runs_of(flow_run_id: Any) -> int:
    """Count the task runs Prefect recorded for one flow run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterFlowRunId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=[flow_run_id])),
            limit=200,
            offset=0,
        )
    return len(runs)
