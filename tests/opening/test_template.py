"""The plan-draft template: sheets, headers, notes, drop-down lists and pre-filled rows."""

from __future__ import annotations

import datetime as dt
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from python_calamine import CalamineWorkbook

from pumpurs.columns import PLAN_COLUMNS
from pumpurs.config import Config, load_config
from pumpurs.i18n.formats import fmt_date
from pumpurs.opening import template
from pumpurs.opening.template import build_plan_template, template_filename
from pumpurs.semester import SemesterCode

SCHOOL = "LV-LIE-006"
SEMESTER = SemesterCode.parse("2026/2027-1")
KEYS = [column.key for column in PLAN_COLUMNS]
LETTER = {key: "ABCDEFGHIJ"[index] for index, key in enumerate(KEYS)}


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(Path("config"))


@pytest.fixture(scope="module")
def continuing() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "school_code": [SCHOOL, SCHOOL, SCHOOL],
            "pupil_ref": ["P-0012", "P-0012", "R-77"],
            "grade": [7, 7, 11],
            "risk_categories": ["learning;economic", "learning;economic", "family"],
            "goal": ["Uzlabot matemātikas vērtējumu", "Uzlabot matemātikas vērtējumu", "Apmeklēt"],
            "measure": ["subject_consultation", "meals", "psychologist"],
            "subject": ["mathematics", None, None],
            "provider_ref": ["T-MAT-1", None, "PSY-2"],
            "hours_per_month": [4.0, None, 2.5],
            "eur_per_month": [None, 45.5, None],
        }
    )


@pytest.fixture(scope="module")
def book(config: Config, continuing: pd.DataFrame) -> Workbook:
    return _open(build_plan_template(config, SCHOOL, SEMESTER, continuing))


@pytest.fixture(scope="module")
def book_en(config: Config, continuing: pd.DataFrame) -> Workbook:
    return _open(build_plan_template(config, SCHOOL, SEMESTER, continuing, language="en"))


def _open(data: bytes) -> Workbook:
    return openpyxl.load_workbook(BytesIO(data))


def _row(sheet: Worksheet, row: int) -> list[Any]:
    return [sheet.cell(row=row, column=index + 1).value for index in range(len(PLAN_COLUMNS))]


def _validation(sheet: Worksheet, key: str) -> DataValidation:
    found = [dv for dv in sheet.data_validations.dataValidation if f"{LETTER[key]}3" in dv.sqref]
    assert len(found) == 1, key
    assert f"{LETTER[key]}2000" in found[0].sqref
    assert f"{LETTER[key]}2" not in found[0].sqref
    return found[0]


def _list_values(book: Workbook, formula: str) -> tuple[str, list[Any], list[Any]]:
    sheet_name, cells = formula.lstrip("=").rsplit("!", 1)
    sheet = book[sheet_name.strip("'")]
    column = sheet[cells.replace("$", "")]
    keys = [row[0].value for row in column]
    labels = [sheet.cell(row=row[0].row, column=row[0].column + 1).value for row in column]
    return sheet.title, keys, labels


def _instructions(book: Workbook) -> str:
    sheet = book.worksheets[2]
    return "\n".join(str(cell.value) for (cell,) in sheet.iter_rows(max_col=1) if cell.value)


def test_plans_sheet_is_first_and_active(book: Workbook) -> None:
    assert book.sheetnames == ["Plāni", "Saraksti", "Norādījumi"]
    assert book.active.title == "Plāni"


def test_header_row_has_the_latvian_labels_in_order(book: Workbook) -> None:
    sheet = book.worksheets[0]
    assert _row(sheet, 1) == [column.lv for column in PLAN_COLUMNS]
    assert all(sheet.cell(row=1, column=i + 1).font.b for i in range(len(PLAN_COLUMNS)))


def test_notes_row_is_exactly_the_notes_and_styled(book: Workbook) -> None:
    sheet = book.worksheets[0]
    assert _row(sheet, 2) == [column.note("lv", "300") for column in PLAN_COLUMNS]
    for index in range(len(PLAN_COLUMNS)):
        cell = sheet.cell(row=2, column=index + 1)
        assert cell.font.i
        assert cell.fill.fill_type == "solid"


