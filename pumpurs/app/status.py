"""`pumpurs status <semester>`: the semester's live view in a terminal, straight from the store
(no flow run): the headline, then a table per part, or all of it as JSON."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from rich.console import Console
from rich.table import Table as RichTable

from pumpurs.app.deployments import next_runs
from pumpurs.clock import utcnow
from pumpurs.semester import SemesterCode
from pumpurs.status import (
    SemesterStatus,
    counts,
    headline,
    headline_title,
    semester_status,
    status_tables,
)
from pumpurs.status.tables import none_text
from pumpurs.store.context import load_context

STATUS_DEPLOYMENT = "semester-status"


def read_status(semester: str) -> SemesterStatus:
    """Return the semester's status now, with the next runs of prefect.yaml's schedules."""
    code = SemesterCode.parse(semester)
    ctx = load_context()
    now = utcnow()
    upcoming = next_runs(ctx.config, now, leave_out=STATUS_DEPLOYMENT)
    with ctx.sessions() as session:
        return semester_status(session, ctx.config, code, now, upcoming)


def as_json(status: SemesterStatus) -> str:
    """Return the status as one JSON document: the headline's figures, then every part."""
    document: dict[str, Any] = {"figures": counts(status), **dataclasses.asdict(status)}
    return json.dumps(document, ensure_ascii=False, default=str, sort_keys=True)


def print_status(status: SemesterStatus, language: str, console: Console | None = None) -> None:
    """Print the headline and a table per part, in the reader's language."""
    console = console or Console(highlight=False, soft_wrap=False)
    console.print(headline_title(status, language), style="bold")
    for line in headline(status, language):
        console.print(f"  • {line}")
    none = none_text(language)
    for table in status_tables(status, language).values():
        shown = RichTable(title=table.title, title_justify="left", title_style="bold")
        for index, column in enumerate(table.columns):
            numbers = bool(table.rows) and all(isinstance(row[index], int) for row in table.rows)
            shown.add_column(column, justify="right" if numbers else "left", overflow="fold")
        for record in table.records(none):
            shown.add_row(*(str(value) for value in record.values()))
        console.print()
        console.print(shown)
