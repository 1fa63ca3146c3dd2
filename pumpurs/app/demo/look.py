"""Where to look after the demo: the emails, the reports attached to them, the database, Prefect."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pumpurs.app.demo.lines import Lines
from pumpurs.app.demo.outbox import Kept, kinds, read_outbox, save_attachments
from pumpurs.config import Config
from pumpurs.i18n.catalogue import N_
from pumpurs.settings import Settings
from pumpurs.store import db

REPORTS = ("collect_report", "evaluation_report")
KINDS = {  # each kind of email, as the demo names it
    "invitation": N_("invitation"),
    "collect_report": N_("plans report"),
    "approval_digest": N_("approval digest"),
    "approval_reminder": N_("approval reminder"),
    "escalation": N_("escalation"),
    "plan_returned": N_("plan returned"),
    "evaluation_report": N_("evaluation report"),
    "evaluation_reminder": N_("evaluation reminder"),
    "summary": N_("summary"),
}


def shown(path: Path) -> str:
    """Return a path as short as it can be said: relative to the current folder if inside it."""
    resolved, here = path.resolve(), Path.cwd()
    return str(resolved.relative_to(here) if resolved.is_relative_to(here) else resolved)


def where_to_look(
    settings: Settings, config: Config, demo_dir: Path, ui: str | None, say: Lines
) -> list[Path]:
    """Save the reports, print where everything is; return every file the lines name."""
    t, n = say.texts, say.count
    messages = read_outbox(settings.outbox_dir)
    with db.session_factory(settings.effective_database_url)() as session:
        kind_of = kinds(session)
    by_kind: dict[str, list[Kept]] = {}
    for kept in messages:
        by_kind.setdefault(kind_of.get(kept.message_id, "?"), []).append(kept)
    counts = Counter({kind: len(found) for kind, found in by_kind.items()})
    label = {kind: t.gettext(KINDS[kind]) for kind in by_kind if kind in KINDS}
    say(t.gettext("Where to look:"), indent=0)
    say(
        t.ngettext(
            "Emails: %(num)s .eml file in %(folder)s (%(kinds)s)",
            "Emails: %(num)s .eml files in %(folder)s (%(kinds)s)",
            len(messages),
            folder=shown(settings.outbox_dir),
            kinds=", ".join(f"{label.get(k, k)} {n(count)}" for k, count in counts.items()),
        )
    )
    named = [by_kind[kind][0].path for kind in by_kind]
    for kind, found in by_kind.items():
        say(f"{shown(found[0].path)}  {label.get(kind, kind)} → {found[0].to}", indent=2)
    named += _reports(config, by_kind, demo_dir / "reports", say)
    say(t.gettext("Database (SQLite): %(path)s", path=shown(demo_dir / "pumpurs.db")))
    say(t.gettext("Schools' files: %(path)s", path=shown(settings.effective_inbox_dir)))
    if ui:
        say(t.gettext("Prefect UI (runs, artifacts): %(url)s", url=ui))
    else:
        say(
            t.gettext(
                "Prefect UI: run `make serve-demo` and open http://127.0.0.1:4200 (these runs "
                "are kept in %(home)s; the approval web app then works on this database)",
                home=_prefect_home(),
            )
        )
    again = t.gettext(
        "Again from a clean slate: `make demo` (deletes %(demo)s and %(outbox)s).",
        demo=shown(demo_dir),
        outbox=shown(settings.outbox_dir),
    )
    say(again)
    return [*named, demo_dir / "pumpurs.db"]


def _reports(
    config: Config, by_kind: dict[str, list[Kept]], folder: Path, say: Lines
) -> list[Path]:
    """Save the summaries' workbooks and the rejected rows, and name them."""
    t = say.texts
    managers = {person.email.lower() for person in config.programme.summary_recipients}
    summaries = by_kind.get("summary", [])
    nation = [kept for kept in summaries if kept.to.lower() in managers]
    others = [kept for kept in summaries if kept.to.lower() not in managers]
    nation_xlsx = save_attachments(nation, folder, ".xlsx")
    region_xlsx = save_attachments(others, folder, ".xlsx")
    rejected = save_attachments(
        [k for kind in REPORTS for k in by_kind.get(kind, [])], folder, ".csv"
    )
    say(t.gettext("Reports in %(folder)s:", folder=shown(folder)))
    more = t.ngettext(
        "; %(num)s more region or municipality XLSX",
        "; %(num)s more region and municipality XLSX",
        len(region_xlsx),
    )
    named = []
    if nation_xlsx:
        line = t.gettext(
            "%(name)s  the nation's figures (the summary's attachment)%(more)s",
            name=shown(nation_xlsx[0]),
            more=more,
        )
        say(line, indent=2)
        named.append(nation_xlsx[0])
    if rejected:
        line = t.gettext(
            "%(name)s  rejected rows (a school report's attachment); CSV in all: %(count)s",
            name=shown(rejected[0]),
            count=say.count(len(rejected)),
        )
        say(line, indent=2)
        named.append(rejected[0])
    return named


def _prefect_home() -> str:
    from prefect.settings import PREFECT_HOME

    return shown(Path(PREFECT_HOME.value()))
