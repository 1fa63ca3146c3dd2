"""`make demo`: a whole semester on generated data, with a local mail server, under ./var."""

from __future__ import annotations

import logging
import shutil
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from pumpurs.app.demo.cycle import Cycle
from pumpurs.app.demo.look import shown, where_to_look
from pumpurs.app.demo.web import WebApp, free_port
from pumpurs.generate import Scale, generate
from pumpurs.i18n.texts import translate
from pumpurs.mail.sink import SmtpSink
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings, get_settings
from pumpurs.store.context import load_context, use_settings

SEMESTER = SemesterCode.parse("2026/2027-1")
RETURN_SHARE = 0.05  # plans the approvers send back to the school with a reason
LOCAL_PREFECT = "http://127.0.0.1:4200"  # where `make serve` runs Prefect


class Lines:
    """Print the demo's lines: numbered steps with the seconds they took, notes indented."""

    def __init__(self, language: str) -> None:
        self.language, self.step, self.mark = language, 0, time.monotonic()

    def __call__(self, message_id: str, indent: int = 1, **values: Any) -> None:
        text = translate(message_id, self.language, **values)
        if message_id.startswith("demo.step."):
            self.step, now = self.step + 1, time.monotonic()
            text = f"{self.step:>2}. {text}  [{now - self.mark:.1f} s]"
            self.mark = now
        typer.echo("   " * indent + text)


def run_demo(base: Settings | None = None, scale: Scale = "city") -> dict[str, Any]:
    """Run a whole semester on generated data and say where to look; return the steps' results."""
    base = base or get_settings()
    started, say = time.monotonic(), Lines(str(base.language))
    demo_dir, outbox = _fresh(base.var_dir / "demo"), _fresh(base.outbox_dir)
    say("demo.title", indent=0, semester=SEMESTER.code, scale=scale)
    data = generate(scale, 1, demo_dir / "data", SEMESTER)
    say("demo.step.generate", **data.as_dict())
    port = free_port()
    with SmtpSink(outbox=outbox) as sink, _prefect_ui() as ui:
        settings = _settings(base, demo_dir, f"http://127.0.0.1:{port}", sink)
        say("demo.step.servers", web=settings.base_url, smtp=f"{sink.host}:{sink.port}",
            outbox=shown(outbox))  # fmt: skip
        with use_settings(settings), WebApp(settings, port):
            config = load_context(settings).config
            results = Cycle(settings, SEMESTER, say).run(RETURN_SHARE)
    say("demo.done", indent=0, seconds=round(time.monotonic() - started))
    results["files"] = where_to_look(settings, config, demo_dir, ui, say)
    return results


def _fresh(path: Path) -> Path:
    """Return an empty folder at `path`: what an earlier demo left there is deleted."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def _settings(base: Settings, demo_dir: Path, url: str, sink: SmtpSink) -> Settings:
    """Return the demo's settings: its own database, generated config and inbox, the sink."""
    return base.model_copy(
        update={
            "database_url": f"sqlite:///{(demo_dir / 'pumpurs.db').resolve()}",
            "config_dir": demo_dir / "data" / "config",
            "inbox_dir": demo_dir / "data" / "inbox",
            "base_url": url,
            "smtp_host": sink.host,
            "smtp_port": sink.port,
            "smtp_user": None,
            "smtp_password": None,
            "smtp_tls": "none",
        }
    )


@contextmanager
def _prefect_ui() -> Iterator[str | None]:
    """Report to the Prefect server that runs (configured, or `make serve`'s); yield its UI.

    Without one, the flows use Prefect's own short-lived server, which keeps the runs in
    PREFECT_HOME for `make serve` to show later; None is yielded then.
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, temporary_settings

    _quiet_console()
    configured = PREFECT_API_URL.value()
    if configured:
        yield PREFECT_UI_URL.value() or str(configured).removesuffix("/api")
    elif _answers(f"{LOCAL_PREFECT}/api/health"):
        with temporary_settings({PREFECT_API_URL: f"{LOCAL_PREFECT}/api"}):
            yield LOCAL_PREFECT
    else:
        yield None


def _quiet_console() -> None:
    """Show only Prefect's warnings on the console from now on: the demo says what happens,
    and each run's whole log is in Prefect."""
    import prefect.main  # noqa: F401 - sets up Prefect's logging, so its handlers exist
    from prefect.logging.handlers import PrefectConsoleHandler

    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler):
            handler.setLevel(max(handler.level, logging.WARNING))


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as response:
            return bool(response.status == 200)
    except OSError:
        return False
