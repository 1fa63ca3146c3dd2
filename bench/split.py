"""Where each phase's time goes: `python -m bench.split DIR`, outside Prefect, no profiler.

On the national semester (generated into DIR/national once and reused) runs the cores of open,
collect, route, evaluate and summaries as their flows do, timing each step (wall and CPU time
of this process) and, inside them, the rendering and queueing of emails and the workbooks:
what each phase spends beyond the rows themselves.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import load
from bench.run import SEMESTER, _before_deadline, _settings

Spent = dict[str, list[float]]


@contextmanager
def _step(spent: Spent, name: str) -> Iterator[None]:
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        spent[name][0] += time.perf_counter() - wall
        spent[name][1] += time.process_time() - cpu


def _timing(spent: Spent, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        with _step(spent, name):
            return function(*args, **kwargs)

    return timed


def main() -> None:
    from pumpurs.approvals.digest import queue_route_mail
    from pumpurs.approvals.steps import ensure_steps
    from pumpurs.clock import today_riga
    from pumpurs.evaluation import evaluate as evaluation
    from pumpurs.evaluation.reminders import remind_missing
    from pumpurs.generate import generate
    from pumpurs.intake import collect as intake
    from pumpurs.mail import delivery
    from pumpurs.mail.delivery import deliver
    from pumpurs.mail.sink import SmtpSink
    from pumpurs.opening import invitations
    from pumpurs.opening.carry import open_records
    from pumpurs.semester import SemesterCode
    from pumpurs.store.context import load_context, use_settings
    from pumpurs.store.reference import stored_semester
    from pumpurs.summaries import compose
    from pumpurs.summaries.recipients import SummaryRun
    from pumpurs.summaries.store import refresh_figures

    out = Path(sys.argv[1])
    data = out / "national"
    if not data.exists():
        generate("national", 1, data)
    run = out / "split"
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    shutil.copytree(data / "inbox", run / "inbox")
    spent: Spent = defaultdict(lambda: [0.0, 0.0])
    # Inside the steps: emails rendered and queued, MIME built, workbooks written.
    for module, name, label in (
        (intake, "queue_reports", "collect: reports rendered and queued"),
        (evaluation, "queue_reports", "evaluate: reports rendered and queued"),
        (invitations, "build_plan_template", "open: workbooks"),
        (compose, "figures_workbook", "summaries: workbooks"),
        (compose, "render_email", "summaries: emails rendered"),
        (delivery, "build_mime", "all phases: MIME built"),
    ):
        setattr(module, name, _timing(spent, label, getattr(module, name)))
    code = SemesterCode.parse(SEMESTER)
    with SmtpSink() as sink:
        settings = _settings(data, run / "cycle.db", sink.port, "http://127.0.0.1:1")
        settings = settings.model_copy(update={"inbox_dir": run / "inbox"})
        with use_settings(settings):
            ctx = load_context(settings)

            def mail(phase: str) -> None:
                with _step(spent, f"{phase}: mail sent"):
                    deliver(ctx.sessions, settings)

            with _step(spent, "open: records"), ctx.sessions.begin() as session:
                open_records(session, ctx.config, code)
            with ctx.sessions() as session:
                stored = stored_semester(session, code)
            with _step(spent, "open: invitations queued"), ctx.sessions.begin() as session:
                invitations.queue_invitations(session, ctx.config, settings, stored)
            mail("open")
            with _step(spent, "collect: files read, checked, stored"):
                intake.collect_in_chunks(ctx.sessions, ctx.config, settings, stored)
            mail("collect")
            with _step(spent, "route: steps"), ctx.sessions.begin() as session:
                ensure_steps(session, ctx.config, semester_id=stored.id)
            with _step(spent, "route: digests queued"), ctx.sessions.begin() as session:
                queue_route_mail(session, ctx.config, settings, stored)
            mail("route")
            load.approve_the_rest(settings)
            with _step(spent, "evaluate: files read, checked, stored"):
                with ctx.sessions.begin() as session:
                    evaluation.evaluate(session, ctx.config, settings, stored)
            with _step(spent, "evaluate: figures"), ctx.sessions.begin() as session:
                refresh_figures(session, ctx.config, stored)
            with _step(spent, "evaluate: reminders"), ctx.sessions.begin() as session:
                remind_missing(session, ctx.config, "lv", stored, today_riga())
            mail("evaluate")
            with _step(spent, "summaries: figures"), ctx.sessions.begin() as session:
                refresh_figures(session, ctx.config, stored)
            summary_run = SummaryRun(provisional=_before_deadline(settings))
            with _step(spent, "summaries: composed and queued"), ctx.sessions.begin() as session:
                compose.queue_summaries(
                    session, ctx.config, "lv", stored, today_riga(), summary_run
                )
            mail("summaries")
    print(f"{'step':<46} {'wall s':>7} {'CPU s':>7}")
    for name, (wall, cpu) in sorted(spent.items()):
        print(f"{name:<46} {wall:7.2f} {cpu:7.2f}")


if __name__ == "__main__":
    main()
