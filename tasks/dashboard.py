"""Keyed Prefect artifacts: the managers' dashboard is the UI's Artifacts page."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)

from pumpurs.report import markdown_summary
from pumpurs.semester import SemesterCode


def artifact_key(flow: str, semester: SemesterCode, part: str) -> str:
    """Return a stable lowercase-dash key, e.g. `collect-2026-2027-1-summary`."""
    return f"{flow}-{semester.folder}-{part}".lower()


def publish_summary(
    flow: str,
    semester: SemesterCode,
    title: str,
    counts: Mapping[str, Any],
    notes: Iterable[str] = (),
    tables: Mapping[str, list[dict[str, Any]]] | None = None,
) -> None:
    """Publish the run's markdown summary and each of its tables as table artifacts."""
    create_markdown_artifact(
        key=artifact_key(flow, semester, "summary"),
        markdown=markdown_summary(title, counts, notes, tables),
        description=title,
    )
    for name, rows in (tables or {}).items():
        if rows:
            create_table_artifact(
                key=artifact_key(flow, semester, name),
                table=rows,
                description=f"{title}: {name}",
            )


def publish_markdown(
    flow: str, semester: SemesterCode, part: str, markdown: str, description: str
) -> None:
    """Publish one more keyed markdown artifact of the run (e.g. its charts)."""
    create_markdown_artifact(
        key=artifact_key(flow, semester, part), markdown=markdown, description=description
    )


class Progress:
    """A progress artifact a flow moves forward as its steps finish."""

    def __init__(self, flow: str, semester: SemesterCode, description: str) -> None:
        created = create_progress_artifact(
            progress=0.0, key=artifact_key(flow, semester, "progress"), description=description
        )
        assert isinstance(created, UUID)  # called from sync code: the call returned its result
        self.id: UUID = created

    def update(self, percent: float) -> None:
        """Set the progress (0–100)."""
        update_progress_artifact(artifact_id=self.id, progress=max(0.0, min(100.0, percent)))
