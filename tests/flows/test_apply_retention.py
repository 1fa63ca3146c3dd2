"""The retention flow on Prefect's harness: a dry run lists what would go and changes nothing,
the run erases a semester long past its keeping period and leaves the current one alone, and a
second run erases nothing."""

from __future__ import annotations

import json

import pytest
from prefect import flow
from prefect.artifacts import create_table_artifact
from sqlalchemy import select

from flows.apply_retention import apply_retention
from pumpurs.approvals import Origin, Outcome, decide_link
from pumpurs.store.context import Context
from pumpurs.store.models import AuditEntry, Decision, Plan, PlanRevision, Pupil
from tests.approvals.factory import issue_links, submitted_plan
from tests.conftest import latest_artifact
from tests.counts import count

pytestmark = pytest.mark.usefixtures("prefect_harness")
LONG_AGO = "2019/2020-1"  # evaluated by January 2020: kept until 31 December 2025


def goals(ctx: Context) -> dict[str, str]:
    with ctx.sessions() as session:
        rows = session.execute(
            select(Pupil.ref, PlanRevision.goal)
            .join(Plan, Plan.pupil_id == Pupil.id)
            .join(PlanRevision, PlanRevision.plan_id == Plan.id)
        ).all()
    return {ref: goal for ref, goal in rows}


def old_artifacts() -> list[str]:
    """Return the keys of Prefect's artifacts about the old semester."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    wanted = ArtifactFilter(key=ArtifactFilterKey(like_="-2019-2020-1-"))
    with get_client(sync_client=True) as client:
        return [str(a.key) for a in client.read_artifacts(artifact_filter=wanted)]


@flow
def old_evaluation_run() -> None:
    """Leave what an evaluate run of the old semester left: missing evaluations name pupils."""
    create_table_artifact([{"school": "LV-LIE-006", "pupils": "P-OLD1"}],
                          key="evaluate-2019-2020-1-missing-evaluations")  # fmt: skip


def test_a_dry_run_then_the_run_then_nothing_more(context: Context) -> None:
    old_evaluation_run()
    old = submitted_plan(context, ref="P-OLD1", semester=LONG_AGO, goal="Vecs mērķis")
    submitted_plan(context, ref="P-NEW1", goal="Šī semestra mērķis")
    with context.sessions.begin() as session:
        decide_link(session, context.config, context.settings, issue_links(context)[old],
                    Outcome.RETURNED, reason="Vecs pamatojums",
                    origin=Origin(ip=None, user_agent=None))  # fmt: skip
    before = goals(context)

    dry = apply_retention(dry_run=True)
    assert (dry["dry_run"], dry["pupil_refs"], dry["goals"], dry["reasons"]) == (True, 1, 1, 1)
    assert goals(context) == before
    assert dry["prefect_artifacts"] == 1 and old_artifacts()
    summary = str(latest_artifact("retention-summary").get("data"))
    assert "Izmēģinājums: nekas netika dzēsts" in summary
    [row] = json.loads(str(latest_artifact("retention-semesters").get("data")))
    assert (row["semester"], row["kept_until"], row["goals"]) == (LONG_AGO, "2025-12-31", 1)

    done = apply_retention()
    assert {k: v for k, v in done.items() if k != "dry_run"} == {
        k: v for k, v in dry.items() if k != "dry_run"
    }
    assert old_artifacts() == []
    after = goals(context)
    assert after["P-NEW1"] == "Šī semestra mērķis" and "P-OLD1" not in after
    assert [goal for ref, goal in after.items() if ref.startswith("erased-")] == [""]
    with context.sessions() as session:
        assert session.scalars(select(Decision.reason)).all() == [None]
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "retention.erased")
        ).one()
    assert entry.details["run"].startswith("retention/")

    again = apply_retention()
    erased = [count(again, name) for name in again if name not in ("dry_run", "retention_years")]
    assert again["semesters_erased"] == 0 and sum(erased) == 0
