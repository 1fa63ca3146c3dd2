"""`make bench`: the semester cycle at national scale, phase by phase, beside a bare baseline.

Prints a table (median wall and CPU time of several runs, rows per second, peak memory, Prefect
task runs; the whole national cycle as one figure), every target with its measured value and
met / missed (the command line's from bench/cli.py included), and writes them with the
machine's details to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

from bench import baseline, decisions, load, units
from bench.measure import Phase, Sample, task_runs_of, timed

ROOT = Path(__file__).resolve().parents[1]
SEMESTER = "2026/2027-1"


def _settings(data: Path, db: Path, smtp_port: int, base_url: str) -> Any:
    from pumpurs.settings import Settings

    return Settings(
        _env_file=None,
        var_dir=db.parent,
        database_url=f"sqlite:///{db}",
        config_dir=data / "config",
        inbox_dir=data / "inbox",
        smtp_port=smtp_port,
        base_url=base_url,
        smtp_retry_delays=[0.5],
    )


def _flow_phase(phase: Phase, flow: Any, rows_key: str | None = None, **parameters: Any) -> Any:
    state = None

    def call() -> Any:
        nonlocal state
        state = flow(SEMESTER, return_state=True, **parameters)
        return state.result()

    sample = timed(call)
    phase.samples.append(sample)
    if rows_key:
        phase.rows = int(sample.result[rows_key])
    assert state is not None
    phase.task_runs = task_runs_of(state.state_details.flow_run_id)
    return sample.result


def cycle(data: Path, work: Path, runs: int, phases: dict[str, Phase]) -> None:
    """Run the whole cycle `runs` times on fresh databases, adding samples to `phases`.

    Between route and evaluate every plan is approved at once; the decisions over HTTP are
    measured apart (`bench.decisions`), on a routed semester of their own.
    """
    from flows.collect_plans import collect_plans
    from flows.evaluate_semester import evaluate_semester
    from flows.open_semester import open_semester
    from flows.route_approvals import route_approvals
    from flows.send_summaries import send_summaries
    from pumpurs.mail.sink import SmtpSink
    from pumpurs.store.context import load_context, use_settings

    for run in range(runs):
        inbox = work / f"inbox-{run}"
        shutil.copytree(data / "inbox", inbox)  # collect masks personal codes in place
        with SmtpSink() as sink:  # the links' address: nothing answers there (see bench.decisions)
            settings = _settings(data, work / f"cycle-{run}.db", sink.port, "http://127.0.0.1:1")
            settings = settings.model_copy(update={"inbox_dir": inbox})
            with use_settings(settings):
                load_context(settings)
                _flow_phase(phases["open (600 invitations)"], open_semester)
                collected = _flow_phase(phases["collect"], collect_plans, "rows_read")
                routed = _flow_phase(phases["route (digests)"], route_approvals)
                phases["route (digests)"].rows = collected["plans_new"]
                load.approve_the_rest(settings)
                _flow_phase(phases["evaluate"], evaluate_semester, "rows_read")
                # Before the semester's evaluation deadline only provisional summaries go out;
                # they cost the same to compose and send.
                summaries = _flow_phase(
                    phases["summaries"], send_summaries, provisional=_before_deadline(settings)
                )
                phases["summaries"].rows = sum(
                    int(v)
                    for k, v in summaries.items()
                    if k.startswith("summaries_") and k != "summaries_sent_before"
                )
            del routed
        _add_cycle(phases, run)


CYCLE_PHASES = ["open (600 invitations)", "collect", "route (digests)", "evaluate", "summaries"]


def _add_cycle(phases: dict[str, Phase], run: int) -> None:
    """Add run `run`'s whole national cycle (open … summaries, decisions apart) as one sample:
    the sum of its phases' times, the highest of their peaks."""
    samples = [phases[name].samples[run] for name in CYCLE_PHASES]
    whole = phases[load.CYCLE]
    cpu = [s.cpu_seconds for s in samples if s.cpu_seconds is not None]
    whole.samples.append(
        Sample(
            sum(s.seconds for s in samples),
            max(s.peak_rss for s in samples),
            cpu_seconds=sum(cpu) if len(cpu) == len(samples) else None,
        )
    )
    whole.rows = phases["collect"].rows + phases["evaluate"].rows


def _before_deadline(settings: Any) -> bool:
    from pumpurs.clock import today_riga
    from pumpurs.config import load_config
    from pumpurs.semester import SemesterCode

    dates = load_config(settings.config_dir).semester_dates(SemesterCode.parse(SEMESTER))
    return today_riga() <= dates.evaluation_deadline


