"""The plan-draft template (XLSX) sent with the semester invitation (DESIGN.md §4 step 1, §5).

The first sheet holds the plan columns: headers in row 1, the columns' notes in row 2 (intake
skips that row by exact equality with the notes) and data from row 3, pre-filled with the plans
that continue from the previous semester. A second sheet lists the catalogue keys the drop-down
lists use, with their labels; a third sheet tells the school coordinator how to fill the file.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from pumpurs.columns import PLAN_COLUMNS, Column
from pumpurs.config import Config, Label, School, Unit
from pumpurs.i18n.catalogue import N_, texts
from pumpurs.i18n.formats import fmt_date, fmt_number
from pumpurs.semester import SemesterCode

HEADER_ROW = 1
NOTES_ROW = 2
FIRST_DATA_ROW = 3
LAST_VALIDATED_ROW = 2000
"""The drop-down lists and number checks reach at least this row (further with many rows)."""

_NUMBER_KEYS = frozenset({"grade", "hours_per_month", "eur_per_month"})
_WIDE_KEYS = {"goal": 40.0, "risk_categories": 24.0, "measure": 24.0, "subject": 20.0}
_MIN_WIDTH, _MAX_WIDTH = 12.0, 50.0

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill(fill_type="solid", start_color="DDEBF7", end_color="DDEBF7")
_NOTES_FONT = Font(italic=True, color="595959")
_NOTES_FILL = PatternFill(fill_type="solid", start_color="E7E6E6", end_color="E7E6E6")
_WRAP_TOP = Alignment(wrap_text=True, vertical="top")

SHEET_PLANS = N_("Plans")
SHEET_LISTS = N_("Lists")
SHEET_INSTRUCTIONS = N_("Instructions")
TITLE = N_("Individual support plan (IAP) template")
# Translators: the start of a file name: ASCII letters and underscores only.
FILE_PREFIX = N_("IAP_template")
_VALIDATIONS: dict[str, tuple[str, str | None, str, str]] = {
    # per plan column: the input message's title and text, the error's title and text
    "measure": (
        N_("Support measure"),
        N_("Choose a measure key from the list; the sheet “%(lists)s” explains it."),
        N_("Unknown measure"),
        N_("Choose a measure key from the list (sheet “%(lists)s”)."),
    ),
    "subject": (
        N_("Subject"),
        N_("Only for subject_consultation: choose a subject from the list."),
        N_("Unknown subject"),
        N_("Choose a subject key from the list (sheet “%(lists)s”)."),
    ),
    "risk": (
        N_("Risk categories"),
        N_("One or more categories separated by a semicolon, e.g. %(example)s."),
        N_("Check the risk categories"),
        N_("Valid categories: %(keys)s, separated by a semicolon. Keep the entry?"),
    ),
    "grade": (
        N_("Grade"),
        N_("A whole number from %(low)s to %(high)s."),
        N_("Invalid grade"),
        N_("The grade must be a whole number from %(low)s to %(high)s."),
    ),
    "hours": (
        N_("Hours per month"),
        None,  # counted: see `_hours_prompt`
        N_("Invalid hours"),
        N_("Hours must be a number from 0 to %(high)s."),
    ),
    "eur": (
        N_("EUR per month"),
        N_("For compensations: EUR a month (≥ 0); a pupil's total ≤ %(high)s EUR."),
        N_("Invalid amount"),
        N_("The amount must be a number from 0 to %(high)s."),
    ),
}


@dataclass(frozen=True)
class _ListBlock:
    """One list on the lists sheet: the plan column it serves and its rows (key, label, …)."""

    column_key: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def template_filename(school_code: str, semester: SemesterCode, language: str = "lv") -> str:
    """Return the template's file name, e.g. `IAP_veidne_LV-LIE-006_2026-2027-1.xlsx`."""
    prefix = texts(_language(language)).gettext(FILE_PREFIX)
    return f"{prefix}_{school_code}_{semester.folder}.xlsx"


