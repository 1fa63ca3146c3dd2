"""Dashboard charts: PNG bytes from matplotlib, Latvian letters drawn, labels wrapped, every
figure in the alternative text; and the email's bars, whose length is the share itself."""

from __future__ import annotations

import struct
import warnings
from typing import Any

import pytest

from pumpurs.i18n.formats import NBSP
from pumpurs.summaries.charts import Bars, dashboard_charts, draw
from pumpurs.summaries.content import _with_bars, bar_width

LATVIAN = "āčēģīķļņšūž ĀČĒĢĪĶĻŅŠŪŽ"


def size(png: bytes) -> tuple[int, int]:
    """Return a PNG's width and height from its header."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def bars(labels: list[str], shares: list[float]) -> Bars:
    return Bars(labels, [("one", shares)], [f"{round(s * 100)} %" for s in shares], shares=True)


def test_a_chart_is_a_png_and_the_same_figures_draw_the_same_bytes() -> None:
    chart = bars(["matemātika", "latviešu valoda"], [0.37, 0.27])
    png = draw(chart, "lv")
    width, height = size(png)
    assert 600 < width < 1400 and height < width
    assert png == draw(chart, "lv")


def test_latvian_letters_are_drawn_without_a_missing_glyph() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw(
            Bars(
                [LATVIAN, "Rīgas reģions"],
                [("evaluated", [3, 1]), ("pending", [1, 0])],
                [LATVIAN, "1"],
                shares=False,
            ),
            "lv",
            [f"izvērtēti {LATVIAN}", "gaida"],
        )
    assert [str(w.message) for w in caught] == []


def test_a_long_label_wraps_onto_more_lines_instead_of_being_cut() -> None:
    short = size(draw(bars(["Skola"], [0.5]), "lv"))
    long_name = "Oskara Kalpaka Liepājas 15. vidusskolas ļoti garais nosaukums ar filiālēm"
    wrapped = size(draw(bars([long_name], [0.5]), "lv"))
    assert wrapped[1] > short[1]  # taller: the name is on several lines
    assert wrapped[0] < 2 * short[0]
    with pytest.raises(ValueError, match="at least one bar"):
        draw(bars([], []), "lv")


def context(children: int = 2) -> dict[str, Any]:
    row = {"plans_all": 3, "plans_evaluated": 2, "plans_approved": 1, "plans_pending": 0}
    return {
        "level": "nation",
        "f": {"pupils": 30, "fulfilment": {"evaluated": 4, "awaiting": 0}},
        "risks": [{"label": "ekonomiskie riski", "pupils": 9, "share": 0.3}],
        "subjects": [{"label": "matemātika", "pupils": 11, "share": 0.3667}],
        "bins": [
            {"key": "ge_80", "label": f"80{NBSP}% un vairāk", "plans": 3, "share": 0.75},
            {"key": "none", "label": "nav aprēķināma", "plans": 0, "share": 0.0},
        ],
        "children": [{**row, "name": f"Reģions {i}"} for i in range(children)],
    }


def test_the_nation_gets_four_charts_each_with_its_figures_as_alternative_text() -> None:
    charts = dashboard_charts(context(), "lv")
    assert [c.name for c in charts] == ["risks", "subjects", "fulfilment", "regions"]
    assert charts[0].title == "Skolēni pēc riska grupas"
    assert charts[0].alt == f"Skolēni pēc riska grupas: ekonomiskie riski: 9 (30{NBSP}%)"
    assert f"matemātika: 37{NBSP}% (11)" in charts[1].alt
    assert f"80{NBSP}% un vairāk: 3 (75{NBSP}%)" in charts[2].alt
    assert "nav aprēķināma" not in charts[2].alt  # an empty "not computable" bar is left out
    assert "Reģions 0: 3 · izvērtēti 2 · apstiprināti, gaida izvērtējumu 1" in charts[3].alt
    english = dashboard_charts(context(), "en")
    assert english[0].title == "Pupils per risk category" and "matemātika: 37% (11)" in (
        english[1].alt
    )  # the labels come translated in the context; the numbers are formatted here


def test_shares_are_bars_of_the_full_width_and_counts_of_the_largest() -> None:
    assert [bar_width(s) for s in (None, 0.0, 0.004, 0.32, 0.995, 1.0)] == [0, 0, 1, 32, 100, 100]
    rows = _with_bars(
        [
            {
                "name": "B",
                "plans_all": 10,
                "plans_evaluated": 5,
                "plans_approved": 3,
                "plans_pending": 2,
            },
            {
                "name": "A",
                "plans_all": 40,
                "plans_evaluated": 40,
                "plans_approved": 0,
                "plans_pending": 0,
            },
        ]
    )
    assert [r["name"] for r in rows] == ["A", "B"]  # most plans first
    assert [p["width"] for p in rows[0]["bar"]] == [100, 0, 0]
    assert [p["width"] for p in rows[1]["bar"]] == [12, 8, 5]  # 5, 3, 2 of 40: 25 % in all
