"""The demo's semester: the real flows in order, the approvers in between, one line per step."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select

from pumpurs.app.demo.lines import Lines
from pumpurs.app.demo.outbox import kinds, read_outbox
from pumpurs.app.demo.school import Sent, returned_rows, send_corrections
from pumpurs.app.demo.web import Approver
from pumpurs.app.runs import run_flow
from pumpurs.clock import today_riga
from pumpurs.i18n.catalogue import N_
from pumpurs.opening.links import school_page_urls
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store import db
from pumpurs.store.models import MailStatus, OutboxMessage
from pumpurs.store.reference import stored_semester

REASONS = (  # why the demo's approvers return a plan to its school
    N_("Make the plan's goal precise: it must be measurable by the end of the semester."),
    N_("The goal is too general. Say how the school will check that it was reached."),
    N_("Please align the plan's goal with the planned support measures."),
)


class Cycle:
    """Open → collect → route → decide → resubmit → collect → route → decide → evaluate → sum up."""

    def __init__(self, settings: Settings, semester: SemesterCode, say: Lines) -> None:
        self.settings, self.semester, self.say = settings, semester, say
        self.texts = say.texts
        self.sessions = db.session_factory(settings.effective_database_url)
        self.outbox = settings.outbox_dir
        self.results: dict[str, Any] = {}

    def run(self, return_share: float) -> dict[str, Any]:
        """Run every step; return each step's result by name."""
        self.flow("open-semester", "open")
        self.flow("collect", "collect")
        self.route_and_decide("", return_share)
        self.resubmit()
        self.flow("collect", "collect", "-again")
        self.route_and_decide("-again", 0.0)
        self.flow("evaluate", "evaluate")
        # The demo's semester fits in a minute: before its evaluation deadline (by the calendar,
        # today) its summaries can only be provisional ones, as an operator would send them.
        self.flow("summaries", "summaries", provisional=self._before_deadline())
        return self.results

    def _before_deadline(self) -> bool:
        with self.sessions() as session:
            return today_riga() <= stored_semester(session, self.semester).evaluation_deadline

    def flow(
        self, command: str, step: str, suffix: str = "", **parameters: Any
    ) -> Mapping[str, object]:
        """Run one flow in this process (it shows in Prefect) and report its counts."""
        result = run_flow(command, self.semester.code, **parameters)
        self.results[step + suffix] = result
        self.say.flow_step(step, result)
        return result

    def route_and_decide(self, suffix: str, return_share: float) -> None:
        """Send the digests, then decide every plan from their links in the web app."""
        before = len(list(self.outbox.glob("*.eml")))
        self.flow("route", "route", suffix)
        with self.sessions() as session:
            kind_of = kinds(session)
        digests = [
            k
            for k in read_outbox(self.outbox, before)
            if kind_of.get(k.message_id) == "approval_digest"
        ]
        links = [link for kept in digests for link in kept.approval_links()]
        pages = [link for kept in digests for link in kept.pending_links()]
        reasons = [self.texts.gettext(reason) for reason in REASONS]
        approver, told = Approver(return_share, reasons), self._returned_sent()
        try:
            done = approver.decide_all(links, pages)
        finally:
            approver.close()
        notified = self._wait_for_returned_mail(told + len(done.returned)) - told
        self.results["decide" + suffix] = done
        t, n = self.texts, self.say.count
        self.say.step(
            t.gettext(
                "Decisions in the web app: %(approved)s, %(returned)s; %(from_mail)s, from the "
                "pending-plans page %(from_pages)s; schools told of returned plans: %(notified)s",
                approved=t.ngettext("approved %(num)s", "approved %(num)s", done.approved),
                returned=t.ngettext(
                    "returned for revision %(num)s",
                    "returned for revision %(num)s",
                    len(done.returned),
                ),
                from_mail=t.ngettext(
                    "link from emails %(num)s",
                    "links from emails %(num)s",
                    done.total - done.from_pages,
                ),
                from_pages=n(done.from_pages),
                notified=n(notified),
            )
        )

    def resubmit(self) -> Sent:
        """Let each school with returned plans upload a corrected file on its page."""
        with self.sessions.begin() as session:
            rows = returned_rows(session, self.semester)
            stored = stored_semester(session, self.semester)
            schools = sorted(rows["school_code"].astype(str).unique())
            pages = school_page_urls(session, self.settings, stored, schools)
        correction = self.texts.gettext(
            "; made precise: the school coordinator checks what was reached at the end of the "
            "semester"
        )
        sent = send_corrections(
            rows, self.settings.effective_inbox_dir, self.semester, correction, pages
        )
        self.results["resubmit"] = sent
        t = self.texts
        examples = [*sent.through_page, *sent.into_folder]
        self.say.step(
            t.gettext(
                "Schools send corrected files: %(files)s, %(plans)s (goal made precise); through "
                "the school's page %(page)s, into the folder %(folder)s; e.g. %(example)s",
                files=t.ngettext("file %(num)s", "files %(num)s", sent.files),
                plans=t.ngettext("plan %(num)s", "plans %(num)s", rows["pupil_ref"].nunique()),
                page=self.say.count(len(sent.through_page)),
                folder=self.say.count(len(sent.into_folder)),
                example=examples[0] if examples else "—",
            )
        )
        return sent

    def _returned_sent(self) -> int:
        """Return how many "plan returned" emails the web app has sent to schools so far."""
        query = select(func.count()).where(
            OutboxMessage.kind == "plan_returned", OutboxMessage.status == MailStatus.SENT
        )
        with self.sessions() as session:
            return int(session.scalar(query) or 0)

    def _wait_for_returned_mail(self, expected: int, seconds: float = 20) -> int:
        """Wait until the web app, which sends them after answering, has sent `expected`."""
        deadline = time.monotonic() + seconds
        while (sent := self._returned_sent()) < expected and time.monotonic() < deadline:
            time.sleep(0.1)
        return sent