def build_plan_template(
    config: Config,
    school_code: str,
    semester: SemesterCode,
    continuing: pd.DataFrame,
    language: str = "lv",
    deadline: dt.date | None = None,
) -> bytes:
    """Build the school's plan-draft template for a semester and return it as XLSX bytes."""
    school = config.school(school_code)
    if school is None:
        raise ValueError(f"unknown school code {school_code!r}")
    language = _language(language)
    due = deadline or config.semester_dates(semester).submission_deadline
    workbook = Workbook()
    plans = workbook.active
    t = texts(language)
    plans.title = t.gettext(SHEET_PLANS)
    lists = workbook.create_sheet(t.gettext(SHEET_LISTS))
    instructions = workbook.create_sheet(t.gettext(SHEET_INSTRUCTIONS))
    rows = _continuing_rows(continuing, school.code)
    _write_plans(plans, rows, language, config.programme.monthly_cap_eur)
    blocks = _list_blocks(config, language)
    ranges = _write_lists(lists, blocks)
    last_row = max(LAST_VALIDATED_ROW, FIRST_DATA_ROW + len(rows) + 500)
    _add_list_validations(plans, ranges, config, language, last_row)
    _add_number_validations(plans, config, language, last_row)
    head = _instruction_head(school, semester, due, len(rows), language)
    rules = _instruction_rules(config, school, semester, len(rows), language)
    _write_instructions(instructions, head, rules, language)
    workbook.active = 0
    workbook.properties.title = t.gettext(TITLE)
    workbook.properties.creator = "PuMPuRS"
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _language(language: str) -> str:
    """Return the supported language to use: English when asked for, Latvian otherwise."""
    return "en" if language == "en" else "lv"


def _label(column: Column, language: str) -> str:
    """Return a column's header in the language."""
    return column.en if language == "en" else column.lv


def _note(column: Column, language: str, cap_eur: float) -> str:
    """Return a column's note in the language, with the programme's monthly cap."""
    return column.note(language, _shown(cap_eur, language))


def _letter(key: str) -> str:
    """Return the sheet column letter of a plan column."""
    index = next(i for i, column in enumerate(PLAN_COLUMNS) if column.key == key)
    letter: str = get_column_letter(index + 1)
    return letter


def _continuing_rows(continuing: pd.DataFrame, school_code: str) -> list[list[Any]]:
    """Return the continuing plans' rows in plan-column order, with the school's code."""
    rows = []
    for record in continuing.to_dict("records"):
        row = [_cell_value(column.key, record.get(column.key)) for column in PLAN_COLUMNS]
        row[0] = school_code
        rows.append(row)
    return rows


def _cell_value(key: str, value: Any) -> str | int | float | None:
    """Return a value as the cell should hold it: numbers as numbers, blanks as None."""
    if _is_missing(value):
        return None
    if key in _NUMBER_KEYS:
        try:
            number = float(value)
        except (TypeError, ValueError):
            return str(value).strip()
        if not math.isfinite(number):
            return str(value).strip()
        return int(number) if number.is_integer() else number
    return str(value).strip() or None


