"""Dashboard markdown: images under their headings, their figures as alternative text."""

from __future__ import annotations

import base64

from pumpurs.markdown import markdown_images

PNG = b"\x89PNG\r\n\x1a\n fake"


def test_an_image_has_its_heading_and_its_figures_as_alternative_text() -> None:
    text = markdown_images(
        "Semestra 2026/2027-1 rādītāji",
        ["Skolēni ar atbalsta plānu: 1 670"],
        [("Skolēni pēc riska grupas", "Skolēni pēc riska grupas: ekonomiskie [x] | 9", PNG)],
    )
    data = base64.b64encode(PNG).decode("ascii")
    assert text.splitlines()[:3] == [
        "# Semestra 2026/2027-1 rādītāji",
        "",
        "- Skolēni ar atbalsta plānu: 1 670",
    ]
    assert "## Skolēni pēc riska grupas\n\n" in text
    # brackets would end the alternative text early; a bar is escaped as in tables
    assert f"![Skolēni pēc riska grupas: ekonomiskie (x) \\| 9](data:image/png;base64,{data})" in (
        text
    )
