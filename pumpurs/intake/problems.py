"""Collect rule findings over a batch and write their messages, many rows at a time.

Each rule's English catalogue message (`RULES`, with `%(name)s` parameters) is translated once
per batch and filled in for every row at once. Every value that goes into a message passes
`shown` here, so no message can carry a personal code, whatever a rule hands in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd

from pumpurs.columns import EVALUATION_COLUMNS, PLAN_COLUMNS
from pumpurs.i18n.catalogue import N_, translations
from pumpurs.intake.normalise import shown
from pumpurs.privacy import mask

ParamValue = pd.Series | str | int | float
PROBLEM_COLUMNS = ("row", "rule", "column", "message")
_LABELS = {column.key: column for column in (*PLAN_COLUMNS, *EVALUATION_COLUMNS)}
_PARAMETER = re.compile(r"%\((\w+)\)s|%%")
RULES: dict[str, str | tuple[str, str]] = {
    # What each rule says about a row: what is wrong and what to change. A pair is the message
    # for a list of one row and for several (`rows`): the list's length decides the form, not
    # the CLDR plural rules of a count ("rindā 21" is one row, "rindās: 2, 5" two).
    "unknown_school": N_(
        "The school code “%(value)s” is not in the programme's list of schools. Write your "
        "school's code exactly as the invitation email gives it."
    ),
    "wrong_school": N_(
        "The school code “%(value)s” does not match the school whose folder the file was submitted "
        "in (%(expected)s). Write your school's code %(expected)s or submit the row in the folder "
        "of the school the plan belongs to."
    ),
    "personal_code": N_(
        "The column “%(column_label)s” holds a personal code (%(value)s). Personal codes must not "
        "be submitted: delete it and use a pseudonym chosen by the school for the pupil, e.g. "
        "S-0421."
    ),
    "pupil_ref_length": N_(
        "The pupil reference “%(value)s” has a length of %(length)s, but it must have %(min)s to "
        "%(max)s characters. Choose a reference of %(min)s–%(max)s characters, e.g. S-0421."
    ),
    "missing_value": N_(
        "The column “%(column_label)s” is empty but required. Fill it in on this row."
    ),
    "missing_goal": N_(
        "The plan's goal is missing. Write in the column “%(column_label)s” what the plan aims at "
        "(the same on all of the pupil's rows)."
    ),
    "missing_risk": N_(
        "The risk categories are missing. Write in the column “%(column_label)s” one or more of: "
        "%(allowed)s (separate several with a semicolon)."
    ),
    "grade_not_integer": N_(
        "The grade “%(value)s” is not a whole number. Write only the grade's number in the column "
        "“%(column_label)s”, e.g. 7 (no letter)."
    ),
    "grade_out_of_range": N_(
        "Grade %(value)s is not in the programme: grades %(min)s to %(max)s are allowed. Correct "
        "the grade or remove this pupil's rows from the file."
    ),
    "unknown_risk": N_(
        "The risk category “%(value)s” is unknown. Use only these: %(allowed)s (separate several "
        "with a semicolon)."
    ),
    "unknown_measure": N_(
        "The measure “%(value)s” is not in the catalogue. Choose one of: %(allowed)s."
    ),
    "unknown_subject": N_("The subject “%(value)s” is unknown. Choose one of: %(allowed)s."),
    "missing_subject": N_(
        "The measure “%(measure)s” needs a subject. Fill in the column “%(column_label)s” with one "
        "of: %(allowed)s."
    ),
    "missing_hours": N_(
        "The measure “%(measure)s” needs its hours per month. Write a number above 0 and at most "
        "%(limit)s in the column “%(column_label)s”."
    ),
    "hours_not_number": N_(
        "The column “%(column_label)s” holds “%(value)s”, which is not a number. Write only a "
        "number, e.g. 4 or 2.5."
    ),
    "hours_not_positive": N_(
        "The hours per month are %(value)s, but they must be more than 0. Write the planned number "
        "of hours or remove this measure from the plan."
    ),
    "hours_over_max": N_(
        "The hours per month are %(value)s, but at most %(limit)s are allowed. Reduce the hours or "
        "split the support."
    ),
    "missing_provider": N_(
        "The measure “%(measure)s” needs the person who delivers it. Write the teacher's or "
        "specialist's reference in the column “%(column_label)s”."
    ),
    "missing_eur": N_(
        "The measure “%(measure)s” needs an amount in EUR per month. Write the amount (0 or more) "
        "in the column “%(column_label)s”."
    ),
    "eur_not_number": N_(
        "The column “%(column_label)s” holds “%(value)s”, which is not a number. Write only the "
        "amount in figures, e.g. 25 or 12.50."
    ),
    "eur_negative": N_(
        "The EUR per month are %(value)s, but an amount cannot be negative. Write an amount of 0 "
        "or more."
    ),
    "over_cap": (
        N_(
            "The compensations of pupil “%(pupil)s” total %(total)s EUR a month, but at most "
            "%(limit)s EUR are allowed. Reduce the amounts in the column “%(column_label)s” (row "
            "%(rows)s) so that together they stay within %(limit)s EUR."
        ),
        N_(
            "The compensations of pupil “%(pupil)s” total %(total)s EUR a month, but at most "
            "%(limit)s EUR are allowed. Reduce the amounts in the column “%(column_label)s” (rows: "
            "%(rows)s) so that together they stay within %(limit)s EUR."
        ),
    ),
    "duplicate_row": N_(
        "This row repeats row %(first_row)s. Delete the extra row or correct it if it is a "
        "different measure."
    ),
    "inconsistent_plan": N_(
        "The rows %(rows)s of pupil “%(pupil)s” have different values in the column "
        "“%(column_label)s”. Write the same value on all of the pupil's rows."
    ),
    "pupil_in_two_schools": N_(
        "The pupil reference “%(pupil)s” appears with several school codes (%(codes)s) in this "
        "school's submission. Correct the school code; if these are different pupils, give them "
        "different references."
    ),
    "pupil_in_two_files": N_(
        "The plan of pupil “%(pupil)s” is already in the file “%(first_file)s”. Submit each "
        "pupil's plan in one file only: move these rows to that file or delete them."
    ),
    "plan_rejected": (
        N_(
            "This row has no error, but the plan of pupil “%(pupil)s” cannot be accepted because "
            "of errors on the pupil's row %(rows)s. Correct them and submit the pupil's whole plan "
            "again."
        ),
        N_(
            "This row has no error, but the plan of pupil “%(pupil)s” cannot be accepted because "
            "of errors on the pupil's rows: %(rows)s. Correct them and submit the pupil's whole "
            "plan again."
        ),
    ),
    "bad_outcome": N_(
        "The outcome “%(value)s” is not allowed. Write improved, no_change or worse in the column "
        "“%(column_label)s”."
    ),
    "bad_continue": N_("The column “%(column_label)s” holds “%(value)s”. Write yes or no."),
    "delivered_not_number": N_(
        "The column “%(column_label)s” holds “%(value)s”, which is not a number. Write the hours "
        "delivered, e.g. 12 or 12.5 (write 0 if there were none)."
    ),
    "spent_not_number": N_(
        "The column “%(column_label)s” holds “%(value)s”, which is not a number. Write the amount "
        "spent, e.g. 150 or 149.90 (write 0 if nothing was spent)."
    ),
    "negative_value": N_(
        "The column “%(column_label)s” holds %(value)s, but the value cannot be negative. Write 0 "
        "or more."
    ),
}


def column_label(key: str, language: str) -> str:
    """Return a column's header label as people see it in the language."""
    column = _LABELS[key]
    return column.en if language == "en" else column.lv


