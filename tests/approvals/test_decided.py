"""What a decision records: the reason it needs, its row and its audit entry (no store)."""

from __future__ import annotations

import datetime as dt

import pytest

from pumpurs.approvals.decided import (
    MAX_REASON,
    Origin,
    Outcome,
    ReasonRequired,
    ReasonTooLong,
    audit_row,
    check_reason,
    clean_reason,
    decision_row,
)

AT = dt.datetime(2026, 10, 1, 9, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize("reason", [None, "", "  \n\t"])
def test_a_plan_is_returned_only_with_a_reason(reason: str | None) -> None:
    with pytest.raises(ReasonRequired):
        check_reason(Outcome.RETURNED, reason)
    check_reason(Outcome.APPROVED, reason)  # approving needs none
    check_reason(Outcome.RETURNED, "Precizējiet mērķi")


def test_a_reason_over_the_limit_is_refused_never_cut() -> None:
    check_reason(Outcome.RETURNED, f"  {'x' * MAX_REASON}\x00\u202e  ")  # counted once cleaned
    for outcome in Outcome:
        with pytest.raises(ReasonTooLong):
            check_reason(outcome, "x" * (MAX_REASON + 1))


def test_a_reason_keeps_line_breaks_and_tabs_and_loses_control_and_bidi_characters() -> None:
    assert clean_reason(" a\x00b\r\nc\rd\te\x1b\x7f\x85\u202a\u202e\u2066\u2069f\u200f ") == (
        "ab\nc\nd\tef\u200f"  # a right-to-left mark only marks: it overrides nothing
    )
    assert clean_reason("\x00 \u202e") == "" and clean_reason(None) == ""


def test_the_row_keeps_a_clean_reason_and_an_origin_cut_to_its_columns() -> None:
    row = decision_row(
        step_id=3, plan_id=7, revision=2, outcome=Outcome.RETURNED,
        reason=f"  {'x' * MAX_REASON}\x00  ", approver_email="a@b.example", decided_at=AT,
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
