"""The stored semester a run without a code is about, or a message naming what to do first.

A run started without a semester (a schedule, the UI's Quick run) takes the one the calendar
gives for its phase. When that semester was never opened, the message names the semester to
open, or, for evaluating and summaries, says which semester comes next and from when: the
calendar's pick for them is a past semester, and opening a past one is never the answer.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from pumpurs.calendar import Phase, resolve_semester, semester_in_progress
from pumpurs.config import Config
from pumpurs.errors import UserError
from pumpurs.i18n.catalogue import N_
from pumpurs.store.reference import StoredSemester, find_semester

NOT_OPENED = N_(
    "The calendar's semester %(code)s has not been opened yet. Open it first: run the "
    "open-semester deployment (its Quick run opens %(code)s) or pumpurs open-semester %(code)s."
)
NOTHING_TO_EVALUATE = N_(
    "There is no semester to evaluate yet: the latest semester that has ended, %(past)s, was "
    "never opened in PuMPuRS. The semester in progress, %(code)s, ends on %(date)s; evaluate it "
    "from then, or start a Custom run with another semester's code."
)
NO_SUMMARIES_YET = N_(
    "There are no summaries to send yet: the latest semester whose evaluation deadline has "
    "passed, %(past)s, was never opened in PuMPuRS. The evaluation deadline of the semester in "
    "progress, %(code)s, is %(date)s; its summaries can be sent after it, or start a Custom run "
    "with another semester's code."
)


def semester_for_run(
    session: Session, config: Config, phase: Phase, today: dt.date
) -> StoredSemester:
    """Return the stored semester the calendar gives a run of `phase` on `today`; raise a
    UserError naming the semester to open (or when the phase's work can start) otherwise."""
    code = resolve_semester(config, phase, today)
    found = find_semester(session, code)
    if found is not None:
        return StoredSemester.of(found, code)
    current = semester_in_progress(config, today)
    if code == current or find_semester(session, current) is None:
        raise UserError(NOT_OPENED, code=current.code)
    dates = config.semester_dates(current)
    if phase == Phase.EVALUATE:
        raise UserError(NOTHING_TO_EVALUATE, past=code.code, code=current.code, date=dates.ends_on)
    message, date = NO_SUMMARIES_YET, dates.evaluation_deadline
    raise UserError(message, past=code.code, code=current.code, date=date)
