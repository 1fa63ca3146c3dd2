"""Validate plan-draft rows of a whole batch of files at once (DESIGN.md §5, §6).

Every row ends accepted or rejected. A subject, hours or EUR given for a measure that is not
planned in them is ignored (left out of the accepted row), not rejected.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pumpurs.columns import PLAN_COLUMNS
from pumpurs.config import Config, Unit
from pumpurs.intake import rules
from pumpurs.intake.normalise import (
    allowed,
    amount_text,
    folded,
    number,
    parse_grade,
    parse_list,
    parse_number,
    per_unique,
    spellings,
)
from pumpurs.intake.outcome import Validation, or_none, outcome
from pumpurs.intake.problems import Problems

PLAN_KEYS = tuple(column.key for column in PLAN_COLUMNS)
PLAN = ["file", "pupil_ref"]
"""A plan within the batch: one pupil in one file (pupil references are chosen per school)."""
ACCEPTED_PLAN_COLUMNS = (
    "school_code",
    "pupil_ref",
    "grade",
    "risk_categories",
    "goal",
    "measure",
    "subject",
    "provider_ref",
    "hours_per_month",
    "eur_per_month",
    "file",
    "row_number",
)
_REQUIRED = {"school_code": "missing_value", "pupil_ref": "missing_value", "grade": "missing_value"}
_REQUIRED |= {"goal": "missing_goal", "measure": "missing_value"}


def validate_plans(rows: pd.DataFrame, config: Config, language: str = "lv") -> Validation:
    """Check every plan row of the batch and return the accepted rows and the rejections."""
    data = rules.prepare(rows, PLAN_KEYS)
    problems = Problems(data.index, language)
    rules.check_required(data, problems, _REQUIRED)
    rules.check_school(data, problems, config)
    rules.check_pupil_ref(data, problems, ("pupil_ref", "provider_ref", "goal"))
    _check_grade(data, problems, config)
    _check_risks(data, problems, config)
    rules.check_measure(data, problems, config.catalogue)
    rules.check_subject(data, problems, config.catalogue)
    _check_hours(data, problems, config)
    _check_eur(data, problems)
    normalised = _normalised(data)
    later = rules.check_duplicates(data, problems, normalised)
    _check_consistency(data, problems, normalised)
    _check_cap(data, problems, config, later)
    _check_two_schools(data, problems)
    _check_two_files(data, problems)
    if not config.programme.partial_acceptance:
        _reject_whole_plans(data, problems)
    return outcome(data, problems, _typed)


def _check_grade(data: pd.DataFrame, problems: Problems, config: Config) -> None:
    """Flag grades that are no whole number or outside the programme's range; set `grade_n`."""
    low, high = config.programme.grade_min, config.programme.grade_max
    grade, bad = parse_grade(data["grade"])
    data["grade_n"] = grade
    problems.add("grade_not_integer", bad, "grade", value=data["grade"])
    outside = grade.notna() & ~grade.between(low, high)
    problems.add(
        "grade_out_of_range", outside, "grade", value=grade.astype("str"), min=low, max=high
    )


def _check_risks(data: pd.DataFrame, problems: Problems, config: Config) -> None:
    """Flag missing and unknown risk categories; set `risks` to the sorted `;`-joined keys."""
    table = spellings(config.catalogue.risk_categories)
    joined, unknown = parse_list(data["risk_categories"], table)
    data["risks"] = joined
    listed = allowed(config.catalogue.risk_categories, problems.language)
    none_given = joined.eq("") & unknown.isna()
    problems.add("missing_risk", none_given, "risk_categories", allowed=listed)
    problems.add("unknown_risk", unknown.notna(), "risk_categories", value=unknown, allowed=listed)