def _pg_database(server: str, suffix: str, template: str | None = None, drop: bool = False) -> str:
    """(Re)create, or drop, the throw-away database `<name>_<suffix>` beside `server`'s."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(server)
    name = f"{url.database}_{suffix}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop:
            like = f' TEMPLATE "{url.database}_{template}"' if template else ""
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"{like}')
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def run_baseline(data: Path, work: Path, runs: int, phase: Phase) -> None:
    """Time the bare baseline on the same files."""
    from pumpurs.config import load_config
    from pumpurs.semester import SemesterCode

    config = load_config(data / "config")
    dates = config.semester_dates(SemesterCode.parse(SEMESTER)).model_dump()
    inbox = data / "inbox" / "2026-2027-1"
    for run in range(runs):
        engine = baseline.prepare(f"sqlite:///{work / f'baseline-{run}.db'}", config, dates)
        sample = timed(partial(baseline.run, engine, inbox, config))
        phase.samples.append(sample)
        phase.rows = sample.result
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--seconds",
        type=float,
        default=10,
        help="length of each wrk run of the decisions benchmark (plan page, decisions, ceiling)",
    )
    parser.add_argument("--mail", type=int, default=3000)
    parser.add_argument("--skip-10x", action="store_true")
    parser.add_argument(
        "--skip-cli",
        action="store_true",
        help="leave out the command line's figures (bench/cli.py: a Prefect server of its own)",
    )
    parser.add_argument(
        "--only",
        choices=["all", "decisions", "units"],
        default="all",
        help="decisions: only the decisions over HTTP, on a routed semester; units: only the "
        "single functions (row checks, SQLite writers), a few seconds",
    )
    parser.add_argument(
        "--clients", type=int, default=20, help="wrk connections (each its own wrk thread)"
    )
    parser.add_argument(
        "--database-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/pumpurs_bench",
        help="PostgreSQL for the decisions benchmark: throw-away databases <its name>_* are "
        "made beside it and dropped; 'none' (or no server there) skips it",
    )
    parser.add_argument(
        "--prepared",
        type=Path,
        default=None,
        help="with --only decisions: a folder --save-prepared wrote (SQLite)",
    )
    parser.add_argument(
        "--save-prepared",
        type=Path,
        default=None,
        help="with --only decisions: keep the routed semester in this folder",
    )
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    from pumpurs.generate import generate

    work = Path(tempfile.mkdtemp(prefix="pumpurs-bench-"))
    names = [
        "open (600 invitations)",
        "collect",
        "baseline collect",
        "route (digests)",
        "evaluate",
        "summaries",
        load.CYCLE,
        "mail",
        "collect ×10",
        load.CLI,
        *decisions.NAMES,
        *units.NAMES,
    ]
    phases = {name: Phase(name) for name in names}
    started = time.time()
    if args.only == "decisions":
        _decisions_main(work, args, phases, started)
        return
    units.run(args.runs, phases)
    if args.only == "units":
        _print(_report(phases, {}, time.time() - started))
        shutil.rmtree(work, ignore_errors=True)
        return
    print("generating the national semester …", flush=True)
    generated = generate("national", 1, work / "national")
    with (
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
        prefect_test_harness(server_startup_timeout=120),
    ):
        run_baseline(work / "national", work, args.runs, phases["baseline collect"])
        cycle(work / "national", work, args.runs, phases)
        load.mail_phase(work, args.mail, phases["mail"])
        _decisions(work / "national", work, args, phases)
        if not args.skip_10x:
            print("generating 10× national …", flush=True)
            generate("national10", 1, work / "national10")
            load.collect_once(work / "national10", work, phases["collect ×10"], _settings)
    if not args.skip_cli:
        from bench import cli

        print("timing the command line …", flush=True)
        phases[load.CLI].extra = cli.measure()
    report = _report(phases, generated.as_dict(), time.time() - started)
    _print(report)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H%M%S")
    for name in (f"{stamp}.json", "latest.json"):
        (out / name).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    shutil.rmtree(work, ignore_errors=True)


def _decisions_main(
    work: Path, args: argparse.Namespace, phases: dict[str, Phase], started: float
) -> None:
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    from pumpurs.generate import generate

    data = work / "national"
    if args.prepared and args.database_url in ("", "none"):  # PostgreSQL routes the files
        shutil.copytree(args.prepared / "config", data / "config")
        generated: dict[str, int] = {}
    else:
        print("generating the national semester …", flush=True)
        generated = generate("national", 1, data).as_dict()
    with (
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
        prefect_test_harness(server_startup_timeout=120),
    ):
        _decisions(data, work, args, phases)
    report = _report(phases, generated, time.time() - started)
    _print(report)
    _write(report, "decisions")
    shutil.rmtree(work, ignore_errors=True)


def _decisions(data: Path, work: Path, args: argparse.Namespace, phases: dict[str, Phase]) -> None:
    postgres = None if args.database_url in ("", "none") else args.database_url
    decisions.benchmark(
        data,
        work,
        phases,
        runs=args.runs,
        connections=args.clients,
        seconds=args.seconds,
        postgres=postgres,
        prepared=args.prepared,
        save_prepared=args.save_prepared,
    )


def _write(report: dict[str, Any], name: str) -> None:
    """Write the report to bench/results/: `<name>-latest.json` and a timestamped copy."""
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H%M%S")
    for file in (f"{name}-{stamp}.json", f"{name}-latest.json"):
        (out / file).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


def _report(phases: dict[str, Phase], data: dict[str, int], total: float) -> dict[str, Any]:
    collect, base = phases["collect"], phases["baseline collect"]
    targets = load.judge(phases) + decisions.judge(phases)
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "memory_gib": round(
                os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
            ),
        },
        "data": data,
        "collect_vs_baseline": round(collect.seconds / base.seconds, 2) if base.samples else None,
        "phases": [p.row() for p in phases.values() if p.samples],
        "targets": targets,
        "cli": phases[load.CLI].extra or None,
        "total_seconds": round(total),
    }


def _print(report: dict[str, Any]) -> None:
    rows = report["phases"]
    columns = ["phase", "runs", "median_s", "cpu_s", "rows", "rows_per_s", "peak_mib", "task_runs"]
    widths = {c: max(len(c), *(len(str(r.get(c))) for r in rows)) for c in columns}
    print(" | ".join(c.ljust(widths[c]) for c in columns))
    print("-+-".join("-" * widths[c] for c in columns))
    for row in rows:
        print(" | ".join(str(row.get(c)).ljust(widths[c]) for c in columns))
    if report["collect_vs_baseline"] is not None:
        print(f"\ncollect ÷ baseline: {report['collect_vs_baseline']}×")
    print()
    for target in report["targets"]:
        met = "met   " if target["met"] else "MISSED"
        print(f"{met} {target['target']}: {target['measured']}")


if __name__ == "__main__":
    main()
