"""Evaluating a semester: read the schools' evaluation files through the intake path, match
every row to an approved plan, compute fulfilment, and move the plans on — in one transaction.

Each plan evaluated becomes evaluated and, at once, continued ("continue" = yes; open-semester
then carries it into the next semester as a draft) or closed. The plans matched against come
from `evaluation.plans`, rows that cannot be matched are rejected by `evaluation.match`, the
arithmetic is in `evaluation.fulfilment`, and `evaluation.store` stores the evaluations (a new
file for a plan evaluated before corrects its evaluation).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.orm import Session

from pumpurs.config import Config
from pumpurs.evaluation.match import DONE, match_rows
from pumpurs.evaluation.plans import planned_measures, semester_plans
from pumpurs.evaluation.store import CORRECTION, UNCHANGED, store_evaluations
from pumpurs.intake import validate_evaluations
from pumpurs.intake.batch import EVALUATIONS, IntakeReport, account, read_inbox, school_table
from pumpurs.intake.report import queue_reports, report_pages
from pumpurs.settings import Settings
from pumpurs.store.models import PlanStatus
from pumpurs.store.reference import StoredSemester


@dataclass(frozen=True)
class EvaluationReport(IntakeReport):
    """`plans_evaluated`: evaluations stored by this run, first ones and corrections alike
    (continued + closed); `plans_corrected`: those that replaced an earlier evaluation;
    `plans_unchanged`: plans sent again with the values already stored (nothing written)."""

    plans_evaluated: int = 0
    plans_corrected: int = 0
    plans_unchanged: int = 0
    plans_continued: int = 0
    plans_closed: int = 0


def evaluate(
    session: Session,
    config: Config,
    settings: Settings,
    semester: StoredSemester,
    on_progress: Callable[[float], None] = lambda _: None,
) -> EvaluationReport:
    """Evaluate the plans of every new evaluation file of the semester."""
    language = str(settings.language)
    batch = read_inbox(session, config, settings, semester, EVALUATIONS)
    if not batch.files:
        return EvaluationReport(skipped=batch.skipped)
    on_progress(20)
    validation = validate_evaluations(batch.rows, config, language)
    plans = semester_plans(session, semester.id)
    mentioned = plans.merge(validation.accepted[["school_code", "pupil_ref"]].drop_duplicates())
    correctable = (
        mentioned["status"].isin(list(DONE)) & mentioned["evaluated"] & ~mentioned["carried"]
    )
    wanted = mentioned["status"].eq(PlanStatus.APPROVED) | correctable
    planned = planned_measures(session, mentioned.loc[wanted, "plan_id"].tolist())
    labels = [f.label for f in batch.files]
    matched = match_rows(
        validation.accepted, validation.rejections, plans, planned, labels, config, language
    )
    rejections = pd.concat([validation.rejections, matched.rejections], ignore_index=True)
    on_progress(50)
    counted = account(session, batch, matched.rows, rejections)
    results = store_evaluations(
        session, config, semester, matched.rows, planned, batch.submission_ids
    )
    stored = results[results["change"].ne(UNCHANGED)]
    continued = int(stored["continue"].sum()) if len(stored) else 0
    per_school = _plans_per_school(session, semester.id, results, plans, batch.schools())
    schools = school_table(
        batch,
        counted,
        {
            school: {f"plans_{k}": v for k, v in counts.items()}
            for school, counts in per_school.items()
        },
    )
    pages = report_pages(session, config, settings, semester, batch)
    queued = queue_reports(
        session, config, language, semester.code, batch, counted, rejections, per_school, pages
    )
    on_progress(100)
    return EvaluationReport(
        files=len(batch.files),
        skipped=batch.skipped,
        unreadable=batch.unreadable,
        rows_read=counted.read,
        rows_accepted=counted.accepted,
        rows_rejected=counted.rejected,
        plans_evaluated=len(stored),
        plans_corrected=int(stored["change"].eq(CORRECTION).sum()),
        plans_unchanged=len(results) - len(stored),
        plans_continued=continued,
        plans_closed=len(stored) - continued,
        reports_queued=queued,
        schools=schools,
        file_problems=batch.file_problems(language),
    )


def _plans_per_school(
    session: Session,
    semester_id: int,
    results: pd.DataFrame,
    plans: pd.DataFrame,
    schools: list[str],
) -> dict[str, dict[str, int]]:
    """Return per school the plans evaluated now (continued, closed; corrected of them), those
    sent again unchanged, and those still missing."""
    school_of = plans.set_index("plan_id")["school_code"]
    done = results.assign(school=results["plan_id"].map(school_of))
    unchanged = done[done["change"].eq(UNCHANGED)].groupby("school").size().to_dict()
    done = done[done["change"].ne(UNCHANGED)]
    plans_now = semester_plans(session, semester_id)
    approved = plans_now[plans_now["status"].eq(PlanStatus.APPROVED)]
    missing = approved.groupby("school_code").size().to_dict()
    table = {}
    for school in schools:
        mine = done[done["school"].eq(school)]
        continued = int(mine["continue"].sum())
        table[school] = {
            "evaluated": len(mine),
            "continued": continued,
            "closed": len(mine) - continued,
            "corrected": int(mine["change"].eq(CORRECTION).sum()),
            "unchanged": int(unchanged.get(school, 0)),
            "missing": int(missing.get(school, 0)),
        }
    return table
