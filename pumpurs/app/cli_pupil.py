"""`pumpurs pupil show|erase SCHOOL REF`: answer a school's or a parent's question about one
pupil reference, and erase it on request (`pumpurs.retention.pupil`)."""

from __future__ import annotations

import datetime as dt
import getpass
import json
from typing import Annotated, Any

import typer

from pumpurs.clock import RIGA
from pumpurs.i18n.catalogue import N_, Texts, texts
from pumpurs.i18n.formats import fmt_day
from pumpurs.retention import PupilReport, erase_pupil, pupil_report

pupil_app = typer.Typer(
    help=N_("One pupil reference of one school: what is held about it, erasure on request."),
    no_args_is_help=True,
)
SchoolArg = Annotated[str, typer.Argument(help=N_("The school's code, e.g. LV-LIE-006."))]
RefArg = Annotated[str, typer.Argument(help=N_("The pupil reference the school uses."))]
JsonOption = Annotated[bool, typer.Option("--json", help=N_("Print a machine-readable result."))]


def _when(value: Any, language: str) -> str:
    if isinstance(value, dt.datetime):
        local = value.astimezone(RIGA)
        return f"{fmt_day(local.date(), language)} {local:%H:%M}"
    return str(value)


@pupil_app.command("show", help=N_("List everything held about a pupil reference of a school."))
def show(school: SchoolArg, ref: RefArg, as_json: JsonOption = False) -> None:
    from pumpurs.store.context import load_context

    ctx = load_context()
    with ctx.sessions() as session:
        report = pupil_report(session, ctx.settings, school, ref)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, sort_keys=True))
        return
    for line in report_lines(report, str(ctx.settings.language)):
        typer.echo(line)


def report_lines(report: PupilReport, language: str) -> list[str]:
    """Return the report as lines a person reads, in their language."""
    t = texts(language)
    lines = [
        t.gettext(
            "Held about pupil reference %(ref)s of school %(school)s:",
            ref=report.ref,
            school=report.school,
        )
    ]
    if not any(report.counts().values()):
        return [*lines, "  " + t.gettext("nothing.")]
    lines += _section(t, N_("Plans: %(count)s"), report.plans)
    for plan in report.plans:
        lines.append(f"  - {plan['semester']} #{plan['plan_id']}: {plan['status']}")
        for r in plan["revisions"]:
            measures = ", ".join(m["measure"] for m in r["measures"])
            lines.append(
                "    "
                + t.gettext(
                    "revision %(number)s, grade %(grade)s; goal: %(goal)s; risks: %(risks)s; "
                    "measures: %(measures)s",
                    number=r["number"],
                    grade=r["grade"],
                    goal=r["goal"] or "—",
                    risks=", ".join(r["risks"]) or "—",
                    measures=measures or "—",
                )
            )
        if plan["evaluation"]:
            e = plan["evaluation"]
            lines.append(
                "    "
                + t.gettext(
                    "evaluation: %(outcome)s; comment: %(comment)s",
                    outcome=e["outcome"],
                    comment=e["comment"] or "—",
                )
            )
        for d in plan["decisions"]:
            who = d["approver"] if not d["substitute"] else f"{d['substitute']} / {d['approver']}"
            lines.append(
                "    "
                + t.gettext(
                    "decision %(when)s: %(outcome)s (%(who)s); reason: %(reason)s",
                    when=_when(d["at"], language),
                    outcome=d["outcome"],
                    who=who,
                    reason=d["reason"] or "—",
                )
            )
    lines += _section(t, N_("Refused rows of the school's files: %(count)s"), report.rejected_rows)
    lines += [
        f"  - {r['semester']} {r['file']}:{r['row']} ({r['column'] or '—'}) {r['message']}"
        for r in report.rejected_rows
    ]
    lines += _section(t, N_("Kept files that name it: %(count)s"), report.files)
    lines += [
        f"  - {f['semester']} {f['kind']}/{f['file']} (#{f['submission']})" for f in report.files
    ]
    lines += _section(t, N_("Files in the inbox that name it: %(count)s"), report.inbox_files)
    lines += [f"  - {path}" for path in report.inbox_files]
    lines += _section(t, N_("Emails that named it: %(count)s"), report.emails)
    lines += [
        f"  - {_when(m['queued_at'], language)} {m['kind']} → {m['to']} ({m['status']})"
        for m in report.emails
    ]
    lines += _section(t, N_("Views of its plans' pages: %(count)s"), report.views)
    lines += [
        f"  - {_when(v['at'], language)} {v['page']} #{v['plan_id']} {v['link_holder']} "
        f"{v['ip'] or '—'} {v['user_agent'] or '—'}"
        for v in report.views
    ]
    lines += _section(t, N_("Audit entries of its plans: %(count)s"), report.audit)
    lines += [
        f"  - {_when(a['at'], language)} {a['action']} ({a['actor']}) #{a['plan_id']}"
        for a in report.audit
    ]
    return lines


def _section(t: Texts, heading: str, items: list[Any]) -> list[str]:
    return [t.gettext(heading, count=len(items))] if items else []


@pupil_app.command(
    "erase",
    help=N_(
        "Erase a pupil reference of a school on request: the reference becomes a token "
        "everywhere, goals, comments and reasons go (with an audit entry)."
    ),
)
def erase(
    school: SchoolArg,
    ref: RefArg,
    yes: Annotated[
        bool, typer.Option("--yes", help=N_("Erase; without it, only say what would go."))
    ] = False,
    as_json: JsonOption = False,
) -> None:
    from pumpurs.store.context import load_context

    ctx = load_context()
    language = str(ctx.settings.language)
    t = texts(language)
    with ctx.sessions.begin() as session:
        erased = erase_pupil(
            session, ctx.settings, school, ref, actor=f"cli:{getpass.getuser()}", apply=yes
        )
    result: dict[str, Any] = {
        "school": school,
        "erased": yes and erased.token is not None,
        "token": erased.token,
        **erased.counts(),
    }
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, sort_keys=True))
        return
    width = max(len(key) for key in result)
    for key, value in result.items():
        typer.echo(f"{key.ljust(width)}  {value}")
    if not any(erased.counts().values()):
        typer.echo(t.gettext("Nothing is held about this pupil reference of this school."))
    elif not yes:
        typer.echo(t.gettext("Nothing was erased yet: run the command again with --yes."))
    else:
        typer.echo(
            t.gettext(
                "Erased. The reference is now %(token)s everywhere it was kept; the audit log "
                "has the entry.",
                token=erased.token,
            )
        )
