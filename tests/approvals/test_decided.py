"""What a decision records: the reason it needs, its row and its audit entry (no store)."""

from __future__ import annotations

import datetime as dt

import pytest

from pumpurs.approvals.decided import (
    MAX_REASON,
    Origin,
    Outcome,
    ReasonRequired,
    audit_row,
    check_reason,
    decision_row,
)

AT = dt.datetime(2026, 10, 1, 9, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize("reason", [None, "", "  \n\t"])
def test_a_plan_is_returned_only_with_a_reason(reason: str | None) -> None:
    with pytest.raises(ReasonRequired):
        check_reason(Outcome.RETURNED, reason)
    check_reason(Outcome.APPROVED, reason)  # approving needs none
    check_reason(Outcome.RETURNED, "Precizējiet mērķi")


def test_the_row_keeps_a_trimmed_reason_and_an_origin_cut_to_its_columns() -> None:
    row = decision_row(
        step_id=3, plan_id=7, revision=2, outcome=Outcome.RETURNED,
        reason=f"  {'x' * (MAX_REASON + 5)}  ", approver_email="a@b.example", decided_at=AT,
        origin=Origin(ip="192.0.2.7" * 10, user_agent="Mozilla " * 100),
    )  # fmt: skip
    assert row["reason"] == "x" * MAX_REASON and row["outcome"] == "returned"
    assert (len(row["ip"]), len(row["user_agent"])) == (64, 512)
    empty = decision_row(
        step_id=3, plan_id=7, revision=2, outcome=Outcome.APPROVED, reason="   ",
        approver_email="a@b.example", decided_at=AT, origin=Origin(ip=None, user_agent=""),
    )  # fmt: skip
    assert (empty["reason"], empty["ip"], empty["user_agent"]) == (None, None, None)


def test_the_audit_entry_names_the_approver_the_plan_and_the_path() -> None:
    row = decision_row(
        step_id=3, plan_id=7, revision=2, outcome=Outcome.APPROVED, reason=None,
        approver_email="a@b.example", decided_at=AT, origin=Origin("192.0.2.7", "pytest"),
    )  # fmt: skip
    entry = audit_row(row, 11, step_index=1, role="regional_coordinator", via="link")
    assert (entry["at"], entry["actor"], entry["action"]) == (AT, "a@b.example", "plan.approved")
    assert (entry["entity"], entry["entity_id"], entry["ip"]) == ("plan", 7, "192.0.2.7")
    assert entry["details"] == {
        "decision_id": 11, "step_id": 3, "step_index": 1, "role": "regional_coordinator",
        "revision": 2, "reason": None, "via": "link",
    }  # fmt: skip
