"""Semester figures per school, municipality, region and nation, from hand-made frames."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from pumpurs.config import load_config
from pumpurs.evaluation.evaluate import evaluate
from pumpurs.settings import Settings
from pumpurs.store.context import Context, load_context, use_settings
from pumpurs.store.models import SemesterFigure
from pumpurs.store.reference import stored_semester
from pumpurs.summaries.figures import CHANGES, FigureInput, compare_figures, compute_figures
from pumpurs.summaries.store import (
    load_input,
    read_figures,
    read_semester_figures,
    refresh_figures,
)
from tests.evaluation.factory import SEMESTER, eur, hours, put_evaluation, store_plan

CATALOGUE = load_config(Path(__file__).resolve().parents[2] / "config").catalogue
UNITS = pd.DataFrame(
    {
        "school_code": ["S-A", "S-B", "S-C"],
        "municipality_code": ["m1", "m2", "m3"],
        "region_code": ["r1", "r1", "r2"],
    }
)
PLANS = pd.DataFrame(
    {
        "plan_id": [1, 2, 3, 4, 5],
        "school_code": ["S-A"] * 4 + ["S-B"],
        "pupil_id": [11, 12, 13, 14, 15],
        "status": ["continued", "closed", "approved", "submitted", "closed"],
    }
)
MEASURES = pd.DataFrame(
    [
        (1, "subject_consultation", "mathematics", "T-1", 4.0, None),
        (1, "meals", None, None, None, 50.0),
        (2, "subject_consultation", "latvian", "T-1", 2.0, None),
        (2, "subject_consultation", "mathematics", "T-2", 2.0, None),
        (2, "transport", None, None, None, 25.0),
        (3, "psychologist", None, "S-1", 2.0, None),
        (4, "psychologist", None, "S-9", 5.0, None),  # submitted: not counted
        (5, "subject_consultation", "mathematics", "T-1", 4.0, None),
    ],  # another school's T-1
    columns=["plan_id", "measure", "subject", "provider_ref", "hours_per_month", "eur_per_month"],
)
RISKS = pd.DataFrame(
    [
        (1, "learning"),
        (1, "economic"),
        (2, "learning"),
        (3, "family"),
        (4, "social_health"),
        (5, "learning"),
    ],
    columns=["plan_id", "category"],
)
EVALUATIONS = pd.DataFrame(
    [
        (1, "improved", 1.0, 0.9, {}),
        (2, "no_change", 0.5, 0.5, {"missing_measures": ["x"]}),
        (5, "worse", 0.0, 0.2, {"outcome_worse": True}),
    ],
    columns=["plan_id", "outcome", "fidelity", "weighted_ratio", "flags"],
)
DELIVERED = pd.DataFrame(
    [
        (1, "subject_consultation", "mathematics", 16.0, None, 1.0),
        (1, "meals", None, None, 150.0, 0.75),
        (2, "subject_consultation", "latvian", 4.0, None, 0.5),
        (2, "subject_consultation", "mathematics", 8.0, None, 1.0),
        (2, "transport", None, None, 0.0, 0.0),
        (5, "subject_consultation", "mathematics", 3.2, None, 0.2),
    ],
    columns=["plan_id", "measure", "subject", "delivered_hours", "spent_eur", "ratio"],
)


def figures(evaluated: bool = True) -> dict[tuple[str, str], dict[str, Any]]:
    data = FigureInput(
        units=UNITS,
        plans=PLANS,
        measures=MEASURES,
        risks=RISKS,
        evaluations=EVALUATIONS if evaluated else EVALUATIONS.iloc[0:0],
        delivered=DELIVERED if evaluated else DELIVERED.iloc[0:0],
        months=4,
    )
    return compute_figures(data, CATALOGUE, 300.0, 0.8)


def test_every_unit_of_every_level_gets_figures() -> None:
    assert sorted(figures()) == [
        ("municipality", "m1"),
        ("municipality", "m2"),
        ("municipality", "m3"),
        ("nation", "LV"),
        ("region", "r1"),
        ("region", "r2"),
        ("school", "S-A"),
        ("school", "S-B"),
        ("school", "S-C"),
    ]


def test_a_schools_figures_are_exact() -> None:
    school = figures()[("school", "S-A")]
    assert (school["pupils"], school["plans"], school["months"]) == (3, 3, 4)
    assert school["plans_by_status"] == {
        "draft": 0,
        "submitted": 1,
        "approved": 1,
        "returned": 0,
        "evaluated": 0,
        "continued": 1,
        "closed": 1,
    }
    consultations = school["subject_consultations"]
    assert (consultations["pupils"], consultations["share"]) == (2, 0.6667)
    assert consultations["subjects"]["mathematics"] == {"pupils": 2, "share": 0.6667}
    assert consultations["subjects"]["latvian"] == {"pupils": 1, "share": 0.3333}
    assert consultations["subjects"]["physics"] == {"pupils": 0, "share": 0.0}
    assert school["risk_categories"] == {
        "learning": {"pupils": 2, "share": 0.6667},
        "economic": {"pupils": 1, "share": 0.3333},
        "family": {"pupils": 1, "share": 0.3333},
        "social_health": {"pupils": 0, "share": 0.0},
    }
    assert school["providers"] == 3  # T-1 twice is one person; S-9's plan is not approved
    assert school["measures"] == {
        "planned": 6,
        "reported": 5,
        "delivered": 4,
        "at_threshold": 2,
        "by_measure": {
            "subject_consultation": {"planned": 3, "delivered": 3},
            "psychologist": {"planned": 1, "delivered": 0},
            "transport": {"planned": 1, "delivered": 0},
            "meals": {"planned": 1, "delivered": 1},
        },
    }
    assert school["hours"] == {"planned": 40.0, "delivered": 28.0}  # (4 + 2 + 2 + 2) h × 4
    assert school["budget"] == {
        "cap_eur": 3600.0,
        "planned_eur": 300.0,
        "used_eur": 150.0,  # 3 pupils × 300 × 4
        "planned_share_of_cap": 0.0833,
        "used_share_of_cap": 0.0417,
        "used_share_of_planned": 0.5,
    }
    assert school["fulfilment"] == {
        "evaluated": 2,
        "awaiting": 1,
        "bins": {"lt_50": 0, "50_80": 1, "ge_80": 1, "none": 0},
        "mean_weighted_ratio": 0.7,
        "mean_fidelity": 0.75,
    }
    assert school["outcomes"] == {"improved": 1, "no_change": 1, "worse": 0}
    assert school["flags"]["missing_measures"] == 1 and sum(school["flags"].values()) == 1


def test_higher_levels_add_their_schools_up() -> None:
    found = figures()
    region, nation = found[("region", "r1")], found[("nation", "LV")]
    # S-C of the other region has no plans: the nation differs only in the schools taking part
    assert {**region, "schools": None} == {**nation, "schools": None}
    assert (region["pupils"], region["providers"]) == (4, 4)  # each school's T-1 is a person
    assert region["subject_consultations"]["subjects"]["mathematics"] == {
        "pupils": 3,
        "share": 0.75,
    }
    assert region["fulfilment"]["bins"] == {"lt_50": 1, "50_80": 1, "ge_80": 1, "none": 0}
    assert region["flags"]["outcome_worse"] == 1 and region["budget"]["cap_eur"] == 4800.0
    empty = found[("region", "r2")]
    assert (empty["pupils"], empty["risk_categories"]["learning"]["share"]) == (0, None)
    assert empty["fulfilment"]["mean_weighted_ratio"] is None


def test_a_semester_not_evaluated_yet_has_its_planned_figures() -> None:
    school = figures(evaluated=False)[("school", "S-A")]
    assert (school["pupils"], school["measures"]["planned"], school["hours"]["planned"]) == (
        3,
        6,
        40.0,
    )
    assert school["budget"]["planned_eur"] == 300.0 and school["budget"]["used_eur"] == 0.0
    assert school["fulfilment"] == {
        "evaluated": 0,
        "awaiting": 1,
        "bins": {"lt_50": 0, "50_80": 0, "ge_80": 0, "none": 0},
        "mean_weighted_ratio": None,
        "mean_fidelity": None,
    }
    assert school["measures"]["delivered"] == 0 and sum(school["flags"].values()) == 0


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    with use_settings(settings):
        yield load_context(settings)


def test_figures_are_stored_from_the_database_and_recomputed_idempotently(ctx: Context) -> None:
    store_plan(
        ctx,
        "P-001",
        [hours("subject_consultation", 4, "mathematics"), eur("meals", 50)],
        risks=("learning", "economic"),
    )
    store_plan(ctx, "P-002", [hours("psychologist", 2, provider="S-1")], school="LV-KUL-001")
    with ctx.sessions.begin() as session:
        semester = stored_semester(session, SEMESTER)
        assert refresh_figures(session, ctx.config, semester) == 21  # 9 + 6 + 5 + 1 units
        planned = read_figures(session, semester.id)[("nation", "LV")]
    assert planned["pupils"] == 2 and planned["fulfilment"]["awaiting"] == 2
    put_evaluation(
        ctx,
        "a.csv",
        "LV-LIE-006;P-001;subject_consultation;mathematics;16;;improved;yes;",
        "LV-LIE-006;P-001;meals;;;100;improved;yes;",
    )
    with ctx.sessions.begin() as session:
        semester = stored_semester(session, SEMESTER)
        evaluate(session, ctx.config, ctx.settings, semester)
        changed = refresh_figures(session, ctx.config, semester)
        stamps = session.execute(select(SemesterFigure.id, SemesterFigure.computed_at)).all()
        again = refresh_figures(session, ctx.config, semester)
        data = load_input(session, semester)
        stored = read_figures(session, semester.id)
        assert (
            session.execute(select(SemesterFigure.id, SemesterFigure.computed_at)).all() == stamps
        )
    assert (changed, again) == (4, 0)  # the school, Liepāja, Kurzeme and the nation changed
    assert stored == compute_figures(data, ctx.config.catalogue, 300.0, 0.8)
    school = stored[("school", "LV-LIE-006")]
    assert (
        school["budget"]["used_eur"] == 100.0 and school["fulfilment"]["bins"]["50_80"] == 1
    )  # (1 + 0,5) ÷ 2
    assert stored[("school", "LV-KUL-001")]["fulfilment"]["awaiting"] == 1


def test_a_unit_is_compared_with_the_previous_semester() -> None:
    now, before = figures()[("school", "S-A")], figures(evaluated=False)[("school", "S-A")]
    changes = compare_figures(now, before)
    assert list(changes) == list(CHANGES)
    assert changes["pupils"] == {"now": 3.0, "before": 3.0, "change": 0.0, "relative": 0.0}
    assert changes["measures_delivered"] == {
        "now": 4.0,
        "before": 0.0,
        "change": 4.0,
        "relative": None,  # nothing before: no share of nothing
    }
    assert changes["used_eur"]["change"] == 150.0
    assert changes["mean_weighted_ratio"] == {
        "now": 0.7,
        "before": None,
        "change": None,
        "relative": None,
    }
    assert compare_figures(now, None) == {}


def test_the_previous_semesters_figures_are_read_when_stored(ctx: Context) -> None:
    store_plan(ctx, "P-001", [hours("psychologist", 2)], semester=SEMESTER.previous())
    with ctx.sessions.begin() as session:
        assert read_semester_figures(session, SEMESTER) is None  # never opened
        refresh_figures(session, ctx.config, stored_semester(session, SEMESTER.previous()))
        stored = read_semester_figures(session, SEMESTER.previous())
    assert stored is not None and stored[("nation", "LV")]["pupils"] == 1


def test_participation_counts_the_schools_that_sent_plans_of_those_invited() -> None:
    found = figures()
    assert found[("nation", "LV")]["schools"] == {
        "invited": 3,
        "with_plans": 2,
        "without_plans": ["S-C"],
    }
    assert found[("region", "r2")]["schools"] == {
        "invited": 1,
        "with_plans": 0,
        "without_plans": ["S-C"],
    }
    assert found[("school", "S-B")]["schools"] == {
        "invited": 1,
        "with_plans": 1,
        "without_plans": [],
    }


def test_a_school_with_only_drafts_did_not_take_part_and_one_not_invited_did() -> None:
    plans = pd.concat(
        [
            PLANS,
            pd.DataFrame(
                {"plan_id": [6], "school_code": ["S-C"], "pupil_id": [16], "status": ["draft"]}
            ),
        ],
        ignore_index=True,
    )
    units = UNITS.assign(invited=[True, False, True])  # S-B left the configuration
    data = FigureInput(
        units=units,
        plans=plans,
        measures=MEASURES,
        risks=RISKS,
        evaluations=EVALUATIONS,
        delivered=DELIVERED,
        months=4,
    )
    found = compute_figures(data, CATALOGUE, 300.0, 0.8)
    assert found[("nation", "LV")]["schools"] == {
        "invited": 3,  # S-B sent plans, so it counts though no longer configured
        "with_plans": 2,
        "without_plans": ["S-C"],  # a carried-over draft is not a plan the school sent
    }
