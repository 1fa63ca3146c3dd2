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
from pumpurs.i18n.catalogue import N_, texts
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
COUNT, AMOUNT, SHARE = "#,##0", "#,##0.00", "0.0%"
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill(fill_type="solid", start_color="EEF0F3", end_color="EEF0F3")
_HEADER_ALIGN = Alignment(wrap_text=True, vertical="top")

Path = tuple[str, ...]  # where a figure is in a unit's figures
Sheet = tuple[str, Sequence[tuple[Unit, Mapping[str, Any]]]]  # level, its units and figures


def figures_workbook(sheets: Sequence[Sheet], config: Config, language: str) -> bytes:
    """Return the workbook: per level a sheet headed by the figure names, a row per unit."""
    t = texts(language)
    columns = _columns(config, language)
    workbook = Workbook()
    workbook.remove(workbook.active)
    for level, units in sheets:
        sheet = workbook.create_sheet(t.gettext(SHEET_NAMES[level]))
        headers = [t.gettext("Code"), t.gettext("Name"), *(c[0] for c in columns)]
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

    t = texts(language)
    catalogue = config.catalogue
    consult = ("subject_consultations", "subjects")
    threshold = fmt_percent(config.programme.fidelity_threshold, language)
    columns: list[tuple[str, Path, str]] = [(t.gettext("Pupils with a plan"), ("pupils",), COUNT)]
    columns += [(t.gettext("Plans (approved)"), ("plans",), COUNT)]
    columns += [
        (
            t.gettext("Plans: %(label)s", label=t.gettext(STATUS_NAMES[s])),
            ("plans_by_status", s),
            COUNT,
        )
        for s in map(str, PlanStatus)
    ]
    columns += [
        (
            t.gettext("Pupils with subject consultations"),
            ("subject_consultations", "pupils"),
            COUNT,
        ),
        (
            t.gettext("Share with subject consultations"),
            ("subject_consultations", "share"),
            SHARE,
        ),
    ]
    for key, subject in catalogue.subjects.items():
        name = getattr(subject, language)
        columns += [
            (
                t.gettext("Consultations, pupils: %(label)s", label=name),
                (*consult, key, "pupils"),
                COUNT,
            ),
            (
                t.gettext("Consultations, share: %(label)s", label=name),
                (*consult, key, "share"),
                SHARE,
            ),
        ]
    columns += [
        (
            t.gettext("Risk category, pupils: %(label)s", label=getattr(risk, language)),
            ("risk_categories", key, "pupils"),
            COUNT,
        )
        for key, risk in catalogue.risk_categories.items()
    ]
    columns += [
        (t.gettext("Teachers and specialists"), ("providers",), COUNT),
        (t.gettext("Measures planned"), ("measures", "planned"), COUNT),
        (t.gettext("Measures reported"), ("measures", "reported"), COUNT),
        (t.gettext("Measures delivered"), ("measures", "delivered"), COUNT),
        (t.gettext("Hours planned"), ("hours", "planned"), AMOUNT),
        (t.gettext("Hours delivered"), ("hours", "delivered"), AMOUNT),
        (t.gettext("Funding cap, EUR"), ("budget", "cap_eur"), AMOUNT),
        (t.gettext("Funding planned, EUR"), ("budget", "planned_eur"), AMOUNT),
        (t.gettext("Funding used, EUR"), ("budget", "used_eur"), AMOUNT),
        (t.gettext("Used of the cap"), ("budget", "used_share_of_cap"), SHARE),
        (t.gettext("Plans evaluated"), ("fulfilment", "evaluated"), COUNT),
        (t.gettext("Awaiting evaluation"), ("fulfilment", "awaiting"), COUNT),
    ]
    columns += [
        (
            t.gettext("Fulfilment %(label)s", label=t.gettext(BIN_NAMES[b])),
            ("fulfilment", "bins", b),
            COUNT,
        )
        for b in BINS
    ]
    columns += [
        (t.gettext("Mean plan fulfilment"), ("fulfilment", "mean_weighted_ratio"), SHARE),
        (
            t.gettext(
                "Share of measures delivered at %(threshold)s or more (mean)",
                threshold=threshold,
            ),
            ("fulfilment", "mean_fidelity"),
            SHARE,
        ),
    ]
    columns += [
        (t.gettext("Outcome: %(label)s", label=t.gettext(OUTCOME_NAMES[o])), ("outcomes", o), COUNT)
        for o in OUTCOMES
    ]
    return columns


def _value(figures: Mapping[str, Any], path: Path) -> Any:
    """Return the figure at `path`, or None where the unit's figures lack it."""
    value: Any = figures
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value
