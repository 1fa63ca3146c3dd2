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

from pumpurs.i18n.catalogue import Texts, texts
from pumpurs.mail.delivery import CLAIM_SECONDS, DeliveryReport
from pumpurs.markdown import markdown_summary
from pumpurs.semester import SemesterCode
from pumpurs.store.context import current_settings
from tasks.common import MailNotDelivered

Count = int | str | bool
RunCounts = dict[str, Count]
"""What a flow run returns and the CLI prints: its counts by name, the mail's last."""


def artifact_key(flow: str, semester: SemesterCode, part: str) -> str:
    """Return a stable lowercase-dash key, e.g. `collect-2026-2027-1-summary`."""
    return f"{flow}-{semester.folder}-{part}".lower()


def run_texts() -> Texts:
    """Return the dashboard's texts, in the language the settings ask for."""
    return texts(str(current_settings().language))


def mail_notes(mail: Mapping[str, Any]) -> list[str]:
    """Return the run summary's notes on the mail: what failed, what another sender holds."""
    t = run_texts()
    notes = []
    if mail["last_error"]:
        notes.append(t.gettext("Sending failed: %(error)s", error=mail["last_error"]))
    if mail["mail_claimed_elsewhere"]:
        notes.append(
            t.gettext(
                "Messages another sender holds right now: %(count)s. If it does not send them "
                "(it was stopped, say), the next run sends them once the hold ends (within "
                "%(minutes)s min).",
                count=mail["mail_claimed_elsewhere"],
                minutes=CLAIM_SECONDS // 60,
            )
        )
    if mail.get("mail_possibly_repeated"):
        notes.append(
            t.gettext(
                "Possibly repeated: %(count)s. The mail server's answer to an earlier attempt "
                "was lost, so these messages were sent again; a recipient may have them twice, "
                "with the same Message-ID (most mail programs show one).",
                count=mail["mail_possibly_repeated"],
            )
        )
    return notes


def finish_run(
    flow: str,
    semester: SemesterCode,
    title: str,
    counts: Mapping[str, Count],
    mail: DeliveryReport,
    progress: Progress,
    notes: Iterable[str] = (),
    tables: Mapping[str, list[dict[str, Any]]] | None = None,
) -> RunCounts:
    """End a flow run the same way in every flow: the counts with the mail's, the summary and
    every table published (with any refused addresses), the run failed when mail stayed queued
    (it goes out with the next run), else its progress at 100 %. Return the run's result."""
    result: RunCounts = {**counts, **mail.as_dict()}
    refused = [{"recipient": r, "reason": why} for r, why in mail.failed]
    tables = {**(tables or {}), "failed-mail": refused}
    told = mail_notes({**mail.as_dict(), "last_error": mail.last_error})
    publish_summary(flow, semester, title, result, [*notes, *told], tables)
    if mail.left_queued:
        raise MailNotDelivered(mail)
    progress.update(100)
    return result


def publish_summary(
    flow: str,
    semester: SemesterCode,
    title: str,
    counts: Mapping[str, Any],
    notes: Iterable[str] = (),
    tables: Mapping[str, list[dict[str, Any]]] | None = None,
) -> None:
    """Publish the run's markdown summary and each of its tables as a table artifact, every
    table every run: an empty one as a "none" row, so the newest version of each key is this
    run's (never an older run's table beside this run's summary)."""
    create_markdown_artifact(
        key=artifact_key(flow, semester, "summary"),
        markdown=markdown_summary(title, counts, notes, tables),
        description=title,
    )
    for name, rows in (tables or {}).items():
        publish_table(flow, semester, name, rows or none_rows(name), f"{title}: {name}")


def none_rows(column: str) -> list[dict[str, Any]]:
    """Return what an empty table is published as: one row saying "none" under `column`."""
    return [{column: run_texts().gettext("none")}]


def publish_table(
    flow: str, semester: SemesterCode, part: str, rows: list[dict[str, Any]], description: str
) -> UUID:
    """Publish one keyed table artifact of the run; return its id."""
    created = create_table_artifact(
        key=artifact_key(flow, semester, part), table=rows, description=description
    )
    assert isinstance(created, UUID)  # called from sync code: the call returned its result
    return created


def publish_keyed(
    prefix: str,
    title: str,
    counts: Mapping[str, Any],
    notes: Iterable[str] = (),
    tables: Mapping[str, list[dict[str, Any]]] | None = None,
) -> None:
    """Publish a run's summary and tables under `<prefix>-<part>` keys: for a flow that is
    about no one semester (retention)."""
    create_markdown_artifact(
        key=f"{prefix}-summary",
        markdown=markdown_summary(title, counts, notes, tables),
        description=title,
    )
    for name, rows in (tables or {}).items():
        if rows:
            create_table_artifact(
                key=f"{prefix}-{name}", table=rows, description=f"{title}: {name}"
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
