"""The semester now, in one value: its timeline, its schools, the plans waiting for a decision
and how far the evaluation is. Computed from the store on demand, never stored."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pumpurs.clock import RIGA
from pumpurs.config import Config
from pumpurs.semester import SemesterCode
from pumpurs.status.approvals import Waiting, submitted_plans, waiting
from pumpurs.status.evaluation import SchoolEvaluation, school_evaluations
from pumpurs.status.schools import SchoolState, school_states
from pumpurs.status.timeline import MILESTONES, Stage, Timeline, Upcoming, timeline
from pumpurs.store.models import Plan
from pumpurs.store.reference import find_semester


@dataclass(frozen=True)
class SemesterStatus:
    semester: str
    opened: bool
    as_of: dt.datetime  # in Latvia
    reminder_days: int
    escalation_days: int
    timeline: Timeline
    schools: list[SchoolState]
    plans: dict[str, int]  # by status
    waiting: list[Waiting]  # per region and approver
    plans_submitted: int  # awaiting a decision, whether routed to an approver yet or not
    evaluation: dict[str, SchoolEvaluation] = field(default_factory=dict)  # by school code

    @property
    def schools_submitted(self) -> list[SchoolState]:
        """Return the schools that have submitted plans."""
        return [s for s in self.schools if s.submitted]

    @property
    def schools_not_submitted(self) -> list[SchoolState]:
        """Return the schools with no plan stored from their files yet."""
        return [s for s in self.schools if not s.submitted]

    @property
    def schools_unresolved(self) -> list[SchoolState]:
        """Return the schools with refused rows that no later file has put right."""
        return [s for s in self.schools if s.unresolved]

    @property
    def plans_waiting(self) -> int:
        """Return how many plans wait at an approver."""
        return sum(w.waiting for w in self.waiting)

    @property
    def oldest_waiting_days(self) -> int:
        """Return how long the longest waiting plan has waited (0 when none waits)."""
        return max((w.oldest_days for w in self.waiting), default=0)

    @property
    def past_reminder(self) -> int:
        """Return how many waiting plans have waited `reminder_days` or more."""
        return sum(w.past_reminder for w in self.waiting)

    @property
    def past_escalation(self) -> int:
        """Return how many waiting plans have waited `escalation_days` or more."""
        return sum(w.past_escalation for w in self.waiting)

    @property
    def plans_evaluated(self) -> int:
        """Return how many plans have their evaluation."""
        return sum(e.evaluated for e in self.evaluation.values())

    @property
    def plans_awaiting_evaluation(self) -> int:
        """Return how many approved plans still lack their evaluation."""
        return sum(e.awaiting for e in self.evaluation.values())

    @property
    def evaluation_due(self) -> bool:
        """Return whether evaluations are expected now (the term has ended)."""
        return self.timeline.stage in (Stage.EVALUATION, Stage.ENDED)

    @property
    def schools_evaluation_missing(self) -> list[SchoolState]:
        """Return the schools with approved plans that still lack their evaluation."""
        return [
            s for s in self.schools if s.code in self.evaluation and self.evaluation[s.code].missing
        ]


def semester_status(
    session: Session,
    config: Config,
    code: SemesterCode,
    now: dt.datetime,
    upcoming: list[Upcoming] | None = None,
) -> SemesterStatus:
    """Return the semester's status at `now` (aware); `upcoming` are the runs the schedules
    start next, as whoever asks knows them (the Prefect server, or prefect.yaml)."""
    local = now.astimezone(RIGA)
    today = local.date()
    stored = find_semester(session, code)
    source = stored if stored is not None else config.semester_dates(code)
    dates = {name: getattr(source, name) for name in MILESTONES}
    semester_id = stored.id if stored is not None else None
    programme = config.programme
    plans: dict[str, int] = {}
    if semester_id is not None:
        plans = {
            str(status): int(count)
            for status, count in session.execute(
                select(Plan.status, func.count())
                .where(Plan.semester_id == semester_id)
                .group_by(Plan.status)
            ).all()
        }
    return SemesterStatus(
        semester=code.code,
        opened=stored is not None,
        as_of=local,
        reminder_days=programme.reminder_days,
        escalation_days=programme.escalation_days,
        timeline=timeline(dates, today, upcoming),
        schools=school_states(session, config, code.code, semester_id, today),
        plans=plans,
        waiting=[] if semester_id is None else waiting(session, config, semester_id, today),
        plans_submitted=0 if semester_id is None else submitted_plans(session, semester_id),
        evaluation={} if semester_id is None else school_evaluations(session, semester_id),
    )
