"""Where to look after the demo: the emails, the reports attached to them, the database, Prefect."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pumpurs.app.demo.cycle import Say
from pumpurs.app.demo.outbox import Kept, kinds, read_outbox, save_attachments
from pumpurs.config import Config
from pumpurs.i18n.texts import translate
from pumpurs.settings import Settings
from pumpurs.store import db

REPORTS = ("collect_report", "evaluation_report")


def shown(path: Path) -> str:
    """Return a path as short as it can be said: relative to the current folder if inside it."""
    resolved, here = path.resolve(), Path.cwd()
    return str(resolved.relative_to(here) if resolved.is_relative_to(here) else resolved)


def where_to_look(
    settings: Settings, config: Config, demo_dir: Path, ui: str | None, say: Say
) -> list[Path]:
    """Save the reports, print where everything is; return every file the lines name."""
    language = str(settings.language)
    messages = read_outbox(settings.outbox_dir)
    with db.session_factory(settings.effective_database_url)() as session:
        kind_of = kinds(session)
    by_kind: dict[str, list[Kept]] = {}
    for kept in messages:
        by_kind.setdefault(kind_of.get(kept.message_id, "?"), []).append(kept)
    counts = Counter({kind: len(found) for kind, found in by_kind.items()})
    label = {kind: translate(f"demo.kind.{kind}", language) for kind in by_kind if kind != "?"}
    say("demo.look.title", indent=0)
    say("demo.look.mail", count=len(messages), folder=shown(settings.outbox_dir),
        kinds=", ".join(f"{label.get(k, k)} {n}" for k, n in counts.items()))  # fmt: skip
    named = [by_kind[kind][0].path for kind in by_kind]
    for kind, found in by_kind.items():
        say("demo.look.mail_file", name=shown(found[0].path), kind=label.get(kind, kind),
            to=found[0].to, indent=2)  # fmt: skip
    named += _reports(config, by_kind, demo_dir / "reports", say, language)
    say("demo.look.database", path=shown(demo_dir / "pumpurs.db"))
    say("demo.look.inbox", path=shown(settings.effective_inbox_dir))
    if ui:
        say("demo.look.prefect_running", url=ui)
    else:
        say("demo.look.prefect_start", home=_prefect_home())
    say("demo.look.again", demo=shown(demo_dir), outbox=shown(settings.outbox_dir))
    return [*named, demo_dir / "pumpurs.db"]


def _reports(
    config: Config, by_kind: dict[str, list[Kept]], folder: Path, say: Say, language: str
) -> list[Path]:
    """Save the summaries' workbooks and the rejected rows, and name them."""
    managers = {person.email.lower() for person in config.programme.summary_recipients}
    summaries = by_kind.get("summary", [])
    nation = [kept for kept in summaries if kept.to.lower() in managers]
    others = [kept for kept in summaries if kept.to.lower() not in managers]
    nation_xlsx = save_attachments(nation, folder, ".xlsx")
    region_xlsx = save_attachments(others, folder, ".xlsx")
    rejected = save_attachments([k for kind in REPORTS for k in by_kind.get(kind, [])], folder,
                                ".csv")  # fmt: skip
    say("demo.look.reports", folder=shown(folder))
    more = translate("demo.look.region_xlsx", language, count=len(region_xlsx))
    named = []
    if nation_xlsx:
        say("demo.look.nation_xlsx", name=shown(nation_xlsx[0]), more=more, indent=2)
        named.append(nation_xlsx[0])
    if rejected:
        say("demo.look.csv", name=shown(rejected[0]), count=len(rejected), indent=2)
        named.append(rejected[0])
    return named


def _prefect_home() -> str:
    from prefect.settings import PREFECT_HOME

    return shown(Path(PREFECT_HOME.value()))
