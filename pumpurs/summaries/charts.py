"""Bar charts as PNG bytes for emails and dashboards, drawn with Pillow (`bar_png`).

Charts are drawn in DejaVu Sans, which ships with matplotlib and has every Latvian letter,
at twice the email's density. Labels and value texts are
translated and formatted the email's way, so a chart reads like the text around it; the title
is the heading above the image and its alternative text, not drawn in it.
`summary_charts` picks the charts of one summary from its context (`content`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pumpurs.i18n.catalogue import N_, texts
from pumpurs.i18n.formats import fmt_number, fmt_percent
from pumpurs.summaries.bar_png import Bars, draw_bars
from pumpurs.summaries.content import BIN_NAMES, GROUP_NAMES, GROUPS

WIDTH_INCHES = 6.0  # 600 px wide in the email at 100 px per inch; drawn at twice that
MOST_BARS = 25  # a per-school chart shows the schools with the most plans
COLOURS = ("#7a1f3d", "#c0617f", "#d9a5b5", "#9aa5b1")  # the emails' burgundy, lighter, grey
TITLES = {  # each chart's title: the heading above it in the email, its alternative text
    "risks": N_("Pupils per risk category"),
    "subjects": N_("Share of pupils with consultations in a subject"),
    "fulfilment": N_("Plan fulfilment (delivered of planned)"),
    "schools": N_("Support plans per school"),
    "regions": N_("Support plans per region"),
}


@dataclass(frozen=True)
class Chart:
    """One chart of a summary: `name` makes its content id, `title` its alternative text."""

    name: str
    title: str
    png: bytes

    @property
    def content_id(self) -> str:
        """Return the id the HTML refers to as `cid:<id>`."""
        return f"{self.name}@pumpurs"


@dataclass(frozen=True)
class Series:
    """One coloured part of each bar: its name (for the legend) and a value per bar."""

    name: str
    values: Sequence[float]


def bar_chart(labels: Sequence[str], values: Sequence[float], texts: Sequence[str]) -> bytes:
    """Return a horizontal bar chart, first label on top, each bar's text at its end."""
    return stacked_bar_chart(labels, [Series("", values)], texts)


def stacked_bar_chart(
    labels: Sequence[str], series: Sequence[Series], texts: Sequence[str]
) -> bytes:
    """Return horizontal bars made of the series' parts, with a legend when there are several."""
    if not labels:
        raise ValueError("a chart needs at least one bar")
    bars = Bars(
        labels=[_shorten(label) for label in labels],
        names=[part.name for part in series],
        parts=[part.values for part in series],
        texts=texts,
    )
    colours = [COLOURS[index % len(COLOURS)] for index in range(len(series))]
    return draw_bars(bars, WIDTH_INCHES, colours)


def _shorten(label: str, limit: int = 42) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def summary_charts(context: Mapping[str, Any], language: str) -> list[Chart]:
    """Return the charts of one summary: risks, subjects, fulfilment, and plans per unit."""
    t = texts(language)

    def title(key: str) -> str:
        return t.gettext(TITLES[key])

    def number(value: float) -> str:
        return fmt_number(value, language, 0)

    def percent(share: float | None) -> str:
        return fmt_percent(share or 0.0, language)

    charts: list[Chart] = []
    figures, risks, subjects = context["f"], context["risks"], context["subjects"]
    if figures["pupils"]:
        values_shown = [f"{number(r['pupils'])} ({percent(r['share'])})" for r in risks]
        png = bar_chart([r["label"] for r in risks], [r["pupils"] for r in risks], values_shown)
        charts.append(Chart("risks", title("risks"), png))
    if subjects:
        values_shown = [f"{percent(r['share'])} ({number(r['pupils'])})" for r in subjects]
        png = bar_chart(
            [r["label"] for r in subjects], [r["share"] for r in subjects], values_shown
        )
        charts.append(Chart("subjects", title("subjects"), png))
    awaiting = figures["fulfilment"]["awaiting"]
    if figures["fulfilment"]["evaluated"] or awaiting:
        bins = [b for b in context["bins"] if b["key"] != "none" or b["plans"]]
        labels = [b["label"] for b in bins] + [t.gettext(BIN_NAMES["awaiting"])]
        values = [b["plans"] for b in bins] + [awaiting]
        png = bar_chart(labels, values, [number(v) for v in values])
        charts.append(Chart("fulfilment", title("fulfilment"), png))
    children = sorted(context["children"], key=lambda r: (-r["plans_all"], r["name"]))
    if children:
        name = "schools" if context["level"] == "region" else "regions"
        heading = title(name)
        if len(children) > MOST_BARS:
            children = children[:MOST_BARS]
            heading = t.ngettext(
                "Support plans: the %(num)s school with the most plans",
                "Support plans: the %(num)s schools with the most plans",
                MOST_BARS,
            )
        series = [
            Series(t.gettext(GROUP_NAMES[group]), [r[f"plans_{group}"] for r in children])
            for group in GROUPS
        ]
        values_shown = [number(r["plans_all"]) for r in children]
        png = stacked_bar_chart([r["name"] for r in children], series, values_shown)
        charts.append(Chart(name, heading, png))
    return charts
