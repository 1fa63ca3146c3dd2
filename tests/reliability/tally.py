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

    def line(self) -> str:
        """Return the suite's closing line."""
        return (
            f"reliability: faults injected {self.faults}, inputs tried {self.inputs}, "
            f"items lost {self.lost}, items duplicated {self.duplicated}"
        )


TALLY = Tally()
