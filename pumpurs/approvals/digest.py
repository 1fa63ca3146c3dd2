"""Route-approvals mail: each approver's digest of new plans, reminders, and escalations.

Everything is computed over the whole batch of pending steps (a few queries and pandas),
and marked on the steps in the same transaction that queues the mail, so a re-run the same
day finds nothing new to send. A step's mail goes to whoever has it on their desk today: its
approver, or their substitute (`pumpurs.approvals.substitutes`); when that changes (a
substitution begins or ends, the step moved to another approver) the step is announced again,
to the desk it is on now.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import update
from sqlalchemy.orm import Session

from pumpurs.approvals.due import classify, pending_steps
from pumpurs.approvals.substitutes import desks
from pumpurs.approvals.tokens import (
    approval_url,
    issue_tokens,
    link_expiry,
    pending_url,
)
from pumpurs.approvals.views import BATCH, PlanView, plan_views, role_name
from pumpurs.clock import RIGA, day_end, today_riga, utcnow
from pumpurs.config import Config
from pumpurs.errors import UserError
from pumpurs.i18n.catalogue import N_
from pumpurs.i18n.templates import render_email
from pumpurs.mail.outbox import Outgoing, queue_many
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store.models import ApprovalStep
from pumpurs.store.reference import StoredSemester

MAX_LISTED = 100
"""Plans listed in one email; the rest are on the pending page (big mails get clipped)."""

STATUS_ARTIFACT = "semester-status-{folder}-headline"
"""The key of the semester's live view among the Prefect UI's artifacts."""


def live_view_url(settings: Settings, semester: SemesterCode) -> str | None:
    """Return the Prefect UI's page of the semester's live view; None without a UI address."""
    if not settings.prefect_ui_url:
        return None
    key = STATUS_ARTIFACT.format(folder=semester.folder)
    return f"{settings.prefect_ui_url.rstrip('/')}/artifacts/key/{key}"


@dataclass(frozen=True)
class RouteMail:
    digests: int = 0
    plans_notified: int = 0
    reminders: int = 0
    plans_reminded: int = 0
    escalations: int = 0
    plans_escalated: int = 0
    reminder_rows: list[dict[str, Any]] = field(default_factory=list)
    escalation_rows: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Return the counts for the run's result and summary."""
        return {
            "digests_queued": self.digests,
            "plans_notified": self.plans_notified,
            "reminders_queued": self.reminders,
            "plans_reminded": self.plans_reminded,
            "escalations_queued": self.escalations,
            "plans_escalated": self.plans_escalated,
        }


def _key(kind: str, semester: str, recipient: str, step_ids: Iterable[int], day: str = "") -> str:
    # The step ids make the key: the same plans are never announced twice in one interval.
    digest = hashlib.sha256(",".join(str(i) for i in sorted(step_ids)).encode()).hexdigest()
    return ":".join(p for p in (kind, semester, recipient[:120], day, digest[:16]) if p)


def _items(
    group: pd.DataFrame, views: dict[int, PlanView], links: dict[int, str]
) -> list[dict[str, Any]]:
    items = [
        {
            "plan": views[int(row["plan_id"])],
            "link": links[int(row["step_id"])],
            "role": row["role"],
            "age_days": int(row["age_days"]),
        }
        for row in group.to_dict("records")
        if int(row["plan_id"]) in views
    ]
    return sorted(items, key=lambda i: (i["plan"].school_name, i["plan"].pupil_ref))


def _escalation_rows(group: pd.DataFrame, language: str) -> list[dict[str, Any]]:
    ordered = group.sort_values(["age_days", "school_name"], ascending=[False, True])
    return [
        {
            "plan_id": int(row["plan_id"]),
            "region": row["region_name"],
            "school": f"{row['school_name']} ({row['school_code']})",
            "approver": row["approver_email"],
            "role": row["role"],
            "role_name": role_name(row["role"], language),
            "since": row["created_at"].astimezone(RIGA).date(),
            "days": int(row["age_days"]),
        }
        for row in ordered.to_dict("records")
    ]


def _waiting_by_approver(
    steps: pd.DataFrame, escalation_days: int, language: str
) -> list[dict[str, Any]]:
    """Return a row per region and approver of every waiting plan: how many, how many overdue,
    and the oldest; the regions in order, the approvers with the most overdue first."""
    keys = ["region_name", "approver_email", "role"]
    grouped = steps.assign(overdue=steps["age_days"] >= escalation_days).groupby(keys)
    table = grouped.agg(
        waiting=("step_id", "size"),
        overdue=("overdue", "sum"),
        oldest=("created_at", "min"),
        days=("age_days", "max"),
    ).reset_index()
    table = table.sort_values(
        ["region_name", "overdue", "approver_email"], ascending=[True, False, True]
    )
    return [
        {
            "region": row["region_name"],
            "approver": row["approver_email"],
            "role_name": role_name(row["role"], language),
            "waiting": int(row["waiting"]),
            "overdue": int(row["overdue"]),
            "since": row["oldest"].astimezone(RIGA).date(),
            "days": int(row["days"]),
        }
        for row in table.to_dict("records")
    ]


