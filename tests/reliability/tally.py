"""The suite's running count: faults injected, inputs tried, items lost, items duplicated."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass


@dataclass
class Tally:
    faults: int = 0
    inputs: int = 0
    lost: int = 0
    duplicated: int = 0
    tests: int = 0
    uploads: int = 0  # files sent through a school's page
    files_lost: int = 0  # an upload the page kept that no run stored
    files_twice: int = 0  # an upload stored (or kept in the inbox) more than once

    def fault(self, count: int = 1) -> None:
        """Count faults injected: a server down, a dropped connection, a killed process."""
        self.faults += count

    def tried(self, count: int = 1) -> None:
        """Count hostile or generated inputs fed to the system."""
        self.inputs += count

    def reconcile(self, expected: Iterable[Hashable], observed: Iterable[Hashable]) -> None:
        """Count expected items that never arrived (lost) and extra copies (duplicated).

        Each expected item should be observed as often as it is expected; anything observed
        beyond that, including items nobody expected, is a duplicate.
        """
        wanted, seen = Counter(expected), Counter(observed)
        self.lost += sum(max(0, n - seen[key]) for key, n in wanted.items())
        self.duplicated += sum(max(0, n - wanted[key]) for key, n in seen.items())

    def count(self, expected: int, keys: Iterable[Hashable]) -> None:
        """Count against a known total: keys missing from it are lost, repeated keys duplicated."""
        seen = list(keys)
        distinct = len(set(seen))
        self.lost += max(0, expected - distinct)
        self.duplicated += len(seen) - distinct + max(0, distinct - expected)

    def balance(self, expected: int, got: int) -> None:
        """Count a shortfall against a known total as lost, an excess as duplicated."""
        self.lost += max(0, expected - got)
        self.duplicated += max(0, got - expected)

    def uploaded(self, tried: int, lost: int, twice: int) -> None:
        """Count uploads through a school's page: those tried, files lost and stored twice
        (each also counts among the items lost and duplicated)."""
        self.uploads += tried
        self.inputs += tried
        self.files_lost += lost
        self.files_twice += twice
        self.lost += lost
        self.duplicated += twice

    def line(self) -> str:
        """Return the suite's closing line."""
        line = (
            f"reliability: faults injected {self.faults}, inputs tried {self.inputs}, "
            f"items lost {self.lost}, items duplicated {self.duplicated}"
        )
        if self.uploads:
            line += (
                f"; uploads tried {self.uploads}, files lost {self.files_lost}, "
                f"files stored twice {self.files_twice}"
            )
        return line


TALLY = Tally()