def _check_hours(data: pd.DataFrame, problems: Problems, config: Config) -> None:
    """Check hours and provider of hour-based measures; set `hours` where valid."""
    limit = config.programme.max_hours_per_month
    applies = rules.is_unit(data, Unit.HOURS)
    raw = data["hours_per_month"]
    hours, bad = parse_number(raw)
    label = data["measure_label"]
    shown_limit = number(limit, problems.language)
    key = "hours_per_month"
    problems.add("missing_hours", applies & raw.eq(""), key, measure=label, limit=shown_limit)
    problems.add("hours_not_number", applies & bad, key, value=raw)
    problems.add("hours_not_positive", applies & hours.le(0), key, value=raw)
    problems.add("hours_over_max", applies & hours.gt(limit), key, value=raw, limit=shown_limit)
    no_provider = applies & data["provider_ref"].eq("")
    problems.add("missing_provider", no_provider, "provider_ref", measure=label)
    data["hours"] = hours.where(applies & hours.gt(0) & hours.le(limit))


def _check_eur(data: pd.DataFrame, problems: Problems) -> None:
    """Check the amount of EUR-based measures; set `eur` where valid."""
    applies = rules.is_unit(data, Unit.EUR)
    raw = data["eur_per_month"]
    eur, bad = parse_number(raw)
    key = "eur_per_month"
    problems.add("missing_eur", applies & raw.eq(""), key, measure=data["measure_label"])
    problems.add("eur_not_number", applies & bad, key, value=raw)
    problems.add("eur_negative", applies & eur.lt(0), key, value=raw)
    data["eur"] = eur.where(applies & eur.ge(0))


def _normalised(data: pd.DataFrame) -> pd.DataFrame:
    """Return each row's content as compared for duplicates: keys where known, else text."""
    hours_based = rules.is_unit(data, Unit.HOURS)

    def either(known: pd.Series, raw: pd.Series) -> pd.Series:
        return known.astype("str").fillna(folded(raw))

    return pd.DataFrame(
        {
            "school": data["school"].str.upper(),
            "pupil": data["pupil_ref"],
            "grade": either(data["grade_n"].astype("str"), data["grade"]),
            "risks": data["risks"].where(data["risks"].ne(""), folded(data["risk_categories"])),
            "goal": _plan_text(data["goal"]),
            "measure": either(data["measure_key"], data["measure"]),
            "subject": either(data["subject_key"], data["subject"]).where(
                data["needs_subject"], ""
            ),
            "provider": data["provider_ref"].where(hours_based, ""),
            "hours": either(data["hours"].astype("str"), data["hours_per_month"]),
            "eur": either(data["eur"].astype("str"), data["eur_per_month"]),
        }
    )


def _plan_text(values: pd.Series) -> pd.Series:
    """Return free text as compared between rows: runs of whitespace as one space."""
    return per_unique(values, lambda v: v.str.replace(r"\s+", " ", regex=True))


def _check_consistency(data: pd.DataFrame, problems: Problems, normalised: pd.DataFrame) -> None:
    """Flag a pupil's rows in one file that disagree on grade, goal or risk categories."""
    in_plan = data["pupil_ref"].ne("")
    for key, column in (("grade", "grade"), ("goal", "goal"), ("risk_categories", "risks")):
        values = normalised[column].where(data[key].ne(""))
        spread = values.groupby([data[c] for c in PLAN]).transform("nunique")
        hits = in_plan & spread.gt(1)
        rows_text = rules.group_rows(data, hits, PLAN)
        problems.add("inconsistent_plan", hits, key, pupil=data["pupil_ref"], rows=rows_text)


def _check_cap(data: pd.DataFrame, problems: Problems, config: Config, later: pd.Series) -> None:
    """Flag all EUR rows of a pupil whose amounts together exceed the monthly cap."""
    cap = config.programme.monthly_cap_eur
    counted = data["eur"].where(~later & data["pupil_ref"].ne(""))
    total = counted.groupby([data[c] for c in PLAN]).transform("sum")
    hits = counted.notna() & total.gt(cap)
    problems.add(
        "over_cap",
        hits,
        "eur_per_month",
        pupil=data["pupil_ref"],
        total=amount_text(total, problems.language),
        limit=number(cap, problems.language),
        rows=rules.group_rows(data, hits, PLAN),
    )