def render(template: str, index: pd.Index, params: Mapping[str, ParamValue]) -> pd.Series:
    """Fill a translated message for the `index` rows; Series params give each row its value."""
    text = pd.Series("", index=index, dtype="str")
    position = 0
    for found in _PARAMETER.finditer(template):
        text = text + template[position : found.start()]
        name = found.group(1)
        if name is None:  # `%%`: a percent sign
            text = text + "%"
        elif isinstance(value := params[name], pd.Series):
            text = text + value.loc[index].astype("str").fillna("")
        else:
            text = text + str(value)
        position = found.end()
    return text + template[position:]


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
        text = self._messages(rule, rows, safe)
        part = {"row": rows, "rule": rule, "column": column, "message": text.to_numpy()}
        self._parts.append(pd.DataFrame(part))

    def _messages(self, rule: str, rows: pd.Index, params: Mapping[str, ParamValue]) -> pd.Series:
        """Return the rule's message for each of the rows, translated and filled in."""
        catalogue = translations(self.language)
        message = RULES[rule]
        if isinstance(message, str):
            return render(catalogue.gettext(message), rows, params)
        one, several = (catalogue.gettext(m) for m in message)
        listed = params["rows"]
        if not isinstance(listed, pd.Series):
            raise TypeError(f"rule {rule!r} lists its rows in a Series `rows`")
        single = ~listed.str.contains(",", regex=False).to_numpy()
        parts = [render(one, rows[single], params), render(several, rows[~single], params)]
        text: pd.Series = pd.concat(parts).loc[rows]
        return text

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
