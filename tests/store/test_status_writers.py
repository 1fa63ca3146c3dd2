"""Only `pumpurs.store.lifecycle` writes a plan's status: every other module of `pumpurs/` is
read (its syntax tree) for the ways code writes a column, and none may write this one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pumpurs"
WRITER = PACKAGE / "store" / "lifecycle.py"
EXECUTE = {"execute", "scalars", "scalar", "execute_many", "executemany"}
BULK = {"bulk_update_mappings", "bulk_insert_mappings", "bulk_save_objects"}
RAW_SQL = re.compile(
    r'update\s+"?plan"?\s+set\b.*\bstatus\b|insert\s+into\s+"?plan"?\s*\(', re.I | re.S
)


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _pairs(assign: ast.Assign) -> list[tuple[ast.expr, ast.AST]]:
    """Return (target, value) pairs, matching `a, b = (x, y)` and `a, b = (f(m) for m in (x, y))`
    element by element."""
    pairs: list[tuple[ast.expr, ast.AST]] = []
    for target in assign.targets:
        value = assign.value
        if isinstance(target, ast.Tuple):
            if isinstance(value, ast.GeneratorExp):
                value = value.generators[0].iter
            if isinstance(value, ast.Tuple) and len(value.elts) == len(target.elts):
                pairs += list(zip(target.elts, value.elts, strict=True))
                continue
            pairs += [(element, value) for element in target.elts]
        else:
            pairs.append((target, value))
    return pairs


def _is_status_key(key: ast.expr | None) -> bool:
    if isinstance(key, ast.Constant):
        return key.value == "status"
    return isinstance(key, ast.Attribute) and key.attr == "status"


def _sets_status(node: ast.AST) -> bool:
    """Return whether a `status` key or keyword appears anywhere in this expression."""
    for part in ast.walk(node):
        if isinstance(part, ast.Dict) and any(_is_status_key(k) for k in part.keys):
            return True
        if isinstance(part, ast.keyword) and part.arg == "status":
            return True
    return False


class _Reader:
    """What one module does with the plan table and plan objects."""

    def __init__(self, source: str) -> None:
        self.tree = ast.parse(source)
        self.plan = {"Plan"}  # names meaning the Plan model, its table, or a plan object
        self.verbs = {"update", "insert"}  # and what they are imported as
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom):
                self.plan |= {a.asname for a in node.names if a.name == "Plan" and a.asname}
                self.verbs |= {a.asname for a in node.names if a.name in self.verbs and a.asname}
        self.statements: set[str] = set()  # names bound to an UPDATE/INSERT of the plan table
        for _ in range(5):  # aliases of aliases
            for node in ast.walk(self.tree):
                if isinstance(node, ast.Assign):
                    for target, value in _pairs(node):
                        self._bind(target, value)
                elif isinstance(node, ast.For | ast.comprehension):
                    self._bind(node.target, node.iter)

    def _bind(self, target: ast.AST, value: ast.AST) -> None:
        if not isinstance(target, ast.Name):
            return
        if self.writes_plan_table(value):
            self.statements.add(target.id)
        elif _names(value) & self.plan:
            self.plan.add(target.id)

    def is_plan(self, node: ast.AST) -> bool:
        return bool(_names(node) & self.plan)

    def about_plan(self, node: ast.AST) -> bool:
        """Return whether an object is a plan, by where it came from or by its name."""
        return self.is_plan(node) or "plan" in ast.unparse(node).lower()

    def writes_plan_table(self, node: ast.AST) -> bool:
        """Return whether this expression is (or builds on) an UPDATE/INSERT of the plan table."""
        for part in ast.walk(node):
            if isinstance(part, ast.Name) and part.id in self.statements:
                return True
            if not isinstance(part, ast.Call):
                continue
            func = part.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in self.verbs and part.args and self.is_plan(part.args[0]):
                return True  # update(Plan), insert(PLAN), sa.update(Plan.__table__)
            if name in ("update", "insert") and isinstance(func, ast.Attribute):
                if not part.args and self.is_plan(func.value):
                    return True  # Plan.__table__.update()
        return False

    def violations(self) -> list[str]:
        found = []
        writes = any(self.writes_plan_table(n) for n in ast.walk(self.tree))
        for node in ast.walk(self.tree):
            line = getattr(node, "lineno", 0)
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if name in ("values", "ordered_values") and isinstance(func, ast.Attribute):
                    if self.writes_plan_table(func.value) and _sets_status(node):
                        found.append(f"{line}: UPDATE/INSERT of the plan table sets status")
                if name in EXECUTE and node.args and self.writes_plan_table(node.args[0]):
                    if any(_sets_status(arg) for arg in node.args[1:]):
                        found.append(f"{line}: plan rows with a status executed")
                if name in BULK and node.args and self.is_plan(node.args[0]):
                    found.append(f"{line}: {name} of plans")
                if isinstance(func, ast.Name) and func.id in self.plan and _sets_status(node):
                    found.append(f"{line}: a Plan built with a status")
                if name == "setattr" and len(node.args) > 1 and self.about_plan(node.args[0]):
                    if isinstance(node.args[1], ast.Constant) and node.args[1].value == "status":
                        found.append(f"{line}: setattr of a plan's status")
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr == "status":
                    value = getattr(node, "value", None)
                    named = value is not None and "PlanStatus" in _names(value)
                    if self.about_plan(target.value) or named:
                        found.append(f"{line}: a plan's .status assigned")
            if writes and isinstance(node, ast.Dict) and any(_is_status_key(k) for k in node.keys):
                found.append(f"{line}: a 'status' dict in a module that writes the plan table")
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if RAW_SQL.search(node.value):
                    found.append(f"{line}: SQL writing the plan table")
        return sorted(set(found), key=lambda f: int(f.split(":")[0]))


def status_writes(source: str) -> list[str]:
    """Return where this module's source writes a plan's status ("line: how")."""
    return _Reader(source).violations()


def test_only_the_lifecycle_writes_plan_status() -> None:
    modules = sorted(p for p in PACKAGE.rglob("*.py") if p != WRITER)
    assert len(modules) > 50
    found = {
        str(path.relative_to(PACKAGE.parent)): writes
        for path in modules
        if (writes := status_writes(path.read_text(encoding="utf-8")))
    }
    assert found == {}, "write plan status through pumpurs.store.lifecycle"


def test_the_lifecycle_itself_is_seen_writing() -> None:
    assert status_writes(WRITER.read_text(encoding="utf-8"))  # the checker sees real writes


PLANTED = {
    "orm attribute": "def f(plan):\n    plan.status = 'approved'\n",
    "loaded plan": "for p in session.scalars(select(Plan)):\n    p.status = target\n",
    "value names the enum": "row.status = PlanStatus.CLOSED\n",
    "setattr": "setattr(plan, 'status', x)\n",
    "constructor": "session.add(Plan(pupil_id=1, status=PlanStatus.DRAFT))\n",
    "values keyword": "session.execute(update(Plan).where(Plan.id == 1).values(status=x))\n",
    "values dict": "stmt = update(Plan).values({Plan.status: x})\n",
    "prepared statement": (
        "_plan = cast(Table, Plan.__table__)\n"
        "_MOVE = update(_plan).where(_plan.c.id == 1).values(status=bindparam('to'))\n"
    ),
    "tuple of tables": (
        "_step, _plan = (cast(Table, m.__table__) for m in (Step, Plan))\n"
        "_MOVE = update(_plan).values(status=1)\n"
    ),
    "bulk by primary key": "session.execute(update(Plan), [{'id': i, 'status': t} for i in ids])\n",
    "insert rows": (
        "PLAN = Plan.__table__\nrows = [{'semester_id': 1, 'status': 'submitted'}]\n"
        "session.scalars(insert(PLAN).returning(PLAN.c.id), rows)\n"
    ),
    "statement in a name": (
        "stmt = update(Plan)\nsession.execute(stmt, [{'id': 1, 'status': 'closed'}])\n"
    ),
    "table method": "session.execute(Plan.__table__.update().values(status='closed'))\n",
    "bulk mappings": "session.bulk_update_mappings(Plan, rows)\n",
    "raw sql": "session.execute(text('UPDATE plan SET status = :s WHERE id = :i'))\n",
    "imported under another name": (
        "from pumpurs.store.models import Plan as P\nsession.execute(update(P).values(status=1))\n"
    ),
    "update imported under another name": (
        "from sqlalchemy import update as _u\n_X = _u(Plan).values(status='closed')\n"
    ),
}


@pytest.mark.parametrize("source", PLANTED.values(), ids=PLANTED.keys())
def test_a_planted_write_is_found(source: str) -> None:
    assert status_writes(source)


ALLOWED = {
    "reading": "select(Plan.id, Plan.status).where(Plan.status == PlanStatus.SUBMITTED)\n",
    "another table's status": (
        "update(ApprovalStep).where(ApprovalStep.id == 1).values(status=StepStatus.SUPERSEDED)\n"
    ),
    "revision only": "session.execute(update(Plan), [{'id': 1, 'revision': 2}])\n",
    "mail status": "message.status = MailStatus.SENT\n",
    "through the lifecycle": "lifecycle.move_many(session, ids, PlanStatus.CLOSED)\n",
}


@pytest.mark.parametrize("source", ALLOWED.values(), ids=ALLOWED.keys())
def test_other_writes_and_reads_pass(source: str) -> None:
    assert status_writes(source) == []