@dataclass(frozen=True)
class _Run:
    """What every email of one run shares."""

    session: Session
    settings: Settings
    semester: str
    today: str
    views: dict[int, PlanView]
    links: dict[int, str]
    waiting: dict[str, int]  # pending plans per approver, listed or not
    expires_on: dt.date
    live_view: str | None  # the Prefect UI's live view of the semester, if there is a UI


def _queue_lists(
    run: _Run, flagged: pd.DataFrame, kind: str, day: str = "", fresh: bool = False
) -> list[dict[str, Any]]:
    """Queue one `kind` email per approver listing their flagged plans; return a row per email.

    `fresh`: the digest lists every plan awaiting the approver, not just the new ones.
    """
    rows, outgoing = [], []
    for approver, group in flagged.groupby("recipient"):
        items = _items(group, run.views, run.links)
        email = render_email(
            kind,
            str(run.settings.language),
            items=items[:MAX_LISTED],
            count=len(items),
            more=max(0, len(items) - MAX_LISTED),
            pending_link=pending_url(run.settings, str(approver), day_end(run.expires_on)),
            waiting=run.waiting[str(approver)],
            semester=run.semester,
            expires_on=run.expires_on,
            fresh=fresh,
        )
        # The day is in every key: a step announced again (to a new desk) is announced anew.
        key = _key(kind.replace("_", "-"), run.semester, str(approver), group["step_id"], day)
        outgoing.append(Outgoing(key, kind, str(approver), email))
        rows.append({"approver": approver, "plans": len(group)})
    return _queued(run.session, rows, outgoing)


def _queue_escalations(
    run: _Run, steps: pd.DataFrame, escalation_days: int
) -> list[dict[str, Any]]:
    """Queue one email per escalation contact: every plan waiting in their regions by region
    and approver, then the plans overdue since the last escalation, then the live view."""
    rows, outgoing = [], []
    language = str(run.settings.language)
    flagged = steps[steps["escalate"]]
    for contact, group in flagged.groupby("escalation_email"):
        theirs = steps[steps["escalation_email"] == contact]
        email = render_email(
            "escalation",
            language,
            waiting=_waiting_by_approver(theirs, escalation_days, language),
            waiting_total=len(theirs),
            rows=_escalation_rows(group, language)[:MAX_LISTED],
            count=len(group),
            more=max(0, len(group) - MAX_LISTED),
            escalation_days=escalation_days,
            semester=run.semester,
            live_view=run.live_view,
        )
        key = _key("approval-escalation", run.semester, str(contact), group["step_id"], run.today)
        outgoing.append(Outgoing(key, "escalation", str(contact), email))
        regions = ", ".join(sorted(set(group["region_name"])))
        rows.append({"contact": contact, "regions": regions, "plans": len(group)})
    return _queued(run.session, rows, outgoing)


def _queued(
    session: Session, rows: list[dict[str, Any]], outgoing: list[Outgoing]
) -> list[dict[str, Any]]:
    """Queue the batch at once; mark each row with whether its email was queued now."""
    queued = queue_many(session, outgoing)
    pairs = zip(rows, outgoing, strict=True)
    return [row | {"queued": message.key in queued} for row, message in pairs]


def _steps(session: Session, config: Config, semester: StoredSemester) -> pd.DataFrame:
    """Return the semester's pending steps, on today's desks, with what each is due for today."""
    programme = config.programme
    return classify(
        on_desks(pending_steps(session, semester.id), config, today_riga()),
        today_riga(),
        programme.reminder_days,
        programme.escalation_days,
    )