def test_panes_are_frozen_below_the_notes_and_columns_have_widths(book: Workbook) -> None:
    sheet = book.worksheets[0]
    assert sheet.freeze_panes == "A3"
    assert all(sheet.column_dimensions[LETTER[key]].width >= 12 for key in KEYS)


@pytest.mark.parametrize(
    ("key", "section"),
    [("measure", "measures"), ("subject", "subjects"), ("risk_categories", "risk_categories")],
)
def test_list_validations_point_at_the_lists_sheet(
    book: Workbook, config: Config, key: str, section: str
) -> None:
    validation = _validation(book.worksheets[0], key)
    assert validation.type == "list"
    assert validation.showErrorMessage
    assert '"' not in validation.formula1
    sheet, keys, labels = _list_values(book, validation.formula1)
    catalogue = getattr(config.catalogue, section)
    assert sheet == "Saraksti"
    assert keys == list(catalogue)
    assert labels == [label.lv for label in catalogue.values()]


def test_risk_list_only_warns_so_combinations_are_allowed(book: Workbook) -> None:
    sheet = book.worksheets[0]
    assert _validation(sheet, "risk_categories").errorStyle == "warning"
    assert _validation(sheet, "measure").errorStyle == "stop"


def test_grade_validation_uses_the_configured_range(book: Workbook, config: Config) -> None:
    validation = _validation(book.worksheets[0], "grade")
    assert validation.type == "whole"
    assert validation.operator == "between"
    assert int(validation.formula1) == config.programme.grade_min
    assert int(validation.formula2) == config.programme.grade_max


@pytest.mark.parametrize("key", ["hours_per_month", "eur_per_month"])
def test_hours_and_eur_validations_are_non_negative_decimals(book: Workbook, key: str) -> None:
    validation = _validation(book.worksheets[0], key)
    assert validation.type == "decimal"
    assert float(validation.formula1) == 0
    assert validation.showInputMessage
    assert validation.prompt


@pytest.mark.parametrize("language", ["lv", "en"])
def test_validation_messages_fit_excel_limits(
    book: Workbook, book_en: Workbook, language: str
) -> None:
    sheet = (book if language == "lv" else book_en).worksheets[0]
    for validation in sheet.data_validations.dataValidation:
        assert len(validation.promptTitle) <= 32
        assert len(validation.errorTitle) <= 32
        assert len(validation.prompt) <= 255
        assert len(validation.error) <= 255


def test_continuing_rows_are_prefilled_with_numbers_as_numbers(
    book: Workbook, continuing: pd.DataFrame
) -> None:
    sheet = book.worksheets[0]
    assert sheet.max_row == 2 + len(continuing)
    for offset, record in enumerate(continuing.to_dict("records")):
        row = dict(zip(KEYS, _row(sheet, 3 + offset), strict=True))
        for key in KEYS:
            expected = record[key]
            if expected is None or (isinstance(expected, float) and pd.isna(expected)):
                assert row[key] is None, (offset, key)
            else:
                assert row[key] == expected, (offset, key)
        assert isinstance(row["grade"], int)
        for key in ("hours_per_month", "eur_per_month"):
            assert row[key] is None or isinstance(row[key], int | float)


def test_school_code_is_the_schools_own(config: Config, continuing: pd.DataFrame) -> None:
    other = continuing.assign(school_code="something else")
    sheet = _open(build_plan_template(config, SCHOOL, SEMESTER, other)).worksheets[0]
    assert {sheet.cell(row=r, column=1).value for r in range(3, 3 + len(other))} == {SCHOOL}


def test_english_variant_has_english_sheets_headers_and_lists(
    book_en: Workbook, config: Config
) -> None:
    assert book_en.sheetnames == ["Plans", "Lists", "Instructions"]
    sheet = book_en.worksheets[0]
    assert _row(sheet, 1) == [column.en for column in PLAN_COLUMNS]
    assert _row(sheet, 2) == [column.note("en", "300") for column in PLAN_COLUMNS]
    lists, keys, labels = _list_values(book_en, _validation(sheet, "measure").formula1)
    assert lists == "Lists"
    assert keys == list(config.catalogue.measures)
    assert labels == [measure.en for measure in config.catalogue.measures.values()]


