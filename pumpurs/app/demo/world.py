"""The demo's world: what `make demo` leaves under ./var, and the settings that reach it.

`make demo` keeps its database, generated configuration and inbox in `var/demo`, and every
email as an .eml file in `var/outbox`. `make serve-demo` serves that world: the same database,
config and inbox, and a local mail sink that files new mail in `var/outbox` after the demo's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pumpurs.errors import UserError
from pumpurs.i18n.catalogue import N_
from pumpurs.mail.sink import SmtpSink
from pumpurs.settings import Settings


def demo_dir(base: Settings) -> Path:
    """Return where the demo keeps its database and generated data."""
    return base.var_dir / "demo"


def demo_settings(base: Settings, url: str, smtp_host: str, smtp_port: int) -> Settings:
    """Return the demo's settings: its own database, generated config and inbox, a mail sink."""
    folder = demo_dir(base)
    return base.model_copy(
        update={
            "database_url": f"sqlite:///{(folder / 'pumpurs.db').resolve()}",
            "config_dir": folder / "data" / "config",
            "inbox_dir": folder / "data" / "inbox",
            "base_url": url,
            "smtp_host": smtp_host,
            "smtp_port": smtp_port,
            "smtp_user": None,
            "smtp_password": None,
            "smtp_tls": "none",
        }
    )


def environment(settings: Settings) -> dict[str, str]:
    """Return the PUMPURS_* variables that give processes started now these demo settings."""
    return {
        "PUMPURS_DATABASE_URL": str(settings.database_url),
        "PUMPURS_CONFIG_DIR": str(settings.config_dir.resolve()),
        "PUMPURS_INBOX_DIR": str(settings.effective_inbox_dir.resolve()),
        "PUMPURS_BASE_URL": settings.base_url,
        "PUMPURS_SMTP_HOST": settings.smtp_host,
        "PUMPURS_SMTP_PORT": str(settings.smtp_port),
        "PUMPURS_SMTP_USER": "",
        "PUMPURS_SMTP_PASSWORD": "",
        "PUMPURS_SMTP_TLS": "none",
        "PUMPURS_VAR_DIR": str(settings.var_dir.resolve()),
    }


@contextmanager
def demo_world(base: Settings, host: str, web_port: int) -> Iterator[tuple[Settings, SmtpSink]]:
    """Start a mail sink filing into var/outbox; yield the settings of the demo's world."""
    database = demo_dir(base) / "pumpurs.db"
    if not database.is_file():
        message = N_("There is no demo to serve: %(path)s is missing. Run `make demo` first.")
        raise UserError(message, path=str(database))
    with SmtpSink(host="127.0.0.1", outbox=base.outbox_dir) as sink:
        yield demo_settings(base, f"http://{host}:{web_port}", sink.host, sink.port), sink
