"""What the demo prints: numbered steps with their counts and the seconds they took, notes
indented, in the language the settings ask for."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import typer

from pumpurs.i18n.catalogue import Texts, texts
from pumpurs.i18n.formats import fmt_number

Values = Mapping[str, Any]


class Lines:
    """Print the demo's lines: `step` numbers a step and times it, a call prints a note."""

    def __init__(self, language: str) -> None:
        self.texts = texts(language)
        self.language, self.number, self.mark = language, 0, time.monotonic()

    def count(self, value: int) -> str:
        """Return a count as the reader writes it (`1 980`)."""
        return fmt_number(value, self.language, 0)

    def step(self, text: str) -> None:
        """Print the next numbered step with the seconds since the one before."""
        self.number, now = self.number + 1, time.monotonic()
        self(f"{self.number:>2}. {text}  [{now - self.mark:.1f} s]")
        self.mark = now

    def __call__(self, text: str, indent: int = 1) -> None:
        typer.echo("   " * indent + text)

    def flow_step(self, step: str, result: Values) -> None:
        """Print the line of a flow's step (open, collect, route, evaluate, summaries)."""
        self.step(FLOW_STEPS[step](self.texts, self.count, result))


Count = Callable[[int], str]


def _open(t: Texts, n: Count, v: Values) -> str:
    return t.gettext(
        "Semester opened; invitations to schools: %(invitations)s, messages sent: %(sent)s",
        invitations=n(v["invitations_queued"]),
        sent=n(v["mail_sent"]),
    )


def _collect(t: Texts, n: Count, v: Values) -> str:
    return t.gettext(
        "Files read: %(files)s (%(rows)s): %(accepted)s, %(rejected)s; %(new)s, %(revised)s; "
        "reports to schools: %(reports)s",
        files=n(v["files"]),
        rows=t.ngettext("%(num)s row", "%(num)s rows", v["rows_read"]),
        accepted=t.ngettext("accepted %(num)s", "accepted %(num)s", v["rows_accepted"]),
        rejected=t.ngettext("rejected %(num)s", "rejected %(num)s", v["rows_rejected"]),
        new=t.ngettext("new plan %(num)s", "new plans %(num)s", v["plans_new"]),
        revised=t.ngettext("new revision %(num)s", "new revisions %(num)s", v["plans_revised"]),
        reports=n(v["reports_queued"]),
    )


def _route(t: Texts, n: Count, v: Values) -> str:
    return t.gettext(
        "Digests to approvers: %(digests)s (%(new)s); awaiting a decision %(pending)s",
        digests=n(v["digests_queued"]),
        new=t.ngettext("new plan %(num)s", "new plans %(num)s", v["plans_notified"]),
        pending=n(v["pending"]),
    )


def _evaluate(t: Texts, n: Count, v: Values) -> str:
    return t.gettext(
        "Evaluation: %(files)s, %(evaluated)s (continued %(continued)s, %(closed)s); "
        "%(rejected)s; without evaluation %(missing)s",
        files=t.ngettext("file %(num)s", "files %(num)s", v["files"]),
        evaluated=t.ngettext(
            "plan evaluated %(num)s", "plans evaluated %(num)s", v["plans_evaluated"]
        ),
        continued=n(v["plans_continued"]),
        closed=t.ngettext("closed %(num)s", "closed %(num)s", v["plans_closed"]),
        rejected=t.ngettext("row rejected %(num)s", "rows rejected %(num)s", v["rows_rejected"]),
        missing=n(v["plans_missing"]),
    )


def _summaries(t: Texts, n: Count, v: Values) -> str:
    counts = {
        "schools": n(v["summaries_school"]),
        "municipalities": n(v["summaries_municipality"]),
        "regions": n(v["summaries_region"]),
        "nation": n(v["summaries_nation"]),
    }
    if v.get("provisional"):
        return t.gettext(
            "Summaries sent (provisional: before the evaluation deadline): to schools "
            "%(schools)s, municipalities %(municipalities)s, regions %(regions)s, the nation "
            "%(nation)s",
            **counts,
        )
    return t.gettext(
        "Summaries sent: to schools %(schools)s, municipalities %(municipalities)s, regions "
        "%(regions)s, the nation %(nation)s",
        **counts,
    )


FLOW_STEPS: dict[str, Callable[[Texts, Count, Values], str]] = {
    "open": _open,
    "collect": _collect,
    "route": _route,
    "evaluate": _evaluate,
    "summaries": _summaries,
}
