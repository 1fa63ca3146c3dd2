"""The figures a manager asks first, as sentences in the reader's language, with links to the
tables that answer the next question."""

from __future__ import annotations

from collections.abc import Callable

from pumpurs.i18n.catalogue import Texts, texts
from pumpurs.i18n.formats import fmt_day
from pumpurs.markdown import markdown_cell
from pumpurs.status.tables import PARTS, days_from_today
from pumpurs.status.timeline import MILESTONES
from pumpurs.status.view import SemesterStatus


def headline_title(status: SemesterStatus, language: str) -> str:
    """Return the headline's title: the semester and the moment the figures are of."""
    t = texts(language)
    moment = f"{fmt_day(status.as_of.date(), language)} {status.as_of:%H:%M}"
    return t.gettext("Semester %(code)s now (%(moment)s)", code=status.semester, moment=moment)


def headline(status: SemesterStatus, language: str) -> list[str]:
    """Return the headline's sentences: dates, schools, approvals, evaluation, next runs."""
    t = texts(language)
    return [
        *_dates(status, t),
        *_schools(status, t),
        *_approvals(status, t),
        *_evaluation(status, t),
        *_next_run(status, t),
    ]


def headline_markdown(
    status: SemesterStatus, language: str, link: Callable[[str], str] | None = None
) -> str:
    """Return the headline as markdown; `link` gives the address of each table by its part."""
    t = texts(language)
    parts = [f"# {markdown_cell(headline_title(status, language))}\n"]
    parts.append("\n".join(f"- {markdown_cell(line)}" for line in headline(status, language)))
    if link is not None:
        links = [f"- [{t.gettext(title)}]({link(part)})" for part, title in PARTS.items()]
        heading = t.gettext("Tables")
        parts.append(f"\n## {heading}\n")
        parts.append("\n".join(links))
    return "\n".join(parts) + "\n"


def _dates(s: SemesterStatus, t: Texts) -> list[str]:
    lines = []
    if not s.opened:
        opens = s.timeline.milestone("starts_on")
        lines.append(
            t.gettext(
                "The semester has not been opened yet (it starts on %(date)s).",
                date=fmt_day(opens.on, t.language),
            )
        )
    upcoming = s.timeline.next_milestone
    if upcoming is None:
        deadline = s.timeline.milestone("evaluation_deadline")
        lines.append(
            t.gettext(
                "The semester is over: its evaluation deadline was %(date)s.",
                date=fmt_day(deadline.on, t.language),
            )
        )
    else:
        lines.append(
            t.gettext(
                "Next date: %(what)s on %(date)s (%(when)s).",
                what=t.gettext(MILESTONES[upcoming.name]).lower(),
                date=fmt_day(upcoming.on, t.language),
                when=days_from_today(upcoming.days_left, t),
            )
        )
    return lines


def _schools(s: SemesterStatus, t: Texts) -> list[str]:
    total, submitted = len(s.schools), len(s.schools_submitted)
    lines = [
        t.ngettext(
            "%(submitted)s of %(num)s school has submitted plans.",
            "%(submitted)s of %(num)s schools have submitted plans.",
            total,
            submitted=submitted,
        ),
    ]
    if missing := len(s.schools_not_submitted):
        lines.append(
            t.ngettext(
                "%(num)s school has not submitted yet.",
                "%(num)s schools have not submitted yet.",
                missing,
            )
        )
    if unresolved := len(s.schools_unresolved):
        lines.append(
            t.ngettext(
                "%(num)s school has refused rows that no later file put right.",
                "%(num)s schools have refused rows that no later file put right.",
                unresolved,
            )
        )
    return lines


def _approvals(s: SemesterStatus, t: Texts) -> list[str]:
    if not s.plans_submitted:
        return [t.gettext("No plan is waiting for a decision.")]
    lines = [
        t.ngettext(
            "%(num)s plan is waiting for a decision.",
            "%(num)s plans are waiting for a decision.",
            s.plans_submitted,
        )
    ]
    if s.oldest_waiting_days:
        lines.append(
            t.ngettext(
                "The longest has waited %(num)s day.",
                "The longest has waited %(num)s days.",
                s.oldest_waiting_days,
            )
        )
    if unrouted := s.plans_submitted - s.plans_waiting:
        lines.append(
            t.ngettext(
                "%(num)s of them has not reached an approver yet (route-approvals sends it).",
                "%(num)s of them have not reached an approver yet (route-approvals sends them).",
                unrouted,
            )
        )
    if s.past_reminder:
        lines.append(
            t.ngettext(
                "%(num)s has waited %(days)s days or more (the reminder's days).",
                "%(num)s have waited %(days)s days or more (the reminder's days).",
                s.past_reminder,
                days=s.reminder_days,
            )
        )
    if s.past_escalation:
        lines.append(
            t.ngettext(
                "%(num)s has waited %(days)s days or more (the escalation's days).",
                "%(num)s have waited %(days)s days or more (the escalation's days).",
                s.past_escalation,
                days=s.escalation_days,
            )
        )
    return lines


def _evaluation(s: SemesterStatus, t: Texts) -> list[str]:
    if not s.evaluation_due and not s.plans_evaluated:
        ends = s.timeline.milestone("ends_on")
        return [
            t.gettext(
                "Evaluation starts when the term ends (%(date)s).",
                date=fmt_day(ends.on, t.language),
            )
        ]
    total = s.plans_evaluated + s.plans_awaiting_evaluation
    lines = [
        t.ngettext(
            "%(evaluated)s of %(num)s plan evaluated.",
            "%(evaluated)s of %(num)s plans evaluated.",
            total,
            evaluated=s.plans_evaluated,
        )
    ]
    if missing := len(s.schools_evaluation_missing):
        lines.append(
            t.ngettext(
                "The evaluation of %(num)s school is missing.",
                "The evaluations of %(num)s schools are missing.",
                missing,
            )
        )
    return lines


def _next_run(s: SemesterStatus, t: Texts) -> list[str]:
    if not s.timeline.upcoming:
        return []
    run = s.timeline.upcoming[0]
    local = run.at.astimezone(s.as_of.tzinfo)
    return [
        t.gettext(
            "Next scheduled run: %(deployment)s on %(date)s at %(time)s.",
            deployment=run.deployment,
            date=fmt_day(local.date(), t.language),
            time=local.strftime("%H:%M"),
        )
    ]


def counts(status: SemesterStatus) -> dict[str, int | str | bool]:
    """Return the headline's figures by name (what a run of the status flow returns)."""
    return {
        "semester": status.semester,
        "opened": status.opened,
        "schools": len(status.schools),
        "schools_submitted": len(status.schools_submitted),
        "schools_not_submitted": len(status.schools_not_submitted),
        "schools_unresolved": len(status.schools_unresolved),
        "plans_waiting": status.plans_submitted,
        "oldest_waiting_days": status.oldest_waiting_days,
        "past_reminder": status.past_reminder,
        "past_escalation": status.past_escalation,
        "plans_evaluated": status.plans_evaluated,
        "plans_awaiting_evaluation": status.plans_awaiting_evaluation,
        "schools_evaluation_missing": len(status.schools_evaluation_missing),
    }
