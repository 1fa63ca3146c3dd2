"""Errors a person can act on: each carries an English message and its parameters, shown in the
reader's language through the catalogue, and maps to CLI exit 2."""

from __future__ import annotations

import datetime as dt
from typing import Any, Self

from pumpurs.i18n.catalogue import N_, texts
from pumpurs.i18n.formats import fmt_day


class UserError(Exception):
    """Bad input or usage: shown as one translated line, never as a traceback.

    `message` is an English catalogue message marked with `N_` where it is written, with
    `%(name)s` parameters: `UserError(N_("Semester %(code)s has not been opened."), code=...)`.
    """

    def __init__(self, message: str, **params: Any) -> None:
        self.message, self.params = message, params
        super().__init__(self.render("en"))

    def render(self, language: str) -> str:
        """Return the message in the given language (a date parameter written its way)."""
        params = {
            name: fmt_day(value, language) if isinstance(value, dt.date) else value
            for name, value in self.params.items()
        }
        return texts(language).gettext(self.message, **params)

    def in_language(self, language: str) -> Self:
        """Make the error's own text (what `str()` and a Prefect run's state show) the message
        in `language`, not English; return the error to raise it."""
        self.args = (self.render(language),)
        return self


class DatabaseUnavailable(UserError):
    """The database did not answer (down, refusing, unreachable): worth another try later."""

    def __init__(self, reason: str) -> None:
        super().__init__(N_("The database is not reachable (%(reason)s)."), reason=reason)


class ConfigError(UserError):
    """A configuration file is missing, unreadable or has a wrong value."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file, self.key, self.problem = file, key, problem
        super().__init__(
            N_("Configuration error in %(file)s (%(key)s): %(problem)s"),
            file=file,
            key=key or "-",
            problem=problem,
        )


class SemesterCodeError(UserError):
    """A semester code is not of the form `2026/2027-1`."""

    def __init__(self, code: str) -> None:
        super().__init__(
            N_(
                "Invalid semester code “%(code)s”: use the form 2026/2027-1 (school year and "
                "term 1 or 2)."
            ),
            code=code,
        )


class IllegalTransition(Exception):
    """A plan was asked to move to a status its lifecycle does not allow (a programming error)."""
