"""Collect rule findings over a batch and write their messages, many rows at a time.

Every value that goes into a message passes `shown` here, so no message can carry a personal
code, whatever a rule hands in.
"""

from __future__ import annotations

from collections.abc import Mapping
from string import Formatter

import pandas as pd

from pumpurs.columns import EVALUATION_COLUMNS, PLAN_COLUMNS
from pumpurs.i18n.texts import catalogue
from pumpurs.intake.normalise import shown
from pumpurs.privacy import mask

ParamValue = pd.Series | str | int | float
PROBLEM_COLUMNS = ("row", "rule", "column", "message")
_LABELS = {column.key: column for column in (*PLAN_COLUMNS, *EVALUATION_COLUMNS)}


def column_label(key: str, language: str) -> str:
    """Return a column's header label as people see it in the language."""
    column = _LABELS[key]
    return column.en if language == "en" else column.lv


def render(
    message_id: str, language: str, index: pd.Index, params: Mapping[str, ParamValue]
) -> pd.Series:
    """Fill a message template for the `index` rows; Series params give each row its value."""
    entry = catalogue()[message_id]
    template = entry.get(language) or entry["lv"]
    text = pd.Series("", index=index, dtype="str")
    for literal, name, _spec, _conversion in Formatter().parse(template):
        text = text + literal
        if name is not None:
            value = params[name]
            if isinstance(value, pd.Series):
                text = text + value.loc[index].astype("str").fillna("")
            else:
                text = text + str(value)
    return text


class Problems:
    """The rule findings of one batch: which rows, which rule and column, and the message."""

    def __init__(self, index: pd.Index, language: str) -> None:
        self.index = index
        self.language = language
        self._parts: list[pd.DataFrame] = []

    def add(self, rule: str, hits: pd.Series, column: str | None, **params: ParamValue) -> None:
        """Record that `rule` fails on the rows where `hits` is true."""
        rows = hits.index[hits.fillna(False).astype(bool)]
        if rows.empty:
            return
        if column is not None:
            params.setdefault("column_label", column_label(column, self.language))
        safe = {
            name: shown(value.loc[rows]) if isinstance(value, pd.Series) else mask(str(value))
            for name, value in params.items()
        }
        message = render(f"intake.rule.{rule}", self.language, rows, safe)
        part = {"row": rows, "rule": rule, "column": column, "message": message.to_numpy()}
        self._parts.append(pd.DataFrame(part))

    def rejected(self) -> pd.Series:
        """Return a boolean mask of the rows with at least one finding."""
        return pd.Series(self.index.isin(self.frame()["row"]), index=self.index)

    def frame(self) -> pd.DataFrame:
        """Return every finding, one row each, in the order the rules were checked."""
        if not self._parts:
            empty = {name: pd.Series(dtype="str") for name in PROBLEM_COLUMNS}
            empty["row"] = pd.Series(dtype="int64")
            return pd.DataFrame(empty)
        return pd.concat(self._parts, ignore_index=True)
