"""Command-line usage errors in the reader's language.

Typer (with its vendored click) words its usage errors in English. They are rebuilt here from
what the exception carries — the option, the parameter, its type — as a catalogue message.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from typer._click.exceptions import (
    BadOptionUsage,
    BadParameter,
    MissingParameter,
    NoSuchOption,
    UsageError,
)

from pumpurs.i18n.texts import translate

_NO_SUCH_COMMAND = re.compile(r"No such command '([^']*)'")
_EXTRA_ARGUMENTS = re.compile(r"unexpected extra argument\S* \((.*)\)")
_EXPECTED: dict[Any, str] = {int: "integer", float: "number", Path: "path", bool: "boolean"}


def usage_message(error: UsageError, language: str) -> str:
    """Return one line saying what was wrong with the command line and where to look."""
    command = error.ctx.command_path if error.ctx else "pumpurs"
    if isinstance(error, MissingParameter):
        what = "option" if _name(error).startswith("-") else "argument"
        problem = translate(f"cli.usage.missing_{what}", language, name=_name(error))
    elif isinstance(error, BadParameter):
        problem = translate("cli.usage.bad_value", language, name=_name(error))
        if expected := _EXPECTED.get(_annotation(error.param)):
            problem += " " + translate(f"cli.usage.expected_{expected}", language)
    elif isinstance(error, NoSuchOption):
        problem = translate("cli.usage.no_such_option", language, option=error.option_name)
        if error.possibilities:
            options = ", ".join(sorted(error.possibilities))
            problem += " " + translate("cli.usage.did_you_mean", language, options=options)
    elif isinstance(error, BadOptionUsage) and "requires an argument" in error.message:
        problem = translate("cli.usage.option_needs_value", language, option=error.option_name)
    elif found := _NO_SUCH_COMMAND.search(error.message):
        problem = translate("cli.usage.no_such_command", language, name=found.group(1))
    elif found := _EXTRA_ARGUMENTS.search(error.message):
        problem = translate("cli.usage.extra_arguments", language, args=found.group(1))
    else:
        problem = translate("cli.usage.other", language, detail=error.message.rstrip("."))
    return translate("cli.usage.line", language, problem=problem, command=command)


def _name(error: BadParameter) -> str:
    if error.param_hint:
        hint = error.param_hint
        return " / ".join(hint) if isinstance(hint, (list, tuple)) else str(hint)
    opts = list(getattr(error.param, "opts", None) or [])
    options = [opt for opt in opts if opt.startswith("-")]
    return options[0] if options else str(getattr(error.param, "name", None) or "?")


def _annotation(param: object) -> Any:
    """Return the Python type a parameter was declared with, where Typer keeps it."""
    return getattr(getattr(param, "type_descriptor", None), "annotation", None)
