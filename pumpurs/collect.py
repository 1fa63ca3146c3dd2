"""Collecting plan drafts: every new inbox file read, every row accepted or rejected with a
reason, accepted plans stored, and one report email per school — all in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.orm import Session

from pumpurs.config import Config
from pumpurs.i18n import translate
from pumpurs.intake import validate_plans
from pumpurs.intake_report import queue_reports
from pumpurs.intake_run import (
    PLANS,
    ROW,
    IntakeReport,
    RowsLost,
    account,
    read_inbox,
    rejection_frame,
    school_table,
)
from pumpurs.plans import PLAN_KEY, store_plans
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store import require_semester

OUTCOMES = ("new", "revised", "unchanged")


@dataclass
class CollectReport(IntakeReport):
    plans_new: int = 0
    plans_revised: int = 0
    plans_unchanged: int = 0


def collect(
    session: Session,
    config: Config,
    settings: Settings,
    code: SemesterCode,
    on_progress: Callable[[float], None] = lambda _: None,
) -> CollectReport:
    """Collect every new plan file of the semester from the inbox."""
    language = str(settings.language)
    semester = require_semester(session, code)
    batch = read_inbox(session, config, settings, semester, code, PLANS)
    report = CollectReport(files=len(batch.files), skipped=batch.skipped)
    if not batch.files:
        return report
    on_progress(30)
    validation = validate_plans(batch.rows, config, language)
    on_progress(50)
    stored = store_plans(session, semester, validation.accepted, batch.submission_ids)
    rejections = pd.concat([validation.rejections, _decided(stored.decided, language)],
                           ignore_index=True)  # fmt: skip
    accepted = validation.accepted.merge(stored.decided[ROW], on=ROW, how="left", indicator=True)
    accepted = accepted[accepted["_merge"] == "left_only"]
    on_progress(80)
    counted = account(session, batch, accepted, rejections)
    report.unreadable = batch.unreadable
    report.rows_read, report.rows_accepted, report.rows_rejected = (
        counted.read, counted.accepted, counted.rejected)  # fmt: skip
    outcomes = stored.outcomes["outcome"].value_counts()
    report.plans_new = int(outcomes.get("new", 0))
    report.plans_revised = int(outcomes.get("revised", 0))
    report.plans_unchanged = int(outcomes.get("unchanged", 0))
    report.file_problems = batch.file_problems(language)
    plans = _plans_per_school(stored.outcomes, batch.schools())
    report.schools = school_table(batch, counted, {
        school: {f"plans_{k}": v for k, v in counts.items()} for school, counts in plans.items()
    })  # fmt: skip
    report.reports_queued = queue_reports(
        session, config, language, code, batch, counted, rejections, plans
    )
    on_progress(100)
    return report


def _plans_per_school(outcomes: pd.DataFrame, schools: list[str]) -> dict[str, dict[str, int]]:
    """Return each school's count of new, revised and unchanged plans."""
    counts = outcomes.groupby(["school_code", "outcome"]).size().to_dict()
    return {s: {k: int(counts.get((s, k), 0)) for k in OUTCOMES} for s in schools}


def _decided(rows: pd.DataFrame, language: str) -> pd.DataFrame:
    """Reject the rows of plans that were already approved or evaluated."""
    message = translate("collect.rule.plan_already_decided", language, pupil="{pupil}")
    messages = pd.Series([message.replace("{pupil}", ref) for ref in rows["pupil_ref"]],
                         index=rows.index, dtype="object")  # fmt: skip
    return rejection_frame(rows, "plan_already_decided", messages)


__all__ = ["PLAN_KEY", "CollectReport", "RowsLost", "collect"]
