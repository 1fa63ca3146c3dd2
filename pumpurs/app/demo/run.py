"""`make demo`: a whole semester on generated data, with a local mail server, under ./var."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pumpurs.app.demo.cycle import Cycle
from pumpurs.app.demo.lines import Lines
from pumpurs.app.demo.look import shown, where_to_look
from pumpurs.app.demo.web import WebApp, free_port
from pumpurs.app.demo.world import demo_settings
from pumpurs.app.prefect_api import prefect_server
from pumpurs.generate import Scale, generate
from pumpurs.mail.sink import SmtpSink
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings, get_settings
from pumpurs.store.context import load_context, use_settings

SEMESTER = SemesterCode.parse("2026/2027-1")
RETURN_SHARE = 0.05  # plans the approvers send back to the school with a reason


def run_demo(base: Settings | None = None, scale: Scale = "city") -> dict[str, Any]:
    """Run a whole semester on generated data and say where to look; return the steps' results."""
    base = base or get_settings()
    started, say = time.monotonic(), Lines(str(base.language))
    t, n = say.texts, say.count
    demo_dir, outbox = _fresh(base.var_dir / "demo"), _fresh(base.outbox_dir)
    title = t.gettext(
        "PuMPuRS: a whole semester %(semester)s on generated data (scale: %(scale)s)",
        semester=SEMESTER.code,
        scale=scale,
    )
    say(title, indent=0)
    data = generate(scale, 1, demo_dir / "data", SEMESTER).as_dict()
    say.step(
        t.gettext(
            "Schools' files in the inbox: %(schools)s, %(plans)s, %(rows)s, %(mistakes)s; "
            "%(evaluation_rows)s",
            schools=t.ngettext("%(num)s school", "%(num)s schools", data["schools"]),
            plans=t.ngettext("%(num)s plan", "%(num)s plans", data["plans"]),
            rows=t.ngettext("%(num)s row", "%(num)s rows", data["rows"]),
            mistakes=t.ngettext(
                "%(num)s plan with mistakes", "%(num)s plans with mistakes", data["mistakes"]
            ),
            evaluation_rows=t.ngettext(
                "evaluation row %(num)s", "evaluation rows %(num)s", data["evaluation_rows"]
            ),
        )
    )
    port = free_port()
    with SmtpSink(outbox=outbox) as sink, _prefect_ui() as ui:
        settings = demo_settings(base, f"http://127.0.0.1:{port}", sink.host, sink.port)
        smtp = f"{sink.host}:{sink.port}"
        servers = t.gettext(
            "Web app %(web)s, mail server %(smtp)s (every message → %(outbox)s)",
            web=settings.base_url,
            smtp=smtp,
            outbox=shown(outbox),
        )
        say.step(servers)
        with use_settings(settings), WebApp(settings, port):
            config = load_context(settings).config
            results = Cycle(settings, SEMESTER, say).run(RETURN_SHARE)
    say(t.gettext("Done in %(seconds)s s.", seconds=n(round(time.monotonic() - started))), indent=0)
    results["files"] = where_to_look(settings, config, demo_dir, ui, say)
    return results


def _fresh(path: Path) -> Path:
    """Return an empty folder at `path`: what an earlier demo left there is deleted."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


@contextmanager
def _prefect_ui() -> Iterator[str | None]:
    """Report to the Prefect server that runs (configured, or `make serve`'s); yield its UI.

    Without one, the flows use Prefect's own short-lived server, which keeps the runs in
    PREFECT_HOME for `make serve` to show later; None is yielded then.
    """
    _quiet_console()
    with prefect_server() as ui:
        yield ui


def _quiet_console() -> None:
    """Show only Prefect's warnings on the console from now on: the demo says what happens,
    and each run's whole log is in Prefect."""
    import prefect.main  # noqa: F401 - sets up Prefect's logging, so its handlers exist
    from prefect.logging.handlers import PrefectConsoleHandler

    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler):
            handler.setLevel(max(handler.level, logging.WARNING))
