"""A semester lived through in the store, for the retention and pupil tests: files collected
(one refused row naming a pupil), plans routed and decided (one returned with a reason), a page
viewed, an evaluation with a comment, figures, and a plan carried into a later semester."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import inspect, select, text

from pumpurs.approvals import Origin, Outcome, decide_link, ensure_steps, queue_route_mail
from pumpurs.clock import RIGA
from pumpurs.evaluation.evaluate import evaluate
from pumpurs.i18n.templates import RenderedEmail
from pumpurs.intake.collect import collect
from pumpurs.mail.outbox import queue
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store import lifecycle
from pumpurs.store.access import Page, record_view
from pumpurs.store.context import Context, load_context, use_settings
from pumpurs.store.models import Plan, PlanRevision, PlanStatus, Pupil
from pumpurs.store.reference import ensure_semester, stored_semester
from pumpurs.summaries.store import refresh_figures
from tests.approvals.factory import issue_links

OLD, LATER = SemesterCode.parse("2026/2027-1"), SemesterCode.parse("2027/2028-1")
SCHOOL = "LV-LIE-006"
HEADER = ("school_code;pupil_ref;grade;risk_categories;goal;measure;subject;provider_ref;"
          "hours_per_month;eur_per_month")  # fmt: skip
PLANS = [
    f"{SCHOOL};P-RETAIN1;7;learning;Sasniegt 6 balles matemātikā;psychologist;;T-1;2;",
    f"{SCHOOL};P-RETAIN2;8;economic;Apmeklēt visas stundas;meals;;;;40",
    f"{SCHOOL};P-RETAIN3;9;family;Mērķis ar kļūdu;unknown_measure;;T-1;2;",
]
EVALUATION = (
    "school_code;pupil_ref;measure;subject;delivered_hours;spent_eur;outcome;continue;comment\n"
    f"{SCHOOL};P-RETAIN1;psychologist;;8;;improved;jā;Vecāki iesaistījās aktīvi\n"
)
REASON = "Precizējiet mērķi: vajag izmērāmu"
# What the old semester held about its pupils and must not hold afterwards (P-RETAIN1 stays:
# the pupil has a plan in the later semester, still kept).
GONE = ["P-RETAIN2", "P-RETAIN3", "Sasniegt 6 balles", "Apmeklēt visas stundas",
        "Mērķis ar kļūdu", "Vecāki iesaistījās", "Precizējiet mērķi"]  # fmt: skip
ORIGIN = Origin(ip="192.0.2.20", user_agent="pytest")
AFTER = dt.datetime(2033, 1, 3, 9, tzinfo=RIGA)  # 2026/2027-1 is kept until 31 December 2032


def at(year: int, month: int, day: int) -> Any:
    return time_machine.travel(dt.datetime(year, month, day, 10, tzinfo=RIGA), tick=False)


def put(settings: Settings, code: SemesterCode, kind: str, name: str, content: str) -> Path:
    folder = settings.effective_inbox_dir / code.folder / SCHOOL / kind
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(content, encoding="utf-8")
    return folder / name


@pytest.fixture
def lived(settings: Settings) -> Iterator[Context]:
    """Return a store with the old semester lived through and a later one with a carried plan."""
    with use_settings(settings), at(2026, 9, 10):
        ctx = load_context(settings)
        put(settings, OLD, "plans", "plani.csv", "\n".join([HEADER, *PLANS]) + "\n")
        with ctx.sessions.begin() as session:
            ensure_semester(session, ctx.config, OLD)
            stored = stored_semester(session, OLD)
            assert collect(session, ctx.config, settings, stored).rows_rejected == 1
            ensure_steps(session, ctx.config)
            queue_route_mail(session, ctx.config, settings, stored)
            figures_only = RenderedEmail("Kopsavilkums", "Skolēni: 2", "<p>Skolēni: 2</p>")
            queue(session, key=f"summary:{OLD.code}:nation:LV:pmp@ikvd.example", kind="summary",
                  to="pmp@ikvd.example", email=figures_only)  # fmt: skip
        links = issue_links(ctx)
        with ctx.sessions() as session:
            refs = dict(session.execute(select(Pupil.ref, Plan.id).join(Plan)).tuples().all())
        with ctx.sessions.begin() as session:
            record_view(session, page=Page.PLAN, plan_ids=list(refs.values()),
                        link_holder="koordinators@kurzeme.example", ip="192.0.2.1")  # fmt: skip
            decide_link(session, ctx.config, settings, links[refs["P-RETAIN1"]], Outcome.APPROVED,
                        reason=None, origin=ORIGIN)  # fmt: skip
            decide_link(session, ctx.config, settings, links[refs["P-RETAIN2"]], Outcome.RETURNED,
                        reason=REASON, origin=ORIGIN)  # fmt: skip
    with at(2026, 12, 28):
        put(settings, OLD, "evaluation", "izvertejums.csv", EVALUATION)
        with ctx.sessions.begin() as session:
            stored = stored_semester(session, OLD)
            assert evaluate(session, ctx.config, settings, stored).plans_evaluated == 1
            refresh_figures(session, ctx.config, stored)
    with at(2027, 9, 5):  # the pupil goes on in a later semester (kept longer)
        put(settings, LATER, "plans", "plani.csv", "kept\n")
        with ctx.sessions.begin() as session:
            later, _ = ensure_semester(session, ctx.config, LATER)
            carried = session.get(Plan, refs["P-RETAIN1"])
            assert carried is not None
            plan = Plan(semester_id=later.id, school_id=carried.school_id, revision=1,
                        pupil_id=carried.pupil_id, continued_from_id=carried.id)  # fmt: skip
            lifecycle.move(plan, PlanStatus.DRAFT)
            plan.revisions.append(PlanRevision(number=1, grade=8, goal="Turpināt atbalstu"))
            session.add(plan)
    with at(2028, 6, 1), ctx.sessions.begin() as session:
        record_view(session, page=Page.PENDING, plan_ids=[plan.id], link_holder="x@y.example")
    with use_settings(settings):
        yield ctx


def dump(ctx: Context) -> dict[str, list[tuple[Any, ...]]]:
    """Return every row of every table, in id order."""
    engine = ctx.sessions.kw["bind"]
    found = {}
    with engine.connect() as connection:
        for table in sorted(inspect(engine).get_table_names()):
            if table == "alembic_version":
                continue
            rows = connection.execute(text(f'SELECT * FROM "{table}" ORDER BY 1')).all()
            found[table] = [tuple(row) for row in rows]
    return found


def holding(ctx: Context, needles: list[str]) -> list[str]:
    """Return where any needle is found: every column of every table (JSON and bytes too)."""
    found = []
    for table, rows in dump(ctx).items():
        for row in rows:
            for value in row:
                if isinstance(value, dict | list):
                    value = json.dumps(value, ensure_ascii=False)
                if isinstance(value, bytes):
                    value = value.decode("utf-8", "replace")
                if isinstance(value, str):
                    found += [f"{table}: {n}" for n in needles if n in value]
    return found
