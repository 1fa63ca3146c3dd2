"""The `pumpurs` command line: runs the real Prefect flows, the web app and the tools around them.

Exit codes: 0 done, 1 a flow failed, 2 bad usage or bad input (one line on stderr). Messages
and the commands' help texts follow the language setting; the words Typer itself writes around
the help (`Usage:`, `Options:`, `[default: …]`) stay English.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

# Typer ≥ 0.20 vendors click; its usage errors are only importable from there.
from typer._click import Command
from typer._click.exceptions import NoArgsIsHelpError, UsageError

from pumpurs.app.cli_pupil import pupil_app
from pumpurs.app.cli_usage import usage_message
from pumpurs.app.runs import FlowFailed, run_flow, run_retention
from pumpurs.errors import UserError
from pumpurs.i18n.catalogue import N_, Texts, texts
from pumpurs.semester import SemesterCode

app = typer.Typer(
    name="pumpurs",
    help=N_("PuMPuRS semester cycle: open, collect, route, evaluate, summaries."),
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    no_args_is_help=True,
)
db_app = typer.Typer(help=N_("Database schema: upgrade, current."), no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(pupil_app, name="pupil")

JsonOption = Annotated[bool, typer.Option("--json", help=N_("Print a machine-readable result."))]
SemesterArg = Annotated[str, typer.Argument(help=N_("Semester code, e.g. 2026/2027-1."))]


def _emit(result: Mapping[str, object], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, default=str, sort_keys=True))
        return
    width = max((len(key) for key in result), default=0)
    for key, value in result.items():
        typer.echo(f"{key.ljust(width)}  {value}")


def _flow_command(command: str, help_text: str) -> None:
    def run(semester: SemesterArg, as_json: JsonOption = False) -> None:
        _emit(run_flow(command, semester), as_json)

    app.command(command, help=help_text)(run)


_flow_command("open-semester", N_("Open a semester: create it, carry plans over, invite schools."))
_flow_command("evaluate", N_("Evaluate plan fulfilment at semester end."))


@app.command(help=N_("Collect the schools' plan drafts from the inbox."))
def collect(
    semester: SemesterArg,
    school: Annotated[
        str | None,
        typer.Option(
            help=N_(
                "Only this school (its code): its new files are read, or else its latest "
                "report is sent again."
            )
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    _emit(run_flow("collect", semester, school=school), as_json)


@app.command(help=N_("Send approval digests, reminders and escalations."))
def route(
    semester: SemesterArg,
    approver: Annotated[
        str | None,
        typer.Option(
            help=N_(
                "Only this approver (an email address): a fresh digest of every plan awaiting "
                "them, with new links."
            )
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    _emit(run_flow("route", semester, approver=approver), as_json)


@app.command(help=N_("Email the semester summaries (once per recipient unless --force)."))
def summaries(
    semester: SemesterArg,
    force: Annotated[bool, typer.Option(help=N_("Send again to recipients who had them."))] = False,
    provisional: Annotated[
        bool,
        typer.Option(
            help=N_(
                "Before the evaluation deadline: send summaries marked provisional (the final "
                "ones still go out after the deadline)."
            )
        ),
    ] = False,
    to: Annotated[
        str | None,
        typer.Option(
            help=N_(
                "Only this party: a school, municipality or region code, or an email address "
                "(sent again if they had it)."
            )
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    _emit(run_flow("summaries", semester, force=force, provisional=provisional, to=to), as_json)


@app.command(
    help=N_("Erase the pupil data of semesters past the retention period (the figures stay).")
)
def retention(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help=N_("List what would be erased; change nothing."))
    ] = False,
    as_json: JsonOption = False,
) -> None:
    _emit(run_retention(dry_run), as_json)


@app.command(
    help=N_(
        "Show the semester now: its dates, the schools that have not submitted, the plans "
        "waiting for a decision, the evaluation. Read from the database; no flow runs."
    )
)
def status(semester: SemesterArg, as_json: JsonOption = False) -> None:
    from pumpurs.app import status as view
    from pumpurs.store.context import current_settings

    found = view.read_status(semester)
    if as_json:
        typer.echo(view.as_json(found))
    else:
        view.print_status(found, str(current_settings().language))


@app.command(
    help=N_("Write a synthetic programme: config/ and an inbox of school files with some mistakes.")
)
def generate(
    scale: Annotated[str, typer.Option(help=N_("small, city or national."))] = "small",
    seed: Annotated[
        int, typer.Option(help=N_("Random seed; the same seed gives the same bytes."))
    ] = 1,
    out: Annotated[Path, typer.Option(help=N_("Folder to write config/ and inbox/ into."))] = Path(
        "var/generated"
    ),
    semester: Annotated[str, typer.Option(help=N_("Semester of the files."))] = "2026/2027-1",
    overwrite: Annotated[bool, typer.Option(help=N_("Replace an earlier run in --out."))] = False,
    as_json: JsonOption = False,
) -> None:
    from pumpurs.generate import generate as write_data

    if scale not in ("small", "city", "national"):
        raise UserError(N_("Invalid value for --scale: choose small, city or national."))
    code = SemesterCode.parse(semester)
    try:
        result = write_data(scale, seed, out, code, overwrite=overwrite)  # type: ignore[arg-type]
    except FileExistsError:
        message = N_(
            "%(out)s already holds generated data. Choose another folder or add --overwrite."
        )
        raise UserError(message, out=str(out)) from None
    _emit(result.as_dict() | {"out": str(out)}, as_json)


@db_app.command("upgrade", help=N_("Create or migrate the database schema to the newest version."))
def db_upgrade() -> None:
    from pumpurs.store import db
    from pumpurs.store.context import current_settings

    settings = current_settings()
    url = settings.effective_database_url
    db.upgrade(url)
    tables = len(db.table_names(url))
    t = texts(str(settings.language))
    typer.echo(
        t.ngettext("Schema up to date: %(num)s table", "Schema up to date: %(num)s tables", tables)
    )


@db_app.command("current", help=N_("Say whether the database schema is the newest."))
def db_current(as_json: JsonOption = False) -> None:
    from pumpurs.store import db
    from pumpurs.store.context import current_settings

    url = current_settings().effective_database_url
    _emit({"database": _safe_url(url), "current": db.is_current(url)}, as_json)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command(
    help=N_("Run the semester cycle on generated data with a local mail sink, all under ./var.")
)
def demo() -> None:
    from pumpurs.app.demo import run_demo

    run_demo()


@app.command(
    help=N_("Start a local Prefect server, serve every deployment and the approval web app.")
)
def serve(
    prefect_port: Annotated[
        int, typer.Option(help=N_("Port of the Prefect server and UI."))
    ] = 4200,
    web_port: Annotated[int, typer.Option(help=N_("Port of the approval web app."))] = 8080,
    host: Annotated[str, typer.Option(help=N_("Address to listen on."))] = "127.0.0.1",
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help=N_(
                "Serve what `make demo` made: its database, config and inbox under var/demo, "
                "with a local mail sink filing new mail in var/outbox."
            ),
        ),
    ] = False,
) -> None:
    from pumpurs.app.serve import serve as run_all
    from pumpurs.store.context import current_settings, load_context

    if not demo:
        context = load_context()  # a broken config or database is reported before anything
        language = str(context.settings.language)
        raise typer.Exit(run_all(context.config, host, prefect_port, web_port, language))
    from pumpurs.app.demo.world import demo_world, environment

    base = current_settings()
    t = texts(str(base.language))
    with demo_world(base, host, web_port) as (settings, sink):
        context = load_context(settings)
        outbox = f"{sink.host}:{sink.port} → {settings.outbox_dir}"
        also = {t.gettext("Mail server (every message → an .eml file):"): outbox}
        code = run_all(
            context.config,
            host,
            prefect_port,
            web_port,
            str(base.language),
            environment(settings),
            also,
        )
    raise typer.Exit(code)


@app.command(
    help=N_(
        "Show every deployment's schedules (those of the cycle derived from the calendar in "
        "programme.yaml); --apply sets them on the Prefect server."
    )
)
def deployments(
    apply: Annotated[
        bool,
        typer.Option(
            "--apply",
            help=N_(
                "Replace the schedules on the Prefect server at PREFECT_API_URL (run after "
                "`prefect deploy --all` and after changing the calendar)."
            ),
        ),
    ] = False,
) -> None:
    from pumpurs.app.deployments import apply_schedules, read_deployments
    from pumpurs.config import load_config
    from pumpurs.store.context import current_settings

    settings = current_settings()
    config = load_config(settings.config_dir)
    for spec in read_deployments(config):
        for schedule in spec.schedules:
            typer.echo(f"{spec.name:<18} {schedule.slug:<28} {schedule.cron}  {schedule.timezone}")
    if apply:
        applied = apply_schedules(config)
        t = texts(str(settings.language))
        typer.echo(
            t.ngettext(
                "Schedules set on the Prefect server for %(num)s deployment.",
                "Schedules set on the Prefect server for %(num)s deployments.",
                len(applied),
            )
        )


@app.command(
    "school-link",
    help=N_(
        "Issue a new link to a school's page for the semester and print it; the school's "
        "earlier link stops working."
    ),
)
def school_link(
    semester: SemesterArg,
    school: Annotated[str, typer.Argument(help=N_("School code, e.g. LV-LIE-006."))],
) -> None:
    from pumpurs.intake.report import known_school
    from pumpurs.opening.links import issue_link, school_url
    from pumpurs.store.context import load_context
    from pumpurs.store.reference import stored_semester

    ctx = load_context()
    code = known_school(ctx.config, school)
    with ctx.sessions.begin() as session:
        stored = stored_semester(session, SemesterCode.parse(semester))
        nonce = issue_link(session, stored, code)
    typer.echo(school_url(ctx.settings, nonce))


@app.command(help=N_("Start the approval web app alone."))
def web(
    port: Annotated[int, typer.Option(help=N_("Port to listen on."))] = 8080,
    host: Annotated[str, typer.Option(help=N_("Address to listen on."))] = "127.0.0.1",
    workers: Annotated[int, typer.Option(help=N_("uvicorn worker processes."))] = 1,
) -> None:
    import uvicorn

    from pumpurs.app.web.app import proxy_options
    from pumpurs.store.context import load_context

    context = load_context()
    uvicorn.run(
        "pumpurs.app.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        **proxy_options(context.settings),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and map every outcome to an exit code with at most one line on stderr."""
    from pumpurs.store.context import current_settings

    command = typer.main.get_command(app)
    language = _language(current_settings)
    t = texts(language)
    _translate_help(command, t)
    try:
        result = command.main(args=argv, prog_name="pumpurs", standalone_mode=False)
    except NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help() if exc.ctx else str(exc), err=True)
        return 2
    except UsageError as exc:
        typer.echo(f"pumpurs: {usage_message(exc, language)}", err=True)
        return 2
    except typer.Abort:
        typer.echo(f"pumpurs: {t.gettext('interrupted')}", err=True)
        return 130
    except UserError as exc:
        typer.echo(f"pumpurs: {exc.render(language)}", err=True)
        return 2
    except ValidationError as exc:  # a PUMPURS_* setting with a wrong value
        first = exc.errors()[0]
        name = "PUMPURS_" + "_".join(str(part) for part in first["loc"]).upper()
        typer.echo(f"pumpurs: {name}: {first['msg']}", err=True)
        return 2
    except FlowFailed as exc:
        typer.echo(f"pumpurs: {t.gettext('flow failed: %(error)s', error=exc)}", err=True)
        return 1
    return result if isinstance(result, int) else 0


def _translate_help(command: Command, t: Texts) -> None:
    """Put the help texts of a command, its parameters and subcommands in the reader's language.

    The texts are English catalogue messages marked with `N_` where the commands are declared.
    """
    if command.help:
        command.help = t.gettext(command.help)
    for param in command.params:
        if help_text := getattr(param, "help", None):
            setattr(param, "help", t.gettext(help_text))  # noqa: B010  (not every Parameter has it)
    for subcommand in getattr(command, "commands", {}).values():
        _translate_help(subcommand, t)


def _language(settings_factory: Callable[[], Any]) -> str:
    try:
        return str(settings_factory().language)
    except Exception:  # the settings themselves may be what is broken
        return "lv"


def entry_point() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
