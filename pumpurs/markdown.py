"""Markdown for run dashboards: a summary of counts and tables, never a personal code."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any

from pumpurs.privacy import mask


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return mask(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: Iterable[Mapping[str, Any]]) -> str:
    """Return rows as a markdown table (columns from the first row)."""
    rows = list(rows)
    if not rows:
        return "_—_\n"
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def markdown_summary(
    title: str,
    counts: Mapping[str, Any],
    notes: Iterable[str] = (),
    tables: Mapping[str, Iterable[Mapping[str, Any]]] | None = None,
) -> str:
    """Return a run summary: a heading, a table of counts, notes, then named tables."""
    parts = [f"# {_cell(title)}\n", markdown_table([{"": k, "#": v} for k, v in counts.items()])]
    notes = [f"- {_cell(note)}" for note in notes]
    if notes:
        parts.append("\n".join(notes) + "\n")
    for name, rows in (tables or {}).items():
        parts.append(f"## {_cell(name)}\n\n" + markdown_table(rows))
    return "\n".join(parts)


def markdown_images(
    title: str, lines: Iterable[str], images: Iterable[tuple[str, str, bytes]]
) -> str:
    """Return a heading, bullet lines and PNG images inlined as data URIs (the UI shows them),
    each image under its heading with its alternative text: (heading, alternative text, PNG)."""
    parts = [f"# {_cell(title)}\n"]
    bullets = [f"- {_cell(line)}" for line in lines]
    if bullets:
        parts.append("\n".join(bullets) + "\n")
    for heading, alt, png in images:
        data = base64.b64encode(png).decode("ascii")
        text = _cell(alt).replace("[", "(").replace("]", ")")
        parts.append(f"## {_cell(heading)}\n\n![{text}](data:image/png;base64,{data})\n")
    return "\n".join(parts)


def markdown_cell(value: Any) -> str:
    """Return a value fit for one table cell or list item: personal codes masked, one line."""
    return _cell(value)
