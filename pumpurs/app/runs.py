"""Run the cycle's flows in this process: the one runner the CLI and the demo share.

The flows are imported where a run starts, so `pumpurs --help` and the tools that run no flow
do not pay for importing Prefect. The runs report to the Prefect server `prefect_api` finds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pumpurs.app.prefect_api import prefect_server
from pumpurs.errors import UserError
from pumpurs.semester import SemesterCode
from pumpurs.store.context import load_context

if TYPE_CHECKING:
    from prefect import Flow

COMMANDS = ("open-semester", "collect", "route", "evaluate", "summaries")
"""The CLI commands that run a flow, in the order of the cycle."""


ENTRYPOINTS = {
    "flows/open_semester.py:open_semester": "open-semester",
    "flows/collect_plans.py:collect_plans": "collect",
    "flows/route_approvals.py:route_approvals": "route",
    "flows/evaluate_semester.py:evaluate_semester": "evaluate",
    "flows/send_summaries.py:send_summaries": "summaries",
    "flows/apply_retention.py:apply_retention": "retention",
    "flows/semester_status.py:semester_status": "semester-status",
}
"""Each deployment's entrypoint in prefect.yaml, and the name `flow_of` knows its flow by (the
command that runs the same flow; `pumpurs status` reads the store itself, without a run)."""


class FlowFailed(Exception):
    """A flow run ended in failure (exit 1)."""


def flow_of(command: str) -> Flow[..., Any]:
    """Return the flow function a CLI command runs."""
    if command == "open-semester":
        from flows.open_semester import open_semester

        return open_semester
    if command == "collect":
        from flows.collect_plans import collect_plans

        return collect_plans
    if command == "route":
        from flows.route_approvals import route_approvals

        return route_approvals
    if command == "evaluate":
        from flows.evaluate_semester import evaluate_semester

        return evaluate_semester
    if command == "summaries":
        from flows.send_summaries import send_summaries

        return send_summaries
    if command == "retention":
        from flows.apply_retention import apply_retention

        return apply_retention
    if command == "semester-status":
        from flows.semester_status import semester_status

        return semester_status
    raise KeyError(command)


def flow_at(entrypoint: str) -> Flow[..., Any]:
    """Return the flow a prefect.yaml entrypoint names."""
    return flow_of(ENTRYPOINTS[entrypoint])


def run_flow(command: str, semester: str, **parameters: Any) -> Mapping[str, object]:
    """Run a flow in this process (it shows in Prefect) and return its counts by name."""
    code = SemesterCode.parse(semester)
    return _run(command, semester=code.code, **parameters)


def run_retention(dry_run: bool) -> Mapping[str, object]:
    """Run the retention flow in this process and return its counts by name."""
    return _run("retention", dry_run=dry_run)


def _run(command: str, **parameters: Any) -> Mapping[str, object]:
    flow = flow_of(command)
    load_context()  # fail fast, with a one-line reason, on a broken config or database
    try:
        with prefect_server():
            result: Mapping[str, object] = flow(**parameters)
    except UserError:
        raise
    except Exception as exc:  # the flow's own failure; Prefect has recorded the details
        raise FlowFailed(f"{type(exc).__name__}: {exc}") from exc
    return result
