"""Whose desk a step is on today: its approver's, or their substitute's during the substitute's
dates (`substitute: {name, email, from, to}` of a roster entry, both days included, in Latvia).

The step stays the approver's: a substitute gets the approver's digests and links during the
range and decides on the approver's behalf (the decision keeps both). Outside the range
everything returns to the approver, and the links sent to the substitute no longer work.
"""

from __future__ import annotations

import datetime as dt
import threading

from pumpurs.config import Config, Substitute


class Desks:
    """The roster's substitutes by approver, as a pure rule over days."""

    def __init__(self, config: Config) -> None:
        by_approver: dict[str, list[Substitute]] = {}
        for approver in config.approvers():
            if approver.substitute is not None:
                found = by_approver.setdefault(approver.email.lower(), [])
                if approver.substitute not in found:
                    found.append(approver.substitute)
        self._by_approver = by_approver

    def substitute(self, approver: str, day: dt.date) -> Substitute | None:
        """Return who stands in for the approver on this day, if anyone does."""
        for substitute in self._by_approver.get(approver.lower(), ()):
            if substitute.stands_in_on(day):
                return substitute
        return None

    def desk(self, approver: str, day: dt.date) -> str:
        """Return the address that has the approver's steps on this day."""
        substitute = self.substitute(approver, day)
        return approver if substitute is None else substitute.email

    def stands_in(self, person: str, approver: str, day: dt.date) -> bool:
        """Return whether `person` stands in for `approver` on this day."""
        substitute = self.substitute(approver, day)
        return substitute is not None and substitute.email.lower() == person.lower()

    def stood_in_for(self, person: str, day: dt.date) -> list[str]:
        """Return the approvers (lowercase) `person` stands in for on this day."""
        return sorted(
            approver
            for approver, substitutes in self._by_approver.items()
            if any(s.email.lower() == person.lower() and s.stands_in_on(day) for s in substitutes)
        )


_lock = threading.Lock()
_built: dict[int, tuple[Config, Desks]] = {}


def desks(config: Config) -> Desks:
    """Return the desks of this configuration (built once per configuration read)."""
    found = _built.get(id(config))
    if found is not None and found[0] is config:
        return found[1]
    made = Desks(config)
    with _lock:
        if len(_built) > 8:  # configurations read again when their files change
            _built.clear()
        _built[id(config)] = (config, made)
    return made