def _run(
    session: Session,
    config: Config,
    settings: Settings,
    semester: StoredSemester,
    steps: pd.DataFrame,
    listed: pd.DataFrame,
) -> _Run:
    """Issue a fresh link for every listed step (to its desk today); return what the run's
    emails share."""
    records = listed.to_dict("records")
    nonces = issue_tokens(
        session,
        config,
        ((int(r["step_id"]), str(r["recipient"]), int(r["revision"])) for r in records),
        on_behalf={
            int(r["step_id"]): str(r["approver_email"])
            for r in records
            if str(r["recipient"]).lower() != str(r["approver_email"]).lower()
        },
    )
    return _Run(
        session=session,
        settings=settings,
        semester=semester.code.code,
        today=today_riga().isoformat(),
        views=plan_views(
            session, config, set(listed["plan_id"].astype(int)), str(settings.language)
        ),
        links={step_id: approval_url(settings, nonce) for step_id, nonce in nonces.items()},
        waiting={str(k): int(v) for k, v in steps.groupby("recipient").size().items()},
        # The last day the links work, as people read it: the day before they expire.
        expires_on=(link_expiry(config, utcnow()) - dt.timedelta(days=1)).astimezone(RIGA).date(),
        live_view=live_view_url(settings, semester.code),
    )


def queue_fresh_digest(
    session: Session,
    config: Config,
    settings: Settings,
    semester: StoredSemester,
    approver: str,
    again: str,
) -> RouteMail:
    """Queue one approver a digest of every plan awaiting them, each with a new link (the
    run's suffix `again` makes its key); mark the plans never announced as announced. Nobody
    else is reminded or told anything. Raise a UserError if nothing awaits the approver."""
    steps = _steps(session, config, semester)
    wanted = approver.strip().lower()
    mine = steps[steps["recipient"].str.lower() == wanted] if not steps.empty else steps
    if mine.empty:
        raise UserError(
            N_("Nothing of semester %(code)s awaits a decision by %(approver)s."),
            code=semester.code.code,
            approver=approver.strip(),
        )
    run = _run(session, config, settings, semester, mine, mine)
    digests = _queue_lists(run, mine, "approval_digest", again, fresh=True)
    _mark(session, mine.assign(remind=False, escalate=False))
    return RouteMail(digests=sum(row["queued"] for row in digests), plans_notified=len(mine))


def queue_route_mail(
    session: Session, config: Config, settings: Settings, semester: StoredSemester
) -> RouteMail:
    """Queue this run's digests, reminders and escalations; mark the steps they cover."""
    programme = config.programme
    steps = _steps(session, config, semester)
    if steps.empty:
        return RouteMail()
    listed = steps[steps["new"] | steps["remind"]]
    run = _run(session, config, settings, semester, steps, listed)
    digests = _queue_lists(run, steps[steps["new"]], "approval_digest", run.today)
    reminders = _queue_lists(run, steps[steps["remind"]], "approval_reminder", run.today)
    escalations = _queue_escalations(run, steps, programme.escalation_days)
    _mark(session, steps)
    return RouteMail(
        digests=sum(row["queued"] for row in digests),
        plans_notified=int(steps["new"].sum()),
        reminders=sum(row["queued"] for row in reminders),
        plans_reminded=int(steps["remind"].sum()),
        escalations=sum(row["queued"] for row in escalations),
        plans_escalated=int(steps["escalate"].sum()),
        reminder_rows=[{k: v for k, v in r.items() if k != "queued"} for r in reminders],
        escalation_rows=[{k: v for k, v in r.items() if k != "queued"} for r in escalations],
    )


def on_desks(steps: pd.DataFrame, config: Config, today: dt.date) -> pd.DataFrame:
    """Add `recipient`, who has each step on their desk today; a step last announced to someone
    else is made new again (never told), so this run announces it to its desk."""
    rule = desks(config)
    out = steps.copy()
    out["recipient"] = [rule.desk(str(a), today) for a in out["approver_email"]]
    told = out["notified_to"].where(out["notified_to"].notna(), out["approver_email"])
    moved = out["notified_at"].notna() & (
        told.astype("str").str.lower() != out["recipient"].astype("str").str.lower()
    )
    out.loc[moved, ["notified_at", "reminded_at"]] = None
    return out


def _mark(session: Session, steps: pd.DataFrame) -> None:
    now = utcnow()
    told = steps[steps["new"] | steps["remind"]]
    for recipient, group in told.groupby("recipient"):
        ids = [int(i) for i in group["step_id"]]
        for start in range(0, len(ids), BATCH):
            session.execute(
                update(ApprovalStep)
                .where(ApprovalStep.id.in_(ids[start : start + BATCH]))
                .values(notified_to=str(recipient))
                .execution_options(synchronize_session=False)
            )
    for flag, column in (
        ("new", "notified_at"),
        ("remind", "reminded_at"),
        ("escalate", "escalated_at"),
    ):
        ids = [int(i) for i in steps.loc[steps[flag], "step_id"]]
        for start in range(0, len(ids), BATCH):
            session.execute(
                update(ApprovalStep)
                .where(ApprovalStep.id.in_(ids[start : start + BATCH]))
                .values({column: now})
                .execution_options(synchronize_session=False)
            )