def _check_two_schools(data: pd.DataFrame, problems: Problems) -> None:
    """Flag a pupil reference that one school's submission gives under several school codes."""
    folder = data["folder_school"].str.upper()
    scope = folder.where(folder.ne(""), "\0" + data["file"])
    school = data["school"].where(data["school"].ne("")).str.upper()
    groups = [scope, data["pupil_ref"]]
    hits = data["pupil_ref"].ne("") & school.groupby(groups).transform("nunique").gt(1)
    subset = pd.DataFrame({"scope": scope, "pupil": data["pupil_ref"], "school": school})[hits]
    codes = subset.groupby(["scope", "pupil"])["school"].transform(_distinct_codes)
    problems.add(
        "pupil_in_two_schools",
        hits,
        "school_code",
        pupil=data["pupil_ref"],
        codes=codes.astype("str").reindex(data.index).fillna(""),
    )


def _distinct_codes(codes: pd.Series) -> str:
    """Return a group's distinct school codes, sorted and comma-separated."""
    return ", ".join(sorted(codes.dropna().unique()))


def _check_two_files(data: pd.DataFrame, problems: Problems) -> None:
    """Flag a school's pupil whose plan appears in a later file than the first one.

    Pupil references are the school's own, so files are compared within a school's folder: a
    row carrying another school's code (rejected as `wrong_school`) does not make that school's
    own row for the same reference a second file.

    A pupil's rows in an earlier file that were refused anyway do not count: a school that
    sends a corrected file before the run (as its page invites it to) has the correction
    taken, not refused as a second file. The first file whose rows of the pupil all pass
    is the one that stands; without one, the first file the pupil is in.
    """
    folder = data["folder_school"].str.upper()
    pupil = [folder, data["pupil_ref"]]
    refused = problems.rejected().groupby([*pupil, data["file_rank"]]).transform("any")
    clean = data["file_rank"].where(~refused)
    first_clean = clean.groupby(pupil).transform("min")
    first_seen = data["file_rank"].groupby(pupil).transform("min")
    first = first_clean.fillna(first_seen).astype("int64")
    hits = data["pupil_ref"].ne("") & data["file_rank"].gt(first)
    labels = np.asarray(pd.unique(data["file"]), dtype=object)
    first_file = pd.Series(labels[first.to_numpy()], index=data.index, dtype="str")
    problems.add("pupil_in_two_files", hits, None, pupil=data["pupil_ref"], first_file=first_file)


def _reject_whole_plans(data: pd.DataFrame, problems: Problems) -> None:
    """Reject the remaining rows of every plan that has a rejected row, naming those rows."""
    bad = problems.rejected()
    in_plan = data["pupil_ref"].ne("")
    groups = [data[c] for c in PLAN]
    plan_bad = bad.groupby(groups).transform("any")
    bad_rows = rules.group_rows(data, bad & in_plan, PLAN).where(bad)
    rows_text = bad_rows.groupby(groups).transform("first")
    hits = in_plan & plan_bad & ~bad
    problems.add("plan_rejected", hits, None, pupil=data["pupil_ref"], rows=rows_text)


def _typed(data: pd.DataFrame) -> pd.DataFrame:
    """Return every row in the accepted form: keys, typed numbers, not-applicable cells empty."""
    hours_based = rules.is_unit(data, Unit.HOURS)
    provider = data["provider_ref"].where(hours_based & data["provider_ref"].ne(""))
    typed = pd.DataFrame(
        {
            "school_code": data["school"],
            "pupil_ref": data["pupil_ref"],
            "grade": data["grade_n"].astype("int64"),
            "risk_categories": data["risks"],
            "goal": data["goal"],
            "measure": data["measure_key"],
            "subject": or_none(data["subject_key"]),
            "provider_ref": or_none(provider),
            "hours_per_month": data["hours"].astype("float64"),
            "eur_per_month": data["eur"].astype("float64"),
            "file": data["file"],
            "row_number": data["row_number"],
        }
    )
    return typed.loc[:, list(ACCEPTED_PLAN_COLUMNS)]
