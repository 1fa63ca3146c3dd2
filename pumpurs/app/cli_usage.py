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

from pumpurs.i18n.catalogue import N_, texts

_NO_SUCH_COMMAND = re.compile(r"No such command '([^']*)'")
_EXTRA_ARGUMENTS = re.compile(r"unexpected extra argument\S* \((.*)\)")
_EXPECTED: dict[Any, str] = {  # what a value of a parameter's type must be
    int: N_("It must be a whole number."),
    float: N_("It must be a number."),
    Path: N_("It must be a path to a folder or file."),
    bool: N_("It must be “true” or “false”."),
}


def usage_message(error: UsageError, language: str) -> str:
    """Return one line saying what was wrong with the command line and where to look."""
    t = texts(language)
    command = error.ctx.command_path if error.ctx else "pumpurs"
    if isinstance(error, MissingParameter):
        if _name(error).startswith("-"):
            problem = t.gettext("The option %(name)s is missing.", name=_name(error))
        else:
            problem = t.gettext("The argument “%(name)s” is missing.", name=_name(error))
    elif isinstance(error, BadParameter):
        problem = t.gettext("Invalid value for %(name)s.", name=_name(error))
        if expected := _EXPECTED.get(_annotation(error.param)):
            problem += " " + t.gettext(expected)
    elif isinstance(error, NoSuchOption):
        problem = t.gettext("No such option: %(option)s.", option=error.option_name)
        if error.possibilities:
            options = ", ".join(sorted(error.possibilities))
            problem += " " + t.gettext("Did you mean %(options)s?", options=options)
    elif isinstance(error, BadOptionUsage) and "requires an argument" in error.message:
        problem = t.gettext("The option %(option)s needs a value.", option=error.option_name)
    elif found := _NO_SUCH_COMMAND.search(error.message):
        problem = t.gettext("No such command: “%(name)s”.", name=found.group(1))
    elif found := _EXTRA_ARGUMENTS.search(error.message):
        problem = t.gettext("Unexpected extra arguments: %(args)s.", args=found.group(1))
    else:
        detail = error.message.rstrip(".")
        problem = t.gettext("Wrong use of the command (%(detail)s).", detail=detail)
    return t.gettext("%(problem)s Help: %(command)s --help", problem=problem, command=command)


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
