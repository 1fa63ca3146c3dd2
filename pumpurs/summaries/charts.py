"""The national figures as PNG bar charts for the run's dashboard (the Prefect artifact).

The emails draw their bars as table cells (`templates/email/summary.html`): they show where
images are blocked and cost nothing to build. The dashboard is markdown, which has no tables
with coloured cells, so its four charts are drawn here with matplotlib (its object API and Agg
canvas, no pyplot state), in DejaVu Sans, which has every Latvian letter. Shares run on a
0–100 % axis; counts from 0 to the largest. Long labels wrap, and the image is cut to what was
drawn (`bbox_inches="tight"`), so no label or value is clipped. Each chart's alternative text
states its figures, so the dashboard reads without the images too.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pumpurs.i18n.catalogue import N_, texts
from pumpurs.i18n.formats import fmt_number, fmt_percent
from pumpurs.summaries.content import GROUP_NAMES, GROUPS

WIDTH_INCHES = 7.0
DPI = 150
WRAP = 32  # characters per label line
COLOURS = {"one": "#7a1f3d", "evaluated": "#7a1f3d", "approved": "#c0617f", "pending": "#d9a5b5"}
TITLES = {  # each chart's title: the heading above it on the dashboard, its alternative text
    "risks": N_("Pupils per risk category"),
    "subjects": N_("Share of pupils with consultations in a subject"),
    "fulfilment": N_("Plan fulfilment (delivered of planned)"),
    "regions": N_("Support plans per region"),
}


@dataclass(frozen=True)
class Chart:
    """One chart: `title` is its heading, `alt` its alternative text with every figure."""

    name: str
    title: str
    alt: str
    png: bytes


@dataclass(frozen=True)
class Bars:
    """What a chart draws: a label per bar (top first), its parts, and the text at its end."""

    labels: Sequence[str]
    parts: Sequence[tuple[str, Sequence[float]]]  # (colour key, a value per bar)
    texts: Sequence[str]
    shares: bool  # values are shares: the axis runs 0–100 %


def dashboard_charts(context: Mapping[str, Any], language: str) -> list[Chart]:
    """Return the charts of one summary's figures: risks, subjects, fulfilment, per region."""
    t = texts(language)

    def number(value: float) -> str:
        return fmt_number(value, language, 0)

    def percent(share: float | None) -> str:
        return fmt_percent(share or 0.0, language)

    def shares(rows: Sequence[Mapping[str, Any]], count: str, share_first: bool) -> Bars:
        """Return one bar per row on the 0–100 % axis: its share, and its count beside it."""
        shown = [
            f"{percent(r['share'])} ({number(r[count])})"
            if share_first
            else f"{number(r[count])} ({percent(r['share'])})"
            for r in rows
        ]
        values = [r["share"] or 0.0 for r in rows]
        return Bars([r["label"] for r in rows], [("one", values)], shown, shares=True)

    found: list[tuple[str, Bars]] = []
    figures = context["f"]
    if figures["pupils"]:
        found.append(("risks", shares(context["risks"], "pupils", share_first=False)))
    if context["subjects"]:
        found.append(("subjects", shares(context["subjects"], "pupils", share_first=True)))
    if figures["fulfilment"]["evaluated"]:
        bins = [b for b in context["bins"] if b["key"] != "none" or b["plans"]]
        found.append(("fulfilment", shares(bins, "plans", share_first=False)))
    children = context["children"]  # most plans first
    if children and context["level"] == "nation":
        parts = [(group, [float(r[f"plans_{group}"]) for r in children]) for group in GROUPS]
        shown = [
            " · ".join(
                [number(r["plans_all"])]
                + [f"{t.gettext(GROUP_NAMES[g])} {number(r[f'plans_{g}'])}" for g in GROUPS]
            )
            for r in children
        ]
        found.append(("regions", Bars([r["name"] for r in children], parts, shown, shares=False)))
    charts = []
    for name, bars in found:
        title = t.gettext(TITLES[name])
        lines = [f"{label}: {text}" for label, text in zip(bars.labels, bars.texts, strict=True)]
        alt = f"{title}: " + "; ".join(lines)
        legend = [t.gettext(GROUP_NAMES[g]) for g in GROUPS] if len(bars.parts) > 1 else []
        charts.append(Chart(name, title, alt, draw(bars, language, legend)))
    return charts


def draw(bars: Bars, language: str, legend: Sequence[str] = ()) -> bytes:
    """Return horizontal bars as PNG: first label on top, each bar's text after its end."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    if not bars.labels:
        raise ValueError("a chart needs at least one bar")
    labels = ["\n".join(textwrap.wrap(label, WRAP)) or label for label in bars.labels]
    rows = sum(label.count("\n") + 1 for label in labels)
    figure = Figure(figsize=(WIDTH_INCHES, 0.5 + 0.32 * rows + 0.18 * len(labels)), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(labels)))
    left = [0.0] * len(labels)
    for colour, values in bars.parts:
        axes.barh(positions, values, left=left, color=COLOURS[colour], height=0.6)
        left = [a + b for a, b in zip(left, values, strict=True)]
    top = 1.0 if bars.shares else max(max(left), 1.0)
    for position, end, text in zip(positions, left, bars.texts, strict=True):
        axes.text(end + top * 0.01, position, text, va="center", fontsize=9, color="#1f2933")
    axes.set_xlim(0, top)
    axes.set_yticks(positions, labels, fontsize=9)
    axes.invert_yaxis()
    if bars.shares:
        axes.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
        axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_percent(v, language)))
    else:
        axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_number(v, language, 0)))
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.tick_params(axis="x", labelsize=8, colors="#616e7c")
    if legend:
        axes.legend(
            legend,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.12),
            ncols=len(legend),
            frameon=False,
            fontsize=8,
        )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight", pad_inches=0.1)
    return buffer.getvalue()
