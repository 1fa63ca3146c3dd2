"""Validating evaluation rows: shared rules, outcome and continue answers, amounts."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pumpurs.config import load_config
from pumpurs.intake import (
    ACCEPTED_EVALUATION_COLUMNS,
    row_accounting,
    validate_evaluations,
)
from tests.intake.findings import findings

CONFIG = load_config(Path(__file__).resolve().parents[2] / "config")
SCHOOL = "LV-LIE-006"
BASE = {
    "school_code": SCHOOL,
    "pupil_ref": "S-001",
    "measure": "psychologist",
    "subject": "",
    "delivered_hours": "10",
    "spent_eur": "",
    "outcome": "improved",
    "continue": "yes",
    "comment": "",
}
EUR = {"measure": "meals", "delivered_hours": "", "spent_eur": "180,50"}


def batch(*rows: dict[str, Any]) -> pd.DataFrame:
    """Return evaluation rows (changes to BASE) of one file, numbered from row 2."""
    records = [
        {**BASE, "file": "izvertejums.csv", "folder_school": SCHOOL, "row_number": number, **row}
        for number, row in enumerate(rows, start=2)
    ]
    return pd.DataFrame(records)


def test_valid_rows_are_accepted_typed() -> None:
    rows = batch(
        {"continue": "Jā", "comment": "Labi"},
        {**EUR, "pupil_ref": "S-002", "outcome": "bez izmaiņām", "continue": "nē"},
        {"pupil_ref": "S-003", "measure": "subject_consultation", "subject": "fizika"},
        {"pupil_ref": "S-004", "delivered_hours": "0", "outcome": "WORSE", "continue": "false"},
    )
    validation = validate_evaluations(rows, CONFIG)
    assert validation.rejections.empty
    accepted = validation.accepted
    assert tuple(accepted.columns) == ACCEPTED_EVALUATION_COLUMNS
    assert accepted["continue"].tolist() == [True, False, True, False]
    assert accepted["outcome"].tolist() == ["improved", "no_change", "improved", "worse"]
    assert accepted["spent_eur"].iloc[1] == 180.5
    assert math.isnan(accepted["delivered_hours"].iloc[1])
    assert accepted["subject"].iloc[2] == "physics"
    assert accepted["comment"].iloc[0] == "Labi"
    assert pd.isna(accepted["comment"].iloc[1])


@pytest.mark.parametrize(
    ("change", "rule", "column"),
    [
        ({"school_code": "LV-XXX-001"}, "unknown_school", "school_code"),
        ({"school_code": "LV-KUL-001"}, "wrong_school", "school_code"),
        ({"pupil_ref": "120309-12345"}, "personal_code", "pupil_ref"),
        ({"comment": "Skolēns 120309-12345"}, "personal_code", "comment"),
        ({"pupil_ref": "AB"}, "pupil_ref_length", "pupil_ref"),
        ({"outcome": ""}, "missing_value", "outcome"),
        ({"continue": ""}, "missing_value", "continue"),
        ({"measure": "tutoring"}, "unknown_measure", "measure"),
        ({"measure": "subject_consultation"}, "missing_subject", "subject"),
        ({"delivered_hours": ""}, "missing_value", "delivered_hours"),
        ({"delivered_hours": "desmit"}, "delivered_not_number", "delivered_hours"),
        ({"delivered_hours": "-2"}, "negative_value", "delivered_hours"),
        ({**EUR, "spent_eur": "daudz"}, "spent_not_number", "spent_eur"),
        ({**EUR, "spent_eur": "-0,5"}, "negative_value", "spent_eur"),
        ({"outcome": "better"}, "bad_outcome", "outcome"),
        ({"continue": "varbūt"}, "bad_continue", "continue"),
    ],
)
def test_each_rule_rejects_exactly_its_row(change: dict[str, str], rule: str, column: str) -> None:
    rows = batch(change, {"pupil_ref": "S-002"})
    validation = validate_evaluations(rows, CONFIG)
    assert findings(validation) == {2: [(rule, column)]}
    assert validation.accepted["pupil_ref"].tolist() == ["S-002"]
    counts = row_accounting(rows, validation)
    assert counts["accepted"] + counts["rejected"] == counts["read"] == 2


def test_evaluation_rows_are_rejected_one_by_one() -> None:
    rows = batch({}, {**EUR, "outcome": "?"})
    validation = validate_evaluations(rows, CONFIG)
    assert findings(validation) == {3: [("bad_outcome", "outcome")]}


def test_a_later_copy_of_a_row_is_a_duplicate() -> None:
    rows = batch({}, {"outcome": " Improved", "continue": "jā", "delivered_hours": "10,0"})
    assert findings(validate_evaluations(rows, CONFIG)) == {3: [("duplicate_row", None)]}


def test_a_pupils_rows_must_agree_on_continuing() -> None:
    rows = batch({}, {**EUR, "continue": "no"})
    validation = validate_evaluations(rows, CONFIG)
    assert findings(validation) == {
        2: [("inconsistent_plan", "continue")],
        3: [("inconsistent_plan", "continue")],
    }
    message = validation.rejections["message"].iloc[0]
    assert message == (
        "Skolēna “S-001” rindās 2, 3 kolonnā “Turpināt” ir dažādas vērtības. Ierakstiet visās "
        "skolēna rindās vienu un to pašu vērtību."
    )


def test_bad_continue_message_in_latvian() -> None:
    validation = validate_evaluations(batch({"continue": "varbūt"}), CONFIG)
    assert validation.rejections["message"].tolist() == [
        "Kolonnā “Turpināt” ir “varbūt”. Ierakstiet yes vai no (der arī jā vai nē)."
    ]
