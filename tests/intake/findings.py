"""What the intake tests read from a validation: each rejected row's (rule, column) findings."""

from __future__ import annotations

from pumpurs.intake import Validation


def findings(validation: Validation) -> dict[int, list[tuple[str, str | None]]]:
    """Return each rejected row number with its (rule, column) findings."""
    result: dict[int, list[tuple[str, str | None]]] = {}
    rejections = validation.rejections
    for number, rule, column in zip(
        rejections["row_number"].tolist(),
        rejections["rule"].tolist(),
        rejections["column"].tolist(),
        strict=True,
    ):
        result.setdefault(number, []).append((rule, column))
    return result
