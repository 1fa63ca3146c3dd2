"""Validate evaluation rows (semester end) of a whole batch of files at once (DESIGN.md §5).

Rows are checked one by one: an evaluation is matched to its stored plan later, in the store.
Delivered hours or spent EUR given for a measure not planned in that unit are ignored.
"""

from __future__ import annotations

import pandas as pd

from pumpurs.columns import EVALUATION_COLUMNS
from pumpurs.config import Config, Unit
from pumpurs.intake import rules
from pumpurs.intake.normalise import folded, parse_number
from pumpurs.intake.outcome import Validation, or_none, outcome
from pumpurs.intake.problems import Problems
from pumpurs.intake.table import EVALUATION_REQUIRED

EVALUATION_KEYS = tuple(column.key for column in EVALUATION_COLUMNS)
ACCEPTED_EVALUATION_COLUMNS = (
    "school_code",
    "pupil_ref",
    "measure",
    "subject",
    "delivered_hours",
    "spent_eur",
    "outcome",
    "continue",
    "comment",
    "file",
    "row_number",
)
OUTCOMES = {
    "improved": "improved",
    "uzlabojās": "improved",
    "no_change": "no_change",
    "no change": "no_change",
    "bez izmaiņām": "no_change",
    "worse": "worse",
    "pasliktinājās": "worse",
}
CONTINUE = {"yes": True, "jā": True, "ja": True, "true": True, "1": True}
CONTINUE |= {"no": False, "nē": False, "ne": False, "false": False, "0": False}
_REQUIRED = dict.fromkeys(EVALUATION_REQUIRED, "missing_value")


def validate_evaluations(rows: pd.DataFrame, config: Config, language: str = "lv") -> Validation:
    """Check every evaluation row of the batch and return the accepted rows and rejections."""
    data = rules.prepare(rows, EVALUATION_KEYS)
    problems = Problems(data.index, language)
    rules.check_required(data, problems, _REQUIRED)
    rules.check_school(data, problems, config)
    rules.check_pupil_ref(data, problems, ("pupil_ref", "comment"))
    rules.check_measure(data, problems, config.catalogue)
    rules.check_subject(data, problems, config.catalogue)
    _check_amount(data, problems, "delivered_hours", Unit.HOURS, "delivered_not_number")
    _check_amount(data, problems, "spent_eur", Unit.EUR, "spent_not_number")
    _check_choices(data, problems)
    rules.check_duplicates(data, problems, _normalised(data))
    _check_continue_agrees(data, problems)
    return outcome(data, problems, _typed)


def _check_amount(
    data: pd.DataFrame, problems: Problems, key: str, unit: Unit, not_number: str
) -> None:
    """Check a measure's delivered amount in its unit (required, a number, not negative)."""
    applies = rules.is_unit(data, unit)
    raw = data[key]
    amount, bad = parse_number(raw)
    problems.add("missing_value", applies & raw.eq(""), key)
    problems.add(not_number, applies & bad, key, value=raw)
    problems.add("negative_value", applies & amount.lt(0), key, value=raw)
    data[f"{key}_n"] = amount.where(applies & amount.ge(0))


def _check_choices(data: pd.DataFrame, problems: Problems) -> None:
    """Check the outcome and the continue answer; set `outcome_key` and `continue_flag`."""
    outcome_key = folded(data["outcome"]).map(OUTCOMES)
    answer = folded(data["continue"]).map(CONTINUE)
    data["outcome_key"] = outcome_key.astype("str")
    data["continue_flag"] = answer
    bad_outcome = data["outcome"].ne("") & outcome_key.isna()
    problems.add("bad_outcome", bad_outcome, "outcome", value=data["outcome"])
    bad_continue = data["continue"].ne("") & answer.isna()
    problems.add("bad_continue", bad_continue, "continue", value=data["continue"])


def _normalised(data: pd.DataFrame) -> pd.DataFrame:
    """Return each row's content as compared for duplicates: keys where known, else text."""

    def either(known: pd.Series, raw: pd.Series) -> pd.Series:
        return known.astype("str").fillna(folded(raw))

    return pd.DataFrame(
        {
            "school": data["school"].str.upper(),
            "pupil": data["pupil_ref"],
            "measure": either(data["measure_key"], data["measure"]),
            "subject": either(data["subject_key"], data["subject"]).where(
                data["needs_subject"], ""
            ),
            "hours": either(data["delivered_hours_n"], data["delivered_hours"]),
            "eur": either(data["spent_eur_n"], data["spent_eur"]),
            "outcome": either(data["outcome_key"], data["outcome"]),
            "continue": either(data["continue_flag"], data["continue"]),
            "comment": data["comment"].str.replace(r"\s+", " ", regex=True),
        }
    )


def _check_continue_agrees(data: pd.DataFrame, problems: Problems) -> None:
    """Flag a pupil's rows in one file that disagree on whether to continue the plan."""
    plan = ["file", "pupil_ref"]
    answers = data["continue_flag"].astype("string")
    spread = answers.groupby([data[c] for c in plan]).transform("nunique")
    hits = data["pupil_ref"].ne("") & spread.gt(1)
    rows_text = rules.group_rows(data, hits, plan)
    problems.add("inconsistent_plan", hits, "continue", pupil=data["pupil_ref"], rows=rows_text)


def _typed(data: pd.DataFrame) -> pd.DataFrame:
    """Return every row in the accepted form: keys, typed numbers, an empty comment as NA."""
    typed = pd.DataFrame(
        {
            "school_code": data["school"],
            "pupil_ref": data["pupil_ref"],
            "measure": data["measure_key"],
            "subject": or_none(data["subject_key"]),
            "delivered_hours": data["delivered_hours_n"].astype("float64"),
            "spent_eur": data["spent_eur_n"].astype("float64"),
            "outcome": data["outcome_key"],
            "continue": data["continue_flag"].astype("bool"),
            "comment": or_none(data["comment"].where(data["comment"].ne(""))),
            "file": data["file"],
            "row_number": data["row_number"],
        }
    )
    return typed.loc[:, list(ACCEPTED_EVALUATION_COLUMNS)]
