"""The result of validating a batch: accepted rows, and one rejection per row and problem."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from pumpurs.intake.normalise import shown
from pumpurs.intake.problems import Problems

REJECTION_COLUMNS = (
    "file",
    "folder_school",
    "row_number",
    "pupil_ref",
    "column",
    "rule",
    "message",
)


@dataclass(frozen=True, eq=False)
class Validation:
    """Accepted rows (typed, normalised) and rejections (file, row, rule, column, message)."""

    accepted: pd.DataFrame
    rejections: pd.DataFrame


def outcome(
    data: pd.DataFrame, problems: Problems, typed: Callable[[pd.DataFrame], pd.DataFrame]
) -> Validation:
    """Split the batch into accepted rows (in the form `typed` gives them) and rejections."""
    found = problems.frame()
    rejected = data.index.isin(found["row"])
    accepted = typed(data.loc[~rejected]).reset_index(drop=True)
    meta = data[["file", "folder_school", "row_number", "pupil_ref", "file_rank"]]
    rejections = found.join(meta, on="row").sort_values(["file_rank", "row_number"], kind="stable")
    rejections["pupil_ref"] = shown(rejections["pupil_ref"])
    rejections = rejections.loc[:, list(REJECTION_COLUMNS)].reset_index(drop=True)
    rejections["column"] = or_none(rejections["column"])
    rejections["row_number"] = rejections["row_number"].astype("int64")
    return Validation(accepted, rejections)


def or_none(values: pd.Series) -> pd.Series:
    """Return optional text as objects with None where it is missing (as the store wants it)."""
    return values.astype(object).where(values.notna(), None)


def row_accounting(rows: pd.DataFrame, validation: Validation) -> dict[str, int]:
    """Count rows read, accepted and rejected; `unaccounted` is zero when nothing was lost."""
    read = len(rows)
    accepted = len(validation.accepted)
    rejected = len(validation.rejections[["file", "row_number"]].drop_duplicates())
    return {
        "read": read,
        "accepted": accepted,
        "rejected": rejected,
        "unaccounted": read - accepted - rejected,
    }
