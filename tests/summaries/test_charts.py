"""Charts: PNG bytes from matplotlib's Agg canvas, Latvian letters drawn, picked per summary."""

from __future__ import annotations

import struct
import warnings
from typing import Any

import pytest

from pumpurs.summaries.charts import (
    MOST_BARS,
    Chart,
    Series,
    bar_chart,
    stacked_bar_chart,
    summary_charts,
)

LATVIAN = "āčēģīķļņšūž ĀČĒĢĪĶĻŅŠŪŽ"


def size(png: bytes) -> tuple[int, int]:
    """Return a PNG's width and height from its header."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_a_bar_chart_is_a_png_600_px_wide_at_twice_the_density() -> None:
    png = bar_chart(["matemātika", "latviešu valoda"], [0.37, 0.27], ["37%", "27%"])
    assert size(png)[0] == 1200
    assert png == bar_chart(["matemātika", "latviešu valoda"], [0.37, 0.27], ["37%", "27%"])


def test_latvian_letters_are_drawn_without_a_missing_glyph() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stacked_bar_chart(
            [LATVIAN, "Rīgas reģions"],
            [Series(f"izvērtēti {LATVIAN}", [3, 1]), Series("gaida", [1, 0])],
            [LATVIAN, "1"],
        )
    assert [str(w.message) for w in caught] == []


def test_more_bars_make_a_taller_chart_and_an_empty_one_is_refused() -> None:
    short = size(bar_chart(["a"], [1], ["1"]))[1]
    tall = size(bar_chart([f"skola {i}" for i in range(10)], list(range(10)), ["x"] * 10))[1]
    assert tall > 3 * short
    with pytest.raises(ValueError, match="at least one bar"):
        bar_chart([], [], [])


def context(level: str, pupils: int, children: int = 0) -> dict[str, Any]:
    row = {"plans_all": 2, "plans_evaluated": 1, "plans_approved": 1, "plans_pending": 0}
    return {
        "level": level,
        "f": {"pupils": pupils, "fulfilment": {"evaluated": pupils, "awaiting": 0}},
        "risks": [{"label": "ekonomiskie riski", "pupils": pupils, "share": 1.0}],
        "subjects": [{"label": "matemātika", "pupils": pupils, "share": 1.0}] if pupils else [],
        "bins": [
            {"key": "ge_80", "label": "80% un vairāk", "plans": pupils},
            {"key": "none", "label": "nav aprēķināma", "plans": 0},
        ],
        "children": [{**row, "name": f"Skola {i:02}"} for i in range(children)],
    }


def test_a_school_summary_gets_risks_subjects_and_fulfilment() -> None:
    charts = summary_charts(context("school", 3), "lv")
    assert [(c.name, c.title) for c in charts] == [
        ("risks", "Skolēni pēc riska grupas"),
        ("subjects", "Skolēnu daļa, kas saņem konsultācijas mācību priekšmetā"),
        ("fulfilment", "Plānu izpilde (izpildīts no plānotā)"),
    ]
    assert charts[0].content_id == "risks@pumpurs"
    assert summary_charts(context("school", 0), "lv") == []  # nothing approved: nothing to draw


def test_a_region_shows_its_schools_and_only_the_largest_when_many() -> None:
    few = summary_charts(context("region", 3, children=3), "en")[-1]
    assert (few.name, few.title) == ("schools", "Support plans per school")
    many = summary_charts(context("region", 3, children=MOST_BARS + 5), "lv")[-1]
    assert many.title == f"Atbalsta plāni: {MOST_BARS} skolas ar visvairāk plāniem"
    nation = summary_charts(context("nation", 3, children=5), "lv")[-1]
    assert isinstance(nation, Chart) and nation.name == "regions"