def _is_missing(value: Any) -> bool:
    """Return whether a data-frame value is empty (None, NaN, NA or blank text)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _write_plans(sheet: Worksheet, rows: list[list[Any]], language: str, cap_eur: float) -> None:
    """Write headers, the notes row and the continuing rows, and lay the sheet out."""
    for index, column in enumerate(PLAN_COLUMNS, start=1):
        header = sheet.cell(row=HEADER_ROW, column=index, value=_label(column, language))
        header.font, header.fill, header.alignment = _HEADER_FONT, _HEADER_FILL, _WRAP_TOP
        note = sheet.cell(row=NOTES_ROW, column=index, value=_note(column, language, cap_eur))
        note.font, note.fill, note.alignment = _NOTES_FONT, _NOTES_FILL, _WRAP_TOP
    for offset, row in enumerate(rows):
        for index, value in enumerate(row, start=1):
            sheet.cell(row=FIRST_DATA_ROW + offset, column=index, value=value)
    for index, column in enumerate(PLAN_COLUMNS, start=1):
        dimension = sheet.column_dimensions[get_column_letter(index)]
        dimension.width = _width(column, [row[index - 1] for row in rows], language)
        if column.key not in _NUMBER_KEYS:
            dimension.number_format = "@"
    sheet.row_dimensions[NOTES_ROW].height = 48
    sheet.freeze_panes = sheet.cell(row=FIRST_DATA_ROW, column=1).coordinate
    sheet.page_setup.orientation = "landscape"


def _width(column: Column, values: list[Any], language: str) -> float:
    """Return a column width that fits the header and the pre-filled values."""
    longest = max([len(_label(column, language)), *(len(str(v)) for v in values if v is not None)])
    wanted = max(float(longest + 2), _WIDE_KEYS.get(column.key, _MIN_WIDTH))
    return min(wanted, _MAX_WIDTH)


def _list_blocks(config: Config, language: str) -> list[_ListBlock]:
    """Return the measure, subject and risk-category lists with labels in the language."""
    catalogue = config.catalogue
    t = texts(language)
    meaning, unit = t.gettext("Meaning"), t.gettext("Planned in")
    units = {Unit.HOURS: t.gettext("hours per month"), Unit.EUR: t.gettext("EUR per month")}
    measures = tuple(
        (key, _label_text(measure, language), units[measure.unit])
        for key, measure in catalogue.measures.items()
    )
    return [
        _ListBlock("measure", (t.gettext("Support measure"), meaning, unit), measures),
        _ListBlock(
            "subject",
            (t.gettext("Subject"), meaning),
            _pairs(catalogue.subjects, language),
        ),
        _ListBlock(
            "risk_categories",
            (t.gettext("Risk category"), meaning),
            _pairs(catalogue.risk_categories, language),
        ),
    ]


def _label_text(label: Label, language: str) -> str:
    """Return a catalogue label in the language."""
    return label.en if language == "en" else label.lv


def _pairs(labels: dict[str, Label], language: str) -> tuple[tuple[str, ...], ...]:
    """Return (key, label) pairs of a catalogue section."""
    return tuple((key, _label_text(label, language)) for key, label in labels.items())


def _write_lists(sheet: Worksheet, blocks: list[_ListBlock]) -> dict[str, str]:
    """Write the lists side by side with a blank column between; return each key range."""
    ranges: dict[str, str] = {}
    first_column = 1
    for block in blocks:
        for offset, header in enumerate(block.headers):
            cell = sheet.cell(row=1, column=first_column + offset, value=header)
            cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        for row_offset, values in enumerate(block.rows, start=2):
            for offset, value in enumerate(values):
                sheet.cell(row=row_offset, column=first_column + offset, value=value)
        letter = get_column_letter(first_column)
        ranges[block.column_key] = (
            f"{quote_sheetname(sheet.title)}!${letter}$2:${letter}${len(block.rows) + 1}"
        )
        for offset in range(len(block.headers)):
            width = 22.0 if offset == 0 else 46.0 if offset == 1 else 18.0
            sheet.column_dimensions[get_column_letter(first_column + offset)].width = width
        first_column += len(block.headers) + 1
    sheet.freeze_panes = "A2"
    return ranges


def _add_list_validations(
    sheet: Worksheet, ranges: dict[str, str], config: Config, language: str, last_row: int
) -> None:
    """Add drop-down lists for measure, subject and risk categories (the last only warns)."""
    lists = texts(language).gettext(SHEET_LISTS)
    risk_keys = list(config.catalogue.risk_categories)
    example = ";".join(risk_keys[:2])
    params = {"lists": lists, "example": example, "keys": ", ".join(risk_keys)}
    for key, prefix, style in (
        ("measure", "measure", "stop"),
        ("subject", "subject", "stop"),
        ("risk_categories", "risk", "warning"),
    ):
        validation = DataValidation(type="list", formula1=ranges[key], allow_blank=True)
        validation.errorStyle = style
        _describe(validation, language, prefix, **params)
        _attach(sheet, validation, key, last_row)


def _add_number_validations(sheet: Worksheet, config: Config, language: str, last_row: int) -> None:
    """Add the grade's whole-number range and the hours' and EUR's non-negative ranges."""
    programme = config.programme
    checks = (
        ("grade", "grade", "whole", float(programme.grade_min), float(programme.grade_max)),
        ("hours_per_month", "hours", "decimal", 0.0, programme.max_hours_per_month),
        ("eur_per_month", "eur", "decimal", 0.0, programme.monthly_cap_eur),
    )
    for key, prefix, kind, low, high in checks:
        validation = DataValidation(
            type=kind,
            operator="between",
            formula1=_formula_number(low),
            formula2=_formula_number(high),
            allow_blank=True,
        )
        validation.errorStyle = "stop"
        shown = {"low": _shown(low, language), "high": _shown(high, language)}
        prompt = _hours_prompt(high, language) if prefix == "hours" else None
        _describe(validation, language, prefix, prompt, **shown)
        _attach(sheet, validation, key, last_row)


def _hours_prompt(high: float, language: str) -> str:
    """Return the input message of the hours column: at most `high` hours a month."""
    return texts(language).ngettext(
        "For hour-based measures: more than 0, at most %(num)s hour a month.",
        "For hour-based measures: more than 0, at most %(num)s hours a month.",
        high,
        num=_shown(high, language),
    )


def _describe(
    validation: DataValidation,
    language: str,
    prefix: str,
    prompt: str | None = None,
    **params: Any,
) -> None:
    """Set a validation's input message and error message from the texts."""
    t = texts(language)
    prompt_title, message, error_title, error = _VALIDATIONS[prefix]
    validation.promptTitle = t.gettext(prompt_title)
    validation.prompt = prompt if message is None else t.gettext(message, **params)
    validation.errorTitle = t.gettext(error_title)
    validation.error = t.gettext(error, **params)
    validation.showInputMessage = True
    validation.showErrorMessage = True


