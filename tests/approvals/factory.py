"""Plans built straight in the store, as collect leaves them; links to them, and broken links."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select

from pumpurs.semester import SemesterCode
from pumpurs.store import lifecycle
from pumpurs.store.context import Context, load_context
from pumpurs.store.models import (
    Plan,
    PlanMeasure,
    PlanRevision,
    PlanRisk,
    PlanStatus,
    Pupil,
    School,
)
from pumpurs.store.reference import ensure_semester

SEMESTER = "2026/2027-1"
KURZEME = "koordinators@kurzeme.example"  # regional coordinator of the Liepāja schools
RIGA_REGION = "koordinators@riga.example"


def _measures() -> list[PlanMeasure]:
    return [
        PlanMeasure(
            measure="subject_consultation",
            subject="mathematics",
            provider_ref="T-01",
            hours_per_month=4,
        ),
        PlanMeasure(measure="psychologist", provider_ref="S-02", hours_per_month=2.5),
        PlanMeasure(measure="meals", eur_per_month=45.5),
    ]


def submitted_plan(
    ctx: Context,
    school_code: str = "LV-LIE-006",
    ref: str = "P-0001",
    *,
    goal: str = "Uzlabot sekmes matemātikā",
    grade: int = 7,
    risks: Sequence[str] = ("learning", "economic"),
    semester: str = SEMESTER,
) -> int:
    """Store a submitted plan (revision 1) with three measures; return its id."""
    with ctx.sessions.begin() as session:
        found, _ = ensure_semester(session, ctx.config, SemesterCode.parse(semester))
        school = session.scalars(select(School).where(School.code == school_code)).one()
        pupil = Pupil(school_id=school.id, ref=ref)
        session.add(pupil)
        session.flush()
        plan = Plan(semester_id=found.id, school_id=school.id, pupil_id=pupil.id, revision=1)
        lifecycle.move(plan, PlanStatus.SUBMITTED)
        plan.revisions.append(
            PlanRevision(
                number=1,
                grade=grade,
                goal=goal,
                risks=[PlanRisk(category=c) for c in risks],
                measures=_measures(),
            )
        )
        session.add(plan)
        session.flush()
        return plan.id


def resubmit(ctx: Context, plan_id: int, goal: str = "Labots mērķis") -> int:
    """Store a new revision of a plan, as collect does with a corrected file; return its number."""
    with ctx.sessions.begin() as session:
        plan = session.get(Plan, plan_id)
        assert plan is not None
        lifecycle.move(plan, PlanStatus.SUBMITTED)
        plan.revision += 1
        plan.revisions.append(
            PlanRevision(
                number=plan.revision,
                grade=7,
                goal=goal,
                risks=[PlanRisk(category="family")],
                measures=_measures(),
            )
        )
        return plan.revision


def issue_links(ctx: Context) -> dict[int, str]:
    """Give every submitted plan its step and a fresh link; return the nonce per plan id."""
    from pumpurs.approvals import ensure_steps, issue_tokens
    from pumpurs.store.models import ApprovalStep, StepStatus

    with ctx.sessions.begin() as session:
        ensure_steps(session, ctx.config)
        steps = session.execute(
            select(
                ApprovalStep.id,
                ApprovalStep.approver_email,
                ApprovalStep.revision,
                ApprovalStep.plan_id,
            ).where(ApprovalStep.status == StepStatus.PENDING)
        ).all()
        nonces = issue_tokens(session, ctx.config, [(s[0], s[1], s[2]) for s in steps])
    return {plan_id: nonces[step_id] for step_id, _, _, plan_id in steps}


def tamper(signed: str) -> str:
    """Change one character in the middle of the signature (its last one may be padding)."""
    head, signature = signed.rsplit(".", 1)
    middle = len(signature) // 2
    swapped = "A" if signature[middle] != "A" else "B"
    return f"{head}.{signature[:middle]}{swapped}{signature[middle + 1 :]}"


def with_roster(ctx: Context, folder: Path, file: str, old: str, new: str) -> Context:
    """Change the roster (a copy of the config in `folder`) and load it, as an operator's edit of
    `regions.yaml` or `schools.yaml` before the next run would; return the new context."""
    if not folder.exists():
        shutil.copytree(ctx.settings.config_dir, folder)
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {file}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return load_context(ctx.settings.model_copy(update={"config_dir": folder}))
