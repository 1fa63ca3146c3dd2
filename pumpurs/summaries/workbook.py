"""The semester's figures as an XLSX workbook for managers: a sheet per level, a row per unit.

Every column is one figure of `figures`, headed in the email's language by a name that says
what it counts; counts are numbers, shares are formatted as percentages (`37,0 %` in a
Latvian workbook), so each sheet can be filtered, sorted, summed and charted. Every unit of a
level has its row, with or without plans (a column says whether it sent any); a subject no
pupil of the workbook has consultations in, and a plan status no plan of it has, get no
column. The last sheet explains how the figures are counted. A national run writes about a
hundred workbooks, most of them small: each style is made once and copied to its cells.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from copy import copy
from dataclasses import dataclass
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape
from zipfile import ZIP_DEFLATED, ZipFile

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.compat.strings import safe_string
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import IllegalCharacterError
from openpyxl.worksheet.worksheet import Worksheet

from pumpurs.config import Config
from pumpurs.i18n.catalogue import N_, Texts, texts
from pumpurs.i18n.formats import fmt_percent
from pumpurs.store.models import PlanStatus
from pumpurs.summaries.content import BIN_NAMES, OUTCOME_NAMES, STATUS_NAMES, Unit
from pumpurs.summaries.figures import BINS, OUTCOMES

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_NAMES = {  # one sheet per level
    "nation": N_("Nation"),
    "region": N_("Regions"),
    "municipality": N_("Municipalities"),
    "school": N_("Schools"),
}
NOTES = (  # the last sheet: how the figures are counted
    N_(
        "A plan counts (pupils, measures, hours, funding) once it is approved; evaluated plans "
        "are approved plans too."
    ),
    N_("Shares are of the unit's pupils with an approved plan."),
    N_(
        "A school sent plans when at least one plan of it was submitted this semester (plans "
        "carried over from the last semester and not submitted yet do not count)."
    ),
    N_(
        "Teachers and specialists are counted per school: a person who works in two schools "
        "counts twice (schools give their staff their own references)."
    ),
    N_("A measure is delivered when more than 0 hours or EUR were reported for it."),
    N_("Fulfilment of a plan: delivered of planned, weighted over its measures."),
    N_("The funding cap is the most the fund could pay: pupils × the monthly cap × months."),
)
COUNT, AMOUNT = "#,##0", "#,##0.00"
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill(fill_type="solid", start_color="EEF0F3", end_color="EEF0F3")
_HEADER_ALIGN = Alignment(wrap_text=True, vertical="top")

Path = tuple[str, ...]  # where a figure is in a unit's figures
Sheet = tuple[str, Sequence[tuple[Unit, Mapping[str, Any]]]]  # level, its units and figures


@dataclass(frozen=True)
class Column:
    """One figure's column: its header, how to read it from a unit's figures, its format."""

    header: str
    value: Callable[[Mapping[str, Any]], Any]
    number_format: str


def figures_workbook(sheets: Sequence[Sheet], config: Config, language: str) -> bytes:
    """Return the workbook: per level a sheet headed by the figure names, a row per unit, and
    a sheet of notes. The first sheet's units hold every other sheet's: their figures decide
    which subjects and statuses get a column.

    openpyxl writes each sheet with its first unit's row; the other rows, a few hundred cells
    each, are written into its XML as openpyxl would write them (the same bytes, a test checks)
    at a fraction of the cost of a cell object per value.
    """
    workbook, rest = _openpyxl_workbook(sheets, config, language, first_rows_only=True)
    buffer = BytesIO()
    workbook.save(buffer)
    if not any(rows for _, rows, _ in rest):
        return buffer.getvalue()
    rows_of = {f"xl/worksheets/sheet{n}.xml": (r, st) for n, (_, r, st) in enumerate(rest, 1)}
    out = BytesIO()
    with ZipFile(BytesIO(buffer.getvalue())) as source, ZipFile(out, "w", ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            rows, styles = rows_of.get(info.filename, ([], []))
            target.writestr(info.filename, _with_rows(content, rows, styles) if rows else content)
    return out.getvalue()


_Rest = tuple[str, list[list[Any]], list[int | None]]  # a sheet's title, rows left, styles


def _openpyxl_workbook(
    sheets: Sequence[Sheet], config: Config, language: str, first_rows_only: bool = False
) -> tuple[Workbook, list[_Rest]]:
    """Return the workbook built by openpyxl and, per sheet, the rows left out (after its first
    unit's, when `first_rows_only`) with each column's style id for numbers."""
    t = texts(language)
    top = [figures for _, units in sheets[:1] for _, figures in units]
    workbook = Workbook()
    workbook.remove(workbook.active)
    rest: list[_Rest] = []
    for level, units in sheets:
        columns = _columns(config, language, level, top)
        sheet = workbook.create_sheet(t.gettext(SHEET_NAMES[level]))
        headers = [t.gettext("Code"), t.gettext("Name"), *(c.header for c in columns)]
        sheet.append(headers)
        rows = [
            [unit.code, unit.name, *(c.value(figures) for c in columns)] for unit, figures in units
        ]
        written = rows[:1] if first_rows_only else rows
        for row in written:
            sheet.append(row)
        _style(sheet, [c.number_format for c in columns])
        sheet.freeze_panes = "C2"
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(units) + 1}"
        styles: list[int | None] = [None, None]
        if sheet.max_row >= 2:
            templates = [sheet.cell(2, index) for index in range(3, len(headers) + 1)]
            styles += [cell.style_id if cell.has_style else None for cell in templates]
        rest.append((sheet.title, rows[len(written) :], styles))
    notes = workbook.create_sheet(t.gettext("Notes"))
    notes.column_dimensions["A"].width = 120
    for note in NOTES:
        notes.append([t.gettext(note)])
    return workbook, rest


_DIMENSION = re.compile(rb'<dimension ref="A1:([A-Z]+)(\d+)"/>')


def _with_rows(sheet: bytes, rows: list[list[Any]], styles: list[int | None]) -> bytes:
    """Return a sheet's XML with these rows after its first two, as openpyxl writes them."""
    data = b"".join(_row_xml(3 + offset, row, styles) for offset, row in enumerate(rows))
    last = str(2 + len(rows)).encode("ascii")
    sheet = _DIMENSION.sub(lambda m: b'<dimension ref="A1:' + m[1] + last + b'"/>', sheet, 1)
    head, found, tail = sheet.rpartition(b"</sheetData>")
    assert found, "a sheet without data"
    return head + data + found + tail


def _row_xml(number: int, values: list[Any], styles: list[int | None]) -> bytes:
    """Return one row as openpyxl writes it: numbers in their column's style, text inline."""
    cells = []
    for index, value in enumerate(values):
        ref = f"{get_column_letter(index + 1)}{number}"
        if value is None:  # an empty cell without a style is left out
            continue
        if isinstance(value, str):
            if ILLEGAL_CHARACTERS_RE.search(value):
                raise IllegalCharacterError(f"{value!r} cannot be used in worksheets.")
            space = ' xml:space="preserve"' if value != value.strip() else ""
            text = escape(value).encode("ascii", "xmlcharrefreplace").decode("ascii")
            cells.append(f'<c r="{ref}" t="inlineStr"><is><t{space}>{text}</t></is></c>')
        elif isinstance(value, int | float) and not isinstance(value, bool):
            style = "" if styles[index] is None else f' s="{styles[index]}"'
            cells.append(f'<c r="{ref}"{style} t="n"><v>{safe_string(value)}</v></c>')
        else:
            raise TypeError(f"no cell for {value!r}")
    return f'<row r="{number}">{"".join(cells)}</row>'.encode("ascii")


def _style(sheet: Worksheet, formats: Sequence[str]) -> None:
    """Style the header row and give each column's numbers its format.

    Each style is made once and copied to its cells: made per cell, openpyxl registers (hashes)
    the same font, fill and format again for every cell, which costs more than the rest.
    """
    rows = sheet.iter_rows()
    header = next(rows)
    header[0].font, header[0].fill, header[0].alignment = _HEADER_FONT, _HEADER_FILL, _HEADER_ALIGN
    for cell in header[1:]:
        cell._style = copy(header[0]._style)
    sheet.row_dimensions[1].height = 75
    sheet.column_dimensions["A"].width = 14
    sheet.column_dimensions["B"].width = 36
    rest = sheet.column_dimensions["C"]  # one <col> element for all figure columns
    rest.width, rest.min, rest.max = 14, 3, len(header)
    if sheet.max_row < 2:
        return
    styled = []
    for index, number_format in enumerate(formats, start=3):
        template = sheet.cell(2, index)
        template.number_format = number_format
        styled.append(template._style)
    for row in rows:
        for cell, style in zip(row[2:], styled, strict=True):
            if isinstance(cell.value, int | float):
                cell._style = copy(style)


def _at(*path: str) -> Callable[[Mapping[str, Any]], Any]:
    """Return a reader of the figure at `path`, None where a unit's figures lack it."""

    def read(figures: Mapping[str, Any]) -> Any:
        value: Any = figures
        for part in path:
            value = value.get(part) if isinstance(value, Mapping) else None
        return value

    return read


def _share_format(language: str) -> str:
    # A literal non-breaking space before the sign in Latvian, as `fmt_percent` writes it.
    return '0.0"\u00a0"%' if language == "lv" else "0.0%"


def _columns(
    config: Config, language: str, level: str, top: Sequence[Mapping[str, Any]]
) -> list[Column]:
    """Return the sheet's columns: what took part, pupils and plans, subjects, risks, staff,
    measures, hours, funding, fulfilment and outcomes."""
    t = texts(language)
    share = _share_format(language)
    columns = _participation(t, level)
    columns += [
        Column(t.gettext("Pupils with an approved plan"), _at("pupils"), COUNT),
        Column(t.gettext("Approved plans (evaluated ones included)"), _at("plans"), COUNT),
    ]
    statuses = [s for s in map(str, PlanStatus) if any(_at("plans_by_status", s)(f) for f in top)]
    columns += [
        Column(
            t.gettext("Plans with the status now: %(label)s", label=t.gettext(STATUS_NAMES[s])),
            _at("plans_by_status", s),
            COUNT,
        )
        for s in statuses
    ]
    consult = ("subject_consultations", "subjects")
    columns += [
        Column(
            t.gettext("Pupils with subject consultations"),
            _at("subject_consultations", "pupils"),
            COUNT,
        ),
        Column(
            t.gettext("Share of pupils with subject consultations"),
            _at("subject_consultations", "share"),
            share,
        ),
    ]
    for key, subject in config.catalogue.subjects.items():
        if not any(_at(*consult, key, "pupils")(f) for f in top):
            continue
        name = getattr(subject, language)
        columns += [
            Column(
                t.gettext("%(subject)s: pupils with consultations", subject=name),
                _at(*consult, key, "pupils"),
                COUNT,
            ),
            Column(
                t.gettext("%(subject)s: share of pupils", subject=name),
                _at(*consult, key, "share"),
                share,
            ),
        ]
    for key, risk in config.catalogue.risk_categories.items():
        name = getattr(risk, language)
        columns += [
            Column(
                t.gettext("Risk category “%(risk)s”: pupils", risk=name),
                _at("risk_categories", key, "pupils"),
                COUNT,
            ),
            Column(
                t.gettext("Risk category “%(risk)s”: share of pupils", risk=name),
                _at("risk_categories", key, "share"),
                share,
            ),
        ]
    columns += _delivery(t, language, config, share)
    return columns


def _participation(t: Texts, level: str) -> list[Column]:
    if level == "school":
        yes, no = t.gettext("yes"), t.gettext("no")

        def sent(figures: Mapping[str, Any]) -> str | None:
            if "schools" not in figures:
                return None
            return yes if figures["schools"]["with_plans"] else no

        return [Column(t.gettext("Sent plans this semester"), sent, "General")]
    return [
        Column(t.gettext("Schools invited"), _at("schools", "invited"), COUNT),
        Column(t.gettext("Schools that sent plans"), _at("schools", "with_plans"), COUNT),
        Column(
            t.gettext("Schools that sent no plans"),
            lambda f: len(f["schools"]["without_plans"]) if "schools" in f else None,
            COUNT,
        ),
    ]


def _delivery(t: Texts, language: str, config: Config, share: str) -> list[Column]:
    threshold = fmt_percent(config.programme.fidelity_threshold, language)
    columns = [
        Column(t.gettext("Teachers and specialists (counted per school)"), _at("providers"), COUNT),
        Column(t.gettext("Measures planned"), _at("measures", "planned"), COUNT),
        Column(t.gettext("Measures in the evaluations"), _at("measures", "reported"), COUNT),
        Column(t.gettext("Measures delivered (more than 0)"), _at("measures", "delivered"), COUNT),
        Column(t.gettext("Hours planned"), _at("hours", "planned"), AMOUNT),
        Column(t.gettext("Hours delivered"), _at("hours", "delivered"), AMOUNT),
        Column(t.gettext("Funding cap, EUR"), _at("budget", "cap_eur"), AMOUNT),
        Column(t.gettext("Funding planned, EUR"), _at("budget", "planned_eur"), AMOUNT),
        Column(t.gettext("Funding used, EUR"), _at("budget", "used_eur"), AMOUNT),
        Column(
            t.gettext("Funding used, share of the cap"), _at("budget", "used_share_of_cap"), share
        ),
        Column(t.gettext("Evaluated plans, all"), _at("fulfilment", "evaluated"), COUNT),
        Column(
            t.gettext("Approved plans awaiting evaluation"), _at("fulfilment", "awaiting"), COUNT
        ),
    ]
    columns += [
        Column(
            t.gettext("Evaluated plans with fulfilment %(label)s", label=t.gettext(BIN_NAMES[b])),
            _at("fulfilment", "bins", b),
            COUNT,
        )
        for b in BINS
    ]
    columns += [
        Column(t.gettext("Mean plan fulfilment"), _at("fulfilment", "mean_weighted_ratio"), share),
        Column(
            t.gettext(
                "Share of measures delivered at %(threshold)s or more (mean)",
                threshold=threshold,
            ),
            _at("fulfilment", "mean_fidelity"),
            share,
        ),
    ]
    columns += [
        Column(
            t.gettext("Outcome: %(label)s", label=t.gettext(OUTCOME_NAMES[o])),
            _at("outcomes", o),
            COUNT,
        )
        for o in OUTCOMES
    ]
    return columns
