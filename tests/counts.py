"""A flow run's counts, read as the numbers the tests compare."""

from __future__ import annotations

from collections.abc import Mapping


def count(counts: Mapping[str, object], name: str) -> int:
    """Return the count `name` of a flow run's result, failing when it is not a number."""
    value = counts[name]
    assert isinstance(value, int) and not isinstance(value, bool), (name, value)
    return value
