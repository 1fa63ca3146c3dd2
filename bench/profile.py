"""Profile the national cycle phase by phase: `python -m bench.profile OUT_DIR [phase …]`.

Runs open, collect, route, evaluate and summaries once on the generated national semester
(generated into OUT_DIR/national once and reused), each under cProfile, and writes
OUT_DIR/<phase>.prof plus the top functions by cumulative and own time to stdout.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench import load
from bench.run import SEMESTER, _before_deadline, _settings


def main() -> None:
    out = Path(sys.argv[1])
    wanted = set(sys.argv[2:]) or {"open", "collect", "route", "evaluate", "summaries"}
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    from flows.collect_plans import collect_plans
    from flows.evaluate_semester import evaluate_semester
    from flows.open_semester import open_semester
    from flows.route_approvals import route_approvals
    from flows.send_summaries import send_summaries
    from pumpurs.generate import generate
    from pumpurs.mail.sink import SmtpSink
    from pumpurs.store.context import load_context, use_settings

    data = out / "national"
    if not data.exists():
        generate("national", 1, data)
    run = out / "run"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir()
    shutil.copytree(data / "inbox", run / "inbox")
    with (
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
        prefect_test_harness(server_startup_timeout=120),
        SmtpSink() as sink,
    ):
        settings = _settings(data, run / "cycle.db", sink.port, "http://127.0.0.1:1")
        settings = settings.model_copy(update={"inbox_dir": run / "inbox"})
        with use_settings(settings):
            load_context(settings)
            steps: list[tuple[str, Any, dict[str, Any]]] = [
                ("open", open_semester, {}),
                ("collect", collect_plans, {}),
                ("route", route_approvals, {}),
                ("evaluate", evaluate_semester, {}),
                ("summaries", send_summaries, {"provisional": _before_deadline(settings)}),
            ]
            for name, flow, parameters in steps:
                if name == "evaluate":
                    load.approve_the_rest(settings)
                    # A routed and approved semester, for profiling evaluate and summaries alone.
                    shutil.copy(run / "cycle.db", out / "approved.db")
                    shutil.rmtree(out / "approved-inbox", ignore_errors=True)
                    shutil.copytree(run / "inbox", out / "approved-inbox")
                profile = cProfile.Profile() if name in wanted else None
                started = time.perf_counter()
                if profile:
                    profile.enable()
                flow(SEMESTER, **parameters)
                if profile:
                    profile.disable()
                print(f"== {name}: {time.perf_counter() - started:.2f} s", flush=True)
                if profile:
                    profile.dump_stats(out / f"{name}.prof")
                    stats = pstats.Stats(profile)
                    stats.sort_stats("cumulative").print_stats(45)
                    stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
