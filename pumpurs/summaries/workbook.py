"""The semester's figures as an XLSX workbook for managers: one sheet per level, a row per unit.

Every column is one figure of `figures`, headed in the email's language; counts are
numbers, shares are formatted as percentages, so the sheet can be sorted, summed and charted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from pumpurs.config import Config
from pumpurs.i18n.texts import fmt_percent, translate
from pumpurs.store.models import PlanStatus
from pumpurs.summaries.content import Unit
from pumpurs.summaries.figures import BINS, OUTCOMES

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COUNT, AMOUNT, SHARE = "#,##0", "#,##0.00", "0.0%"
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill(fill_type="solid", start_color="EEF0F3", end_color="EEF0F3")
_HEADER_ALIGN = Alignment(wrap_text=True, vertical="top")

Path = tuple[str, ...]  # where a figure is in a unit's figures
Sheet = tuple[str, Sequence[tuple[Unit, Mapping[str, Any]]]]  # level, its units and figures


def figures_workbook(sheets: Sequence[Sheet], config: Config, language: str) -> bytes:
    """Return the workbook: per level a sheet headed by the figure names, a row per unit."""
    columns = _columns(config, language)
    workbook = Workbook()
    workbook.remove(workbook.active)
    for level, units in sheets:
        sheet = workbook.create_sheet(translate(f"summary.sheet.{level}", language))
        headers = [
            translate("summary.column.code", language),
            translate("summary.column.name", language),
            *(c[0] for c in columns),
        ]
        sheet.append(headers)
        for unit, figures in units:
            sheet.append([unit.code, unit.name, *(_value(figures, at) for _, at, _ in columns)])
        for index, cell in enumerate(sheet[1], start=1):
            cell.font, cell.fill, cell.alignment = _HEADER_FONT, _HEADER_FILL, _HEADER_ALIGN
            sheet.column_dimensions[get_column_letter(index)].width = 36 if index == 2 else 14
        for offset, (_, _, number_format) in enumerate(columns, start=3):
            for (cell,) in sheet.iter_rows(min_row=2, min_col=offset, max_col=offset):
                cell.number_format = number_format
        sheet.row_dimensions[1].height = 60
        sheet.freeze_panes = "C2"
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _columns(config: Config, language: str) -> list[tuple[str, Path, str]]:
    """Return each figure's header, its path in a unit's figures, and its number format."""

    def t(key: str, **params: Any) -> str:
        return translate(f"summary.column.{key}", language, **params)

    def label(kind: str, key: str) -> str:
        return translate(f"summary.{kind}.{key}", language)

    catalogue = config.catalogue
    consult = ("subject_consultations", "subjects")
    threshold = fmt_percent(config.programme.fidelity_threshold, language)
    columns: list[tuple[str, Path, str]] = [(t("pupils"), ("pupils",), COUNT)]
    columns += [(t("plans"), ("plans",), COUNT)]
    columns += [(t("status", label=label("status", s)), ("plans_by_status", s), COUNT)
                for s in map(str, PlanStatus)]  # fmt: skip
    columns += [
        (t("consult_pupils"), ("subject_consultations", "pupils"), COUNT),
        (t("consult_share"), ("subject_consultations", "share"), SHARE),
    ]
    for key, subject in catalogue.subjects.items():
        name = getattr(subject, language)
        columns += [
            (t("subject_pupils", label=name), (*consult, key, "pupils"), COUNT),
            (t("subject_share", label=name), (*consult, key, "share"), SHARE),
        ]
    columns += [(t("risk_pupils", label=getattr(risk, language)),
                 ("risk_categories", key, "pupils"), COUNT)
                for key, risk in catalogue.risk_categories.items()]  # fmt: skip
    columns += [
        (t("providers"), ("providers",), COUNT),
        (t("measures_planned"), ("measures", "planned"), COUNT),
        (t("measures_reported"), ("measures", "reported"), COUNT),
        (t("measures_delivered"), ("measures", "delivered"), COUNT),
        (t("hours_planned"), ("hours", "planned"), AMOUNT),
        (t("hours_delivered"), ("hours", "delivered"), AMOUNT),
        (t("cap_eur"), ("budget", "cap_eur"), AMOUNT),
        (t("planned_eur"), ("budget", "planned_eur"), AMOUNT),
        (t("used_eur"), ("budget", "used_eur"), AMOUNT),
        (t("used_share"), ("budget", "used_share_of_cap"), SHARE),
        (t("evaluated"), ("fulfilment", "evaluated"), COUNT),
        (t("awaiting"), ("fulfilment", "awaiting"), COUNT),
    ]
    columns += [(t("bin", label=label("bin", b)), ("fulfilment", "bins", b), COUNT) for b in BINS]
    columns += [
        (t("mean_ratio"), ("fulfilment", "mean_weighted_ratio"), SHARE),
        (t("mean_fidelity", threshold=threshold), ("fulfilment", "mean_fidelity"), SHARE),
    ]
    columns += [(t("outcome", label=label("outcome", o)), ("outcomes", o), COUNT)
                for o in OUTCOMES]  # fmt: skip
    return columns


def _value(figures: Mapping[str, Any], path: Path) -> Any:
    """Return the figure at `path`, or None where the unit's figures lack it."""
    value: Any = figures
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value
