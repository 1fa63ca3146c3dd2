"""Validating plan rows: one test per rule, plan-level rejection, privacy, the row invariant."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pumpurs.config import Config, load_config
from pumpurs.i18n.catalogue import texts, translations
from pumpurs.intake import (
    ACCEPTED_PLAN_COLUMNS,
    REJECTION_COLUMNS,
    Validation,
    read_bytes,
    row_accounting,
    validate_plans,
)
from pumpurs.intake.problems import RULES, render
from tests.intake.findings import findings

REPO = Path(__file__).resolve().parents[2]
CONFIG = load_config(REPO / "config")
SCHOOL = "LV-LIE-006"
HOURS = {
    "measure": "psychologist",
    "subject": "",
    "provider_ref": "PSY-2",
    "hours_per_month": "2",
    "eur_per_month": "",
}
EUR = {
    "measure": "transport",
    "subject": "",
    "provider_ref": "",
    "hours_per_month": "",
    "eur_per_month": "40",
}
BASE = {
    "school_code": SCHOOL,
    "pupil_ref": "S-001",
    "grade": "7",
    "risk_categories": "learning",
    "goal": "Uzlabot atzīmes",
    **HOURS,
}


def partial(config: Config = CONFIG) -> Config:
    """Return the configuration with partial acceptance switched on."""
    programme = config.programme.model_copy(update={"partial_acceptance": True})
    return config.model_copy(update={"programme": programme})


def batch(*rows: dict[str, Any], file: str = "plani.csv", folder: str = SCHOOL) -> pd.DataFrame:
    """Return plan rows (changes to BASE) of one file, numbered from spreadsheet row 2."""
    records = [
        {**BASE, "file": file, "folder_school": folder, "row_number": number, **row}
        for number, row in enumerate(rows, start=2)
    ]
    return pd.DataFrame(records)


def message(validation: Validation, row_number: int, rule: str) -> str:
    """Return the message of one finding."""
    rejections = validation.rejections
    hit = rejections[rejections["row_number"].eq(row_number) & rejections["rule"].eq(rule)]
    assert len(hit) == 1
    return str(hit["message"].iloc[0])


def assert_accounted(rows: pd.DataFrame, validation: Validation) -> None:
    """Assert every row is accepted or rejected, and none is both."""
    counts = row_accounting(rows, validation)
    assert counts["accepted"] + counts["rejected"] == counts["read"]
    assert counts["unaccounted"] == 0
    accepted = set(zip(validation.accepted["file"], validation.accepted["row_number"], strict=True))
    rejections = validation.rejections
    rejected = set(zip(rejections["file"], rejections["row_number"], strict=True))
    assert not accepted & rejected
    assert len(accepted | rejected) == len(rows)


def test_a_valid_plan_is_accepted_normalised_and_typed() -> None:
    rows = batch(
        {
            "school_code": " lv-lie-006 ",
            "grade": "7.0",
            "risk_categories": "Family; LEARNING;family",
            "goal": "  Uzlabot   atzīmes ",
            "measure": " Subject_Consultation ",
            "subject": "Matemātika",
            "hours_per_month": "2,5",
        },
        {**EUR, "risk_categories": "learning;family", "eur_per_month": "1 00,50"},
        {"measure": "psihologa konsultācijas", "risk_categories": "learning,family"},
    )
    validation = validate_plans(rows, CONFIG)
    assert validation.rejections.empty
    accepted = validation.accepted
    assert tuple(accepted.columns) == ACCEPTED_PLAN_COLUMNS
    first = accepted.iloc[0]
    assert first["school_code"] == SCHOOL
    assert first["grade"] == 7
    assert accepted["risk_categories"].tolist() == ["family;learning"] * 3
    assert first["goal"] == "Uzlabot   atzīmes"
    assert accepted["measure"].tolist() == ["subject_consultation", "transport", "psychologist"]
    assert first["subject"] == "mathematics"
    assert accepted["hours_per_month"].iloc[0] == 2.5
    assert accepted["eur_per_month"].iloc[1] == 100.5
    assert accepted["row_number"].tolist() == [2, 3, 4]
    assert accepted.dtypes["grade"] == np.dtype("int64")
    assert accepted.dtypes["hours_per_month"] == np.dtype("float64")


def test_values_that_do_not_apply_to_the_measure_are_left_out() -> None:
    rows = batch({**EUR, "subject": "mathematics", "provider_ref": "X-1", "hours_per_month": "99"})
    accepted = validate_plans(rows, CONFIG).accepted
    assert accepted[["subject", "provider_ref"]].isna().all(axis=None)
    assert math.isnan(accepted["hours_per_month"].iloc[0])
    assert accepted["eur_per_month"].iloc[0] == 40.0


@pytest.mark.parametrize(
    ("change", "rule", "column"),
    [
        ({"school_code": "LV-XXX-001"}, "unknown_school", "school_code"),
        ({"school_code": "LV-KUL-001"}, "wrong_school", "school_code"),
        ({"pupil_ref": "120309-12345"}, "personal_code", "pupil_ref"),
        ({"pupil_ref": "32123456789"}, "personal_code", "pupil_ref"),
        ({"goal": "Skolēnam 120309-12345 palīdzēt"}, "personal_code", "goal"),
        ({"provider_ref": "010180 12345"}, "personal_code", "provider_ref"),
        ({"pupil_ref": "AB"}, "pupil_ref_length", "pupil_ref"),
        ({"pupil_ref": "X" * 33}, "pupil_ref_length", "pupil_ref"),
        ({"school_code": ""}, "missing_value", "school_code"),
        ({"pupil_ref": ""}, "missing_value", "pupil_ref"),
        ({"grade": ""}, "missing_value", "grade"),
        ({"measure": ""}, "missing_value", "measure"),
        ({"goal": " "}, "missing_goal", "goal"),
        ({"risk_categories": ""}, "missing_risk", "risk_categories"),
        ({"risk_categories": " ; ;"}, "missing_risk", "risk_categories"),
        ({"grade": "7.b"}, "grade_not_integer", "grade"),
        ({"grade": "septītā"}, "grade_not_integer", "grade"),
        ({"grade": "4"}, "grade_out_of_range", "grade"),
        ({"grade": "13"}, "grade_out_of_range", "grade"),
        ({"risk_categories": "learning;poverty"}, "unknown_risk", "risk_categories"),
        ({"measure": "tutoring"}, "unknown_measure", "measure"),
        ({"measure": "subject_consultation"}, "missing_subject", "subject"),
        (
            {"measure": "subject_consultation", "subject": "astrology"},
            "unknown_subject",
            "subject",
        ),
        ({"hours_per_month": ""}, "missing_hours", "hours_per_month"),
        ({"hours_per_month": "divas"}, "hours_not_number", "hours_per_month"),
        ({"hours_per_month": "2.5.1"}, "hours_not_number", "hours_per_month"),
        ({"hours_per_month": "0"}, "hours_not_positive", "hours_per_month"),
        ({"hours_per_month": "-1"}, "hours_not_positive", "hours_per_month"),
        ({"hours_per_month": "20,5"}, "hours_over_max", "hours_per_month"),
        ({"provider_ref": ""}, "missing_provider", "provider_ref"),
        ({**EUR, "eur_per_month": ""}, "missing_eur", "eur_per_month"),
        ({**EUR, "eur_per_month": "40 EUR"}, "eur_not_number", "eur_per_month"),
        ({**EUR, "eur_per_month": "-5"}, "eur_negative", "eur_per_month"),
        ({**EUR, "eur_per_month": "300,01"}, "over_cap", "eur_per_month"),
    ],
)
def test_each_row_rule_rejects_exactly_its_row(
    change: dict[str, str], rule: str, column: str
) -> None:
    rows = batch(change, {"pupil_ref": "S-002"})
    validation = validate_plans(rows, CONFIG)
    assert findings(validation) == {2: [(rule, column)]}
    assert validation.accepted["pupil_ref"].tolist() == ["S-002"]
    assert_accounted(rows, validation)


def test_a_row_with_several_problems_lists_them_all() -> None:
    rows = batch({"grade": "x", "hours_per_month": "25", "provider_ref": "", "goal": ""})
    assert findings(validate_plans(rows, CONFIG)) == {
        2: [
            ("missing_goal", "goal"),
            ("grade_not_integer", "grade"),
            ("hours_over_max", "hours_per_month"),
            ("missing_provider", "provider_ref"),
        ]
    }


@pytest.mark.parametrize(
    ("change", "rule", "expected"),
    [
        (
            {"hours_per_month": "25"},
            "hours_over_max",
            "Stundas mēnesī ir 25, bet drīkst būt ne vairāk kā 20. Samaziniet stundu skaitu vai "
            "sadaliet atbalstu.",
        ),
        (
            {"pupil_ref": "120309-12345"},
            "personal_code",
            "Kolonnā “Skolēna identifikators” ir personas kods (12****-*****). Personas kodus "
            "iesniegt nedrīkst: izdzēsiet to un skolēnam izmantojiet skolas piešķirtu "
            "pseidonīmu, piemēram, S-0421.",
        ),
        (
            {"grade": ""},
            "missing_value",
            "Kolonna “Klase” ir tukša, bet tā ir obligāta. Aizpildiet to šajā rindā.",
        ),
        (
            {"school_code": "LV-KUL-001"},
            "wrong_school",
            "Izglītības iestādes kods “LV-KUL-001” neatbilst skolai, kuras mapē fails iesniegts "
            "(LV-LIE-006). Ierakstiet savas skolas kodu LV-LIE-006 vai iesniedziet rindu tās "
            "skolas mapē, kurai plāns pieder.",
        ),
        (
            {"measure": "subject_consultation"},
            "missing_subject",
            "Pasākumam “individuālās konsultācijas mācību priekšmetā” jānorāda mācību "
            "priekšmets. Aizpildiet kolonnu “Mācību priekšmets” ar vienu no: “matemātika”, "
            "“latviešu valoda un literatūra”, “angļu valoda”, “krievu valoda”, “dabaszinības”, "
            "“fizika”, “ķīmija”, “bioloģija”, “ģeogrāfija”, “vēsture”, “sociālās zinības”, "
            "“sports”.",
        ),
        (
            {"grade": "4"},
            "grade_out_of_range",
            "Klase 4 nav programmā: atļautas klases no 5 līdz 12. Izlabojiet klasi vai izņemiet "
            "šī skolēna rindas no faila.",
        ),
    ],
)
def test_messages_say_what_is_wrong_and_what_to_change(
    change: dict[str, str], rule: str, expected: str
) -> None:
    assert message(validate_plans(batch(change), CONFIG), 2, rule) == expected


def test_messages_follow_the_language() -> None:
    validation = validate_plans(batch({"hours_per_month": "20,5"}), CONFIG, language="en")
    assert message(validation, 2, "hours_over_max") == (
        "The hours per month are 20,5, but at most 20 are allowed. Reduce the hours or split "
        "the support."
    )
    validation = validate_plans(batch({"grade": ""}), CONFIG, language="en")
    assert "“Grade”" in message(validation, 2, "missing_value")


def test_the_vectorised_messages_match_gettext() -> None:
    params = {"value": "25", "limit": "20"}
    index = pd.RangeIndex(2)
    series = {name: pd.Series([value] * 2, index=index) for name, value in params.items()}
    message = RULES["hours_over_max"]
    assert isinstance(message, str)
    for language in ("lv", "en"):
        expected = texts(language).gettext(message, **params)
        rendered = render(translations(language).gettext(message), index, series)
        assert rendered.tolist() == [expected, expected]


def test_a_plan_with_a_bad_row_is_rejected_whole() -> None:
    rows = batch({}, {**EUR}, {"hours_per_month": "25", "measure": "speech_therapist"})
    validation = validate_plans(rows, CONFIG)
    assert findings(validation) == {
        2: [("plan_rejected", None)],
        3: [("plan_rejected", None)],
        4: [("hours_over_max", "hours_per_month")],
    }
    assert message(validation, 2, "plan_rejected") == (
        "Šajā rindā kļūdu nav, bet skolēna “S-001” plānu nevar pieņemt, jo kļūdas ir šī "
        "skolēna rindā 4. Izlabojiet tās un iesniedziet visu skolēna plānu vēlreiz."
    )
    assert validation.accepted.empty


def test_partial_acceptance_rejects_only_the_bad_rows() -> None:
    rows = batch({}, {**EUR}, {"hours_per_month": "25", "measure": "speech_therapist"})
    validation = validate_plans(rows, partial())
    assert findings(validation) == {4: [("hours_over_max", "hours_per_month")]}
    assert validation.accepted["row_number"].tolist() == [2, 3]


def test_over_cap_rejects_every_eur_row_of_the_pupil() -> None:
    rows = batch(
        {},
        {**EUR, "eur_per_month": "200"},
        {**EUR, "measure": "meals", "eur_per_month": "150,5"},
        {**EUR, "pupil_ref": "S-002", "eur_per_month": "300"},
    )
    validation = validate_plans(rows, partial())
    assert findings(validation) == {
        3: [("over_cap", "eur_per_month")],
        4: [("over_cap", "eur_per_month")],
    }
    assert validation.accepted["row_number"].tolist() == [2, 5]
    assert message(validation, 3, "over_cap") == (
        "Skolēna “S-001” kompensācijas kopā ir 350,50 EUR mēnesī, bet drīkst būt ne vairāk kā "
        "300 EUR. Samaziniet summas kolonnā “EUR mēnesī” (rindas: 3, 4), lai kopā "
        "nepārsniegtu 300 EUR."
    )


def test_a_later_copy_of_a_row_is_a_duplicate() -> None:
    rows = batch({}, {**EUR}, {"measure": " Psychologist ", "hours_per_month": "2,0"})
    validation = validate_plans(rows, partial())
    assert findings(validation) == {4: [("duplicate_row", None)]}
    assert message(validation, 4, "duplicate_row") == (
        "Šī rinda atkārto rindu 2. Izdzēsiet lieko rindu vai izlabojiet to, ja tas ir cits "
        "pasākums."
    )
    assert findings(validate_plans(rows, CONFIG))[2] == [("plan_rejected", None)]


def test_duplicate_rows_do_not_count_twice_towards_the_cap() -> None:
    rows = batch({**EUR, "eur_per_month": "200"}, {**EUR, "eur_per_month": "200"})
    validation = validate_plans(rows, partial())
    assert findings(validation) == {3: [("duplicate_row", None)]}


@pytest.mark.parametrize(
    ("change", "column"),
    [
        ({"grade": "8"}, "grade"),
        ({"goal": "Cits mērķis"}, "goal"),
        ({"risk_categories": "family"}, "risk_categories"),
    ],
)
def test_a_pupils_rows_must_agree_on_the_plan(change: dict[str, str], column: str) -> None:
    rows = batch({}, {**EUR, **change}, {"pupil_ref": "S-002"})
    validation = validate_plans(rows, partial())
    assert findings(validation) == {
        2: [("inconsistent_plan", column)],
        3: [("inconsistent_plan", column)],
    }
    assert "rindās 2, 3" in message(validation, 2, "inconsistent_plan")


def test_equal_plan_values_written_differently_agree() -> None:
    rows = batch(
        {}, {**EUR, "grade": "7.0", "risk_categories": "LEARNING", "goal": "Uzlabot  atzīmes"}
    )
    assert validate_plans(rows, CONFIG).rejections.empty


def test_one_pupil_under_two_school_codes_is_rejected_in_both() -> None:
    rows = batch({}, {**EUR, "school_code": "LV-KUL-001"}, {"pupil_ref": "S-002"})
    validation = validate_plans(rows, partial())
    assert findings(validation) == {
        2: [("pupil_in_two_schools", "school_code")],
        3: [("wrong_school", "school_code"), ("pupil_in_two_schools", "school_code")],
    }
    assert "(LV-KUL-001, LV-LIE-006)" in message(validation, 2, "pupil_in_two_schools")


def test_the_same_reference_in_two_schools_is_two_pupils() -> None:
    first = batch({}, file="a.csv")
    second = batch({"school_code": "LV-KUL-001"}, file="b.csv", folder="LV-KUL-001")
    validation = validate_plans(pd.concat([first, second]), CONFIG)
    assert validation.rejections.empty
    assert len(validation.accepted) == 2


def test_a_pupil_in_two_files_is_kept_from_the_first_file() -> None:
    first = batch({}, {"pupil_ref": "S-002"}, file="a.csv")
    second = batch({**EUR}, file="b.csv")
    rows = pd.concat([first, second], ignore_index=True)
    validation = validate_plans(rows, CONFIG)
    assert validation.rejections[["file", "row_number", "rule"]].values.tolist() == [
        ["b.csv", 2, "pupil_in_two_files"]
    ]
    assert message(validation, 2, "pupil_in_two_files") == (
        "Skolēna “S-001” plāns jau ir failā “a.csv”. Iesniedziet katra skolēna plānu tikai "
        "vienā failā: pārceliet šīs rindas uz to failu vai izdzēsiet tās."
    )
    assert validation.accepted["file"].tolist() == ["a.csv", "a.csv"]
    assert_accounted(rows, validation)


def test_a_personal_code_never_leaves_validation() -> None:
    code, bare = "120309-12345", "12030912345"
    rows = batch(
        {"pupil_ref": code},
        {"pupil_ref": code, **EUR},
        {"pupil_ref": "S-002", "goal": f"Palīdzēt {bare}"},
        {"pupil_ref": "S-003", "measure": code, "school_code": bare},
        {"pupil_ref": "S-004", "grade": code, "hours_per_month": code},
    )
    for language in ("lv", "en"):
        validation = validate_plans(rows, CONFIG, language)
        for frame in (validation.accepted, validation.rejections):
            text = frame.astype("str").to_string()
            assert code not in text
            assert bare not in text
            assert "120309" not in text
        assert set(validation.rejections["row_number"]) == {2, 3, 4, 5, 6}
        assert_accounted(rows, validation)


def test_rejections_have_their_columns_in_order() -> None:
    validation = validate_plans(batch({"grade": "x"}), CONFIG)
    assert tuple(validation.rejections.columns) == REJECTION_COLUMNS
    row = validation.rejections.iloc[0]
    assert (row["file"], row["folder_school"], row["row_number"]) == ("plani.csv", SCHOOL, 2)


def test_an_empty_batch_gives_empty_frames() -> None:
    rows = batch({}).iloc[0:0]
    validation = validate_plans(rows, CONFIG)
    assert tuple(validation.accepted.columns) == ACCEPTED_PLAN_COLUMNS
    assert tuple(validation.rejections.columns) == REJECTION_COLUMNS
    assert row_accounting(rows, validation) == {
        "read": 0,
        "accepted": 0,
        "rejected": 0,
        "unaccounted": 0,
    }


def test_rows_read_from_a_file_validate() -> None:
    content = (
        "Izglītības iestādes kods;Skolēna identifikators;Klase;Riska grupas;Plāna mērķis;"
        "Atbalsta pasākums;Pedagoga/speciālista identifikators;Stundas mēnesī;EUR mēnesī\n"
        "LV-LIE-006;S-001;7;learning;Mērķis;psychologist;PSY-1;2,5;\n"
        "\n"
        "LV-LIE-006;S-001;7;learning;Mērķis;meals;;;45,50\n"
    ).encode("cp1257")
    result = read_bytes(content, "plani.csv", max_bytes=100_000)
    assert result.frame is not None
    rows = result.frame.assign(file="plani.csv", folder_school=SCHOOL)
    validation = validate_plans(rows, CONFIG)
    assert validation.rejections.empty
    assert validation.accepted["row_number"].tolist() == [2, 4]
    assert validation.accepted["eur_per_month"].iloc[1] == 45.5


RULE_IDS = {
    "unknown_school",
    "wrong_school",
    "personal_code",
    "pupil_ref_length",
    "missing_value",
    "missing_goal",
    "missing_risk",
    "grade_not_integer",
    "grade_out_of_range",
    "unknown_risk",
    "unknown_measure",
    "unknown_subject",
    "missing_subject",
    "missing_hours",
    "hours_not_number",
    "hours_not_positive",
    "hours_over_max",
    "missing_provider",
    "missing_eur",
    "eur_not_number",
    "eur_negative",
    "over_cap",
    "duplicate_row",
    "inconsistent_plan",
    "pupil_in_two_schools",
    "pupil_in_two_files",
    "plan_rejected",
    "bad_outcome",
    "bad_continue",
    "delivered_not_number",
    "spent_not_number",
    "negative_value",
}


def test_every_rule_has_a_message_in_both_languages_with_the_same_fields() -> None:
    assert set(RULES) == RULE_IDS
    latvian = translations("lv")
    for rule, found in RULES.items():
        for message in (found,) if isinstance(found, str) else found:
            translated = latvian.gettext(message)
            assert translated != message, rule
            assert _fields(translated) == _fields(message), rule


def _fields(template: str) -> set[str]:
    """Return the names a message template fills in."""
    import re

    return set(re.findall(r"%\((\w+)\)s", template))


CELL = st.one_of(
    st.text(max_size=14),
    st.sampled_from(
        [
            "",
            SCHOOL,
            "LV-KUL-001",
            "S-001",
            "120309-12345",
            "7",
            "13",
            "learning;family",
            "psychologist",
            "transport",
            "subject_consultation",
            "mathematics",
            "2,5",
            "250",
            "-1",
        ]
    ),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.fixed_dictionaries({key: CELL for key in BASE}), min_size=1, max_size=25),
    st.lists(st.sampled_from(["a.csv", "b.xlsx"]), min_size=25, max_size=25),
    st.booleans(),
)
def test_any_rows_are_each_accepted_or_rejected(
    cells: list[dict[str, str]], files: list[str], partial_acceptance: bool
) -> None:
    rows = pd.DataFrame(cells).assign(
        file=files[: len(cells)], folder_school=SCHOOL, row_number=range(2, len(cells) + 2)
    )
    config = partial() if partial_acceptance else CONFIG
    validation = validate_plans(rows, config)
    assert_accounted(rows, validation)
    assert validation.rejections["message"].str.len().gt(0).all()
    assert not validation.rejections["message"].str.contains("120309-12345", regex=False).any()


def test_75000_rows_are_each_accepted_or_rejected() -> None:
    # How fast: `make bench` (phase "validate 75,000 plan rows").
    count = 75_000
    pupil = np.arange(count) // 3
    measures = np.array(["psychologist", "subject_consultation", "meals"])[np.arange(count) % 3]
    hours = measures != "meals"
    rows = pd.DataFrame(
        {
            **{key: [value] * count for key, value in BASE.items()},
            "pupil_ref": [f"S-{number:05d}" for number in pupil],
            "measure": measures,
            "subject": np.where(measures == "subject_consultation", "mathematics", ""),
            "hours_per_month": np.where(hours, "2,5", ""),
            "eur_per_month": np.where(hours, "", "40"),
            "file": [f"plani-{number % 40}.csv" for number in pupil],
            "folder_school": SCHOOL,
            "row_number": np.arange(count) + 2,
        }
    )
    rows.loc[rows.index % 50 == 0, "hours_per_month"] = "25"
    validation = validate_plans(rows, CONFIG)
    assert_accounted(rows, validation)
    assert len(validation.rejections) > 0


@pytest.mark.parametrize(
    ("change", "rule", "latvian", "english", "key"),
    [
        ({"measure": "tutoring"}, "unknown_measure", "psihologa konsultācijas",
         "psychologist consultations", "psychologist"),
        ({"measure": "subject_consultation"}, "missing_subject", "matemātika", "mathematics",
         "mathematics"),
        ({"risk_categories": "poverty"}, "unknown_risk", "ekonomiskie riski", "economic risks",
         "economic"),
        ({"risk_categories": ""}, "missing_risk", "ar ģimeni saistītie riski", "family risks",
         "family"),
    ],
)  # fmt: skip
def test_allowed_values_are_listed_as_the_templates_labels_not_keys(
    change: dict[str, str], rule: str, latvian: str, english: str, key: str
) -> None:
    text = message(validate_plans(batch(change), CONFIG), 2, rule)
    assert f"“{latvian}”" in text and key not in text.split(":", 1)[1], text
    text = message(validate_plans(batch(change), CONFIG, language="en"), 2, rule)
    assert f"“{english}”" in text, text