def _attach(sheet: Worksheet, validation: DataValidation, key: str, last_row: int) -> None:
    """Apply a validation to a plan column's data rows."""
    letter = _letter(key)
    validation.add(f"{letter}{FIRST_DATA_ROW}:{letter}{last_row}")
    sheet.add_data_validation(validation)


def _formula_number(value: float) -> str:
    """Return a number as a validation formula writes it (dot decimal, no trailing zeros)."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _shown(value: float, language: str) -> str:
    """Return a number as people read it in the language."""
    return fmt_number(value, language, digits=2)


def _instruction_head(
    school: School, semester: SemesterCode, deadline: dt.date, continuing_rows: int, language: str
) -> list[str]:
    """Return the instructions' opening lines: school, semester, deadline, continuing rows."""
    t = texts(language)
    head = [
        t.gettext("School: %(name)s (%(code)s)", name=school.name, code=school.code),
        t.gettext("Semester: %(semester)s", semester=semester.code),
        t.gettext("Submission deadline: %(deadline)s", deadline=fmt_date(deadline, language)),
    ]
    if continuing_rows:
        head.append(
            t.gettext(
                "Rows filled in with plans continuing from the previous semester: %(rows)s.",
                rows=continuing_rows,
            )
        )
    return head


def _instruction_rules(
    config: Config, school: School, semester: SemesterCode, continuing_rows: int, language: str
) -> list[str]:
    """Return the numbered rules for filling in and submitting the template."""
    programme = config.programme
    example = ";".join(list(config.catalogue.risk_categories)[:2])
    t = texts(language)
    rules = [
        t.gettext(
            "Fill in the sheet “%(plans)s” from row 3 on. Row 2 explains the columns: leave it "
            "as it is.",
            plans=t.gettext(SHEET_PLANS),
        ),
        t.gettext(
            "One row is one support measure of a pupil. A pupil with several measures has one "
            "row per measure, and the plan columns (school code, pupil reference, grade, risk "
            "categories, goal) repeat on each row."
        ),
        t.gettext(
            "The pupil reference is a pseudonym chosen by the school (3–32 characters). Never "
            "write the pupil's personal code or name."
        ),
        t.gettext(
            "Choose the measure, subject and risk categories from the lists; the sheet "
            "“%(lists)s” says what each key means. Separate several risk categories with a "
            "semicolon, e.g. %(example)s.",
            lists=t.gettext(SHEET_LISTS),
            example=example,
        ),
        t.gettext(
            "Give a subject only for individual subject consultations (subject_consultation)."
        ),
        t.gettext(
            "For hour-based measures give the teacher's or specialist's reference and the "
            "hours per month: more than 0 and at most %(hours)s per measure.",
            hours=_shown(programme.max_hours_per_month, language),
        ),
        t.gettext(
            "For compensations give the EUR per month. All measures of one pupil together must "
            "not exceed %(cap)s EUR a month.",
            cap=_shown(programme.monthly_cap_eur, language),
        ),
    ]
    if continuing_rows:
        rules.append(
            t.gettext(
                "Rows already filled in are plans continuing from the previous semester: check "
                "them and correct them where needed."
            )
        )
    folder = f"{semester.folder}/{school.code}/plans/"
    return [
        *rules,
        t.gettext(
            "Save the file as XLSX or CSV (UTF-8) and upload it on your school's page (the link "
            "is in the emails you receive) by the deadline; a school with a shared folder may "
            "save it in %(folder)s instead.",
            folder=folder,
        ),
        t.gettext(
            "After processing you receive an email listing every rejected row with the reason; "
            "correct those rows and submit the file again."
        ),
    ]


def _write_instructions(sheet: Worksheet, head: list[str], rules: list[str], language: str) -> None:
    """Write the instructions sheet: a title, the opening lines and the numbered rules."""
    t = texts(language)
    sheet.cell(row=1, column=1, value=t.gettext(TITLE)).font = Font(bold=True, size=14)
    row = 3
    for line in head:
        sheet.cell(row=row, column=1, value=line).alignment = _WRAP_TOP
        row += 1
    sheet.cell(row=row + 1, column=1, value=t.gettext("How to fill it in")).font = _HEADER_FONT
    for number, rule in enumerate(rules, start=1):
        cell = sheet.cell(row=row + 1 + number, column=1, value=f"{number}. {rule}")
        cell.alignment = _WRAP_TOP
    sheet.column_dimensions["A"].width = 110
