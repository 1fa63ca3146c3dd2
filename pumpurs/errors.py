"""Errors a person can act on: each names a message from the catalogue and maps to CLI exit 2."""

from __future__ import annotations

from typing import Any

from pumpurs.i18n.texts import translate


class UserError(Exception):
    """Bad input or usage: shown as one translated line, never as a traceback."""

    def __init__(self, message_id: str, **params: Any) -> None:
        self.message_id, self.params = message_id, params
        super().__init__(self.render("en"))

    def render(self, language: str) -> str:
        """Return the message in the given language."""
        return translate(self.message_id, language, **self.params)


class DatabaseUnavailable(UserError):
    """The database did not answer (down, refusing, unreachable): worth another try later."""

    def __init__(self, reason: str) -> None:
        super().__init__("error.database", reason=reason)


class ConfigError(UserError):
    """A configuration file is missing, unreadable or has a wrong value."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file, self.key, self.problem = file, key, problem
        super().__init__("error.config", file=file, key=key or "-", problem=problem)


class SemesterCodeError(UserError):
    """A semester code is not of the form `2026/2027-1`."""

    def __init__(self, code: str) -> None:
        super().__init__("error.semester_code", code=code)


class IllegalTransition(Exception):
    """A plan was asked to move to a status its lifecycle does not allow (a programming error)."""