def test_empty_continuing_gives_headers_and_notes_only(config: Config) -> None:
    empty = pd.DataFrame(columns=KEYS)
    book = _open(build_plan_template(config, SCHOOL, SEMESTER, empty))
    sheet = book.worksheets[0]
    assert sheet.max_row == 2
    assert _row(sheet, 1) == [column.lv for column in PLAN_COLUMNS]
    assert _validation(sheet, "measure").type == "list"


def test_calamine_reads_the_header_from_the_first_sheet(
    config: Config, continuing: pd.DataFrame
) -> None:
    data = build_plan_template(config, SCHOOL, SEMESTER, continuing)
    calamine = CalamineWorkbook.from_filelike(BytesIO(data))
    rows = calamine.get_sheet_by_index(0).to_python()
    assert calamine.sheet_names[0] == "Plāni"
    assert rows[0] == [column.lv for column in PLAN_COLUMNS]
    assert rows[1] == [column.note("lv", "300") for column in PLAN_COLUMNS]
    assert rows[2][KEYS.index("grade")] == 7
    assert len(rows) == 2 + len(continuing)


def test_latvian_instructions_name_school_semester_deadline_and_rules(
    book: Workbook, config: Config
) -> None:
    text = _instructions(book)
    deadline = config.semester_dates(SEMESTER).submission_deadline
    assert "Liepājas Raiņa 6. vidusskola (LV-LIE-006)" in text
    assert "2026/2027-1" in text
    assert fmt_date(deadline, "lv") in text
    assert "personas kodu" in text
    assert "300 EUR mēnesī" in text
    assert "ne vairāk kā 20" in text
    assert "XLSX vai CSV" in text
    assert "2026-2027-1/LV-LIE-006/plans/" in text
    assert "Jau ierakstītas" in text


def test_instructions_use_the_given_deadline_and_language(
    config: Config, continuing: pd.DataFrame
) -> None:
    deadline = dt.date(2026, 9, 30)
    data = build_plan_template(config, SCHOOL, SEMESTER, continuing, "en", deadline=deadline)
    text = _instructions(_open(data))
    assert fmt_date(deadline, "en") in text
    assert "personal code" in text


def test_empty_continuing_leaves_out_the_continuing_lines(config: Config) -> None:
    book = _open(build_plan_template(config, SCHOOL, SEMESTER, pd.DataFrame(columns=KEYS)))
    assert "Jau ierakstīt" not in _instructions(book)


def test_unknown_school_is_refused(config: Config) -> None:
    with pytest.raises(ValueError, match="LV-XXX-000"):
        build_plan_template(config, "LV-XXX-000", SEMESTER, pd.DataFrame(columns=KEYS))


def test_template_filename() -> None:
    assert template_filename(SCHOOL, SEMESTER) == "IAP_veidne_LV-LIE-006_2026-2027-1.xlsx"
    assert template_filename(SCHOOL, SEMESTER, "en") == "IAP_template_LV-LIE-006_2026-2027-1.xlsx"


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


@pytest.mark.parametrize("language", ["lv", "en"])
@pytest.mark.parametrize("rows", [0, 3, 1600])
def test_each_school_copy_has_the_bytes_of_its_own_whole_build(
    config: Config, continuing: pd.DataFrame, language: str, rows: int
) -> None:
    """The school's copy of the semester's workbook equals building the school's whole workbook
    with openpyxl, part by part (the file's creation time apart); 1,600 rows move the validated
    range past row 2,000."""
    school = config.school(SCHOOL)
    assert school is not None
    other = "LV-RIX-001" if config.school("LV-RIX-001") else config.schools[-1].code
    mine = pd.concat([continuing] * (rows // 3 + 1), ignore_index=True).head(rows)
    mine = mine.assign(pupil_ref=[f"P-{n:05d}&<{n}>" for n in range(len(mine))])
    deadline = dt.date(2026, 10, 1)
    for code, frame in ((other, continuing), (SCHOOL, mine)):  # a copy after another school's
        unit = config.school(code)
        assert unit is not None
        copy = _parts(build_plan_template(config, code, SEMESTER, frame, language, deadline))
        rows_of = template._continuing_rows(frame, code)
        whole = _parts(
            template._build_workbook(config, unit, SEMESTER, rows_of, language, deadline)
        )
        assert list(copy) == list(whole)
        for name in whole:
            if name != "docProps/core.xml":  # its creation time
                assert copy[name] == whole[name], name
