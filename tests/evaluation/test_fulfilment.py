"""Fulfilment arithmetic on hand-made plans: every number checked exactly."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
import pytest

from pumpurs.evaluation.fulfilment import (
    measure_results,
    plan_answers,
    plan_results,
    semester_months,
)

MONTHS, CAP, THRESHOLD = 4, 300.0, 0.8


def planned(*measures: tuple[str, str | None, float | None, float | None]) -> pd.DataFrame:
    """Return plan 1's measures: (measure, subject, hours per month, EUR per month)."""
    return pd.DataFrame(
        [
            {"plan_id": 1, "measure": m, "subject": s, "hours_per_month": h, "eur_per_month": e}
            for m, s, h, e in measures
        ]
    )


def delivered(*rows: tuple[str, str | None, float | None, float | None, str]) -> pd.DataFrame:
    """Return plan 1's evaluation rows: (measure, subject, hours, EUR, outcome)."""
    return pd.DataFrame(
        [
            {
                "plan_id": 1,
                "measure": m,
                "subject": s,
                "delivered_hours": h,
                "spent_eur": e,
                "outcome": o,
                "continue": True,
                "comment": None,
            }
            for m, s, h, e, o in rows
        ]
    )


def evaluate(plan: pd.DataFrame, rows: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    measures = measure_results(plan, rows, MONTHS)
    result = plan_results(measures, plan_answers(rows), MONTHS, CAP, THRESHOLD)
    return measures, {str(key): value for key, value in result.iloc[0].to_dict().items()}


def same(value: Any, expected: float | None) -> bool:
    """Return whether a computed value is exactly the expected one (None for no value)."""
    if expected is None:
        return value is None or (isinstance(value, float) and math.isnan(value))
    return bool(value == expected)


@pytest.mark.parametrize(
    ("starts", "ends", "months"),
    [
        (dt.date(2026, 9, 1), dt.date(2026, 12, 22), 4),
        (dt.date(2027, 1, 5), dt.date(2027, 5, 29), 5),
        (dt.date(2026, 9, 1), dt.date(2027, 1, 15), 5),  # a term running into January
        (dt.date(2026, 9, 1), dt.date(2026, 9, 30), 1),
    ],
)
def test_semester_months_counts_calendar_months(
    starts: dt.date, ends: dt.date, months: int
) -> None:
    assert semester_months(starts, ends) == months


def test_hours_and_eur_each_against_their_own_plan() -> None:
    plan = planned(
        ("subject_consultation", "mathematics", 4, None),
        ("psychologist", None, 2, None),
        ("meals", None, None, 50),
    )
    rows = delivered(
        ("subject_consultation", "mathematics", 12.8, None, "improved"),
        ("psychologist", None, 4, None, "no_change"),
        ("meals", None, None, 150, "improved"),
    )
    measures, plan_result = evaluate(plan, rows)
    by_measure = measures.set_index("measure")
    assert by_measure["planned"].to_dict() == {
        "meals": 200.0,
        "psychologist": 8.0,
        "subject_consultation": 16.0,
    }
    assert by_measure["ratio"].to_dict() == {
        "meals": 0.75,
        "psychologist": 0.5,
        "subject_consultation": 0.8,
    }
    assert plan_result["fidelity"] == 1 / 3  # only mathematics reaches 80 %
    assert plan_result["hours_ratio"] == 16.8 / 24
    assert plan_result["eur_ratio"] == 0.75
    assert plan_result["weighted_ratio"] == (16.8 / 24 + 0.75) / 2  # each unit weighs half
    assert plan_result["outcome"] == "no_change"  # the least favourable row
    assert plan_result["flags"] == {}


def test_zero_planned_hours_give_no_ratio_and_a_flag() -> None:
    plan = planned(("psychologist", None, 0, None), ("speech_therapist", None, 2, None))
    rows = delivered(
        ("psychologist", None, 3, None, "improved"), ("speech_therapist", None, 8, None, "improved")
    )
    measures, result = evaluate(plan, rows)
    assert same(measures.set_index("measure").loc["psychologist", "ratio"], None)
    assert result["fidelity"] == 1.0  # of the one measure with a ratio
    assert result["hours_ratio"] == 11 / 8  # delivered hours still count
    assert result["flags"] == {"zero_planned": ["psychologist"]}


def test_a_plan_planned_only_at_zero_has_no_ratios_at_all() -> None:
    _, result = evaluate(
        planned(("meals", None, None, 0)), delivered(("meals", None, None, 0, "no_change"))
    )
    assert same(result["fidelity"], None) and same(result["weighted_ratio"], None)
    assert result["flags"] == {"no_delivery": True, "zero_planned": ["meals"]}


def test_a_compensation_only_plan_is_weighed_in_euros() -> None:
    plan = planned(("meals", None, None, 50), ("transport", None, None, 25))
    rows = delivered(
        ("meals", None, None, 150, "improved"), ("transport", None, None, 100, "improved")
    )
    _, result = evaluate(plan, rows)
    assert result["fidelity"] == 0.5
    assert same(result["hours_ratio"], None)
    assert result["eur_ratio"] == result["weighted_ratio"] == 250 / 300
    assert result["flags"] == {}


def test_a_measure_missing_from_the_data_counts_as_not_delivered() -> None:
    plan = planned(
        ("psychologist", None, 2, None), ("subject_consultation", "mathematics", 4, None)
    )
    measures, result = evaluate(plan, delivered(("psychologist", None, 8, None, "improved")))
    missing = measures.set_index("measure").loc["subject_consultation"]
    assert not missing["reported"] and missing["delivered"] == 0.0 and missing["ratio"] == 0.0
    assert result["fidelity"] == 0.5
    assert result["hours_ratio"] == result["weighted_ratio"] == 8 / 24
    assert result["flags"] == {"missing_measures": ["subject_consultation:mathematics"]}


def test_over_delivery_is_a_ratio_above_one_and_no_flag() -> None:
    _, result = evaluate(
        planned(("teacher_assistant", None, 4, None)),
        delivered(("teacher_assistant", None, 20, None, "improved")),
    )
    assert result["weighted_ratio"] == 1.25 and result["fidelity"] == 1.0
    assert result["flags"] == {}


def test_overspending_the_plan_and_the_cap() -> None:
    _, over_plan = evaluate(
        planned(("meals", None, None, 50)), delivered(("meals", None, None, 250, "improved"))
    )
    assert over_plan["eur_ratio"] == 1.25 and over_plan["flags"] == {"overspent_plan": True}
    _, over_cap = evaluate(
        planned(("dormitory", None, None, 300)),
        delivered(("dormitory", None, None, 1200.04, "improved")),
    )
    assert over_cap["flags"] == {"overspent_plan": True, "over_cap": True}  # 300,01 EUR a month
    _, at_cap = evaluate(
        planned(("dormitory", None, None, 300)),
        delivered(("dormitory", None, None, 1200, "improved")),
    )
    assert at_cap["flags"] == {}


@pytest.mark.parametrize(
    ("planned_hours", "delivered_hours", "reached"),
    [(4, 12.8, True), (3, 9.6, True), (4, 12.79, False), (4, 16, True)],
)
def test_fidelity_at_exactly_the_threshold_counts(
    planned_hours: float, delivered_hours: float, reached: bool
) -> None:
    _, result = evaluate(
        planned(("psychologist", None, planned_hours, None)),
        delivered(("psychologist", None, delivered_hours, None, "improved")),
    )
    assert result["fidelity"] == (1.0 if reached else 0.0)


def test_nothing_delivered_and_a_worse_outcome_are_flagged() -> None:
    plan = planned(("psychologist", None, 2, None), ("transport", None, None, 25))
    rows = delivered(
        ("psychologist", None, 0, None, "improved"), ("transport", None, None, 0, "worse")
    )
    _, result = evaluate(plan, rows)
    assert result["weighted_ratio"] == 0.0 and result["fidelity"] == 0.0
    assert result["outcome"] == "worse"
    assert result["flags"] == {"no_delivery": True, "outcome_worse": True}


def test_a_measure_listed_twice_in_the_plan_is_added_up() -> None:
    plan = planned(("psychologist", None, 2, None), ("psychologist", None, 1, None))
    measures, result = evaluate(plan, delivered(("psychologist", None, 12, None, "improved")))
    assert measures["planned"].tolist() == [12.0] and result["weighted_ratio"] == 1.0


def test_answers_join_distinct_comments_per_plan() -> None:
    rows = pd.DataFrame(
        {
            "plan_id": [1, 1, 1, 2],
            "outcome": ["improved", "improved", "no_change", "improved"],
            "continue": [False, False, False, True],
            "comment": ["Sekmes uzlabojās", None, "Sekmes uzlabojās", None],
        }
    )
    answers = plan_answers(rows).set_index("plan_id")
    assert answers.loc[1, "comment"] == "Sekmes uzlabojās" and answers.loc[2, "comment"] is None
    assert answers["outcome"].to_dict() == {1: "no_change", 2: "improved"}
    assert answers["continue"].to_dict() == {1: False, 2: True}
