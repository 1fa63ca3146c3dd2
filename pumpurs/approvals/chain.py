"""The approval chain, as a pure rule: which role decides next on a plan, and who that is.

The chain is configuration (`approval_chain` in programme.yaml); `approvals.steps` keeps the
steps it asks for in the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pumpurs.config import Role
from pumpurs.store.models import StepStatus

ROLE_COLUMN = {
    Role.SCHOOL_DIRECTOR: "director_email",
    Role.MUNICIPAL_COORDINATOR: "municipal_email",
    Role.REGIONAL_COORDINATOR: "regional_email",
}
"""Which column of `approver_table` holds the approver of each role."""
ROLES = frozenset(role.value for role in Role)


@dataclass(frozen=True)
class StepState:
    """One step of a plan's current revision, as the chain rule reads it."""

    step_index: int
    role: str
    status: str


@dataclass(frozen=True)
class NextStep:
    """The step a plan needs now: `role` None means every role of the chain has approved."""

    step_index: int
    role: str | None


def next_step(own: Iterable[StepState], chain: Sequence[Role]) -> NextStep | None:
    """Return the step a plan needs now, given the steps of its current revision.

    The one rule of the chain, for one plan and for a whole semester alike: a plan with a
    pending or returned step needs nothing (None); otherwise its next role is the first of the
    chain nobody approved yet, at the index after its last step.
    """
    steps = list(own)
    if any(s.status in (StepStatus.PENDING, StepStatus.RETURNED) for s in steps):
        return None
    approved = {s.role for s in steps if s.status == StepStatus.APPROVED}
    remaining = [role for role in chain if role not in approved]
    index = max((s.step_index for s in steps), default=-1) + 1
    return NextStep(index, remaining[0].value if remaining else None)


def approver_for(role: str | None, emails: Mapping[str, str | None]) -> str | None:
    """Return the address deciding `role`; the region's coordinator when none is set.

    `emails` holds a plan's addresses by the columns of `approver_table`. Config validation
    requires directors/municipal coordinators when the chain names them; a gap here means the
    chain changed later, and a region always has a coordinator.
    """
    column = ROLE_COLUMN.get(Role(role)) if role in ROLES else None
    if column is None:
        return None
    return emails.get(column) or emails.get("regional_email")
