"""A generated semester where one school of a city sent nothing: what the municipality's, the
region's and the nation's summaries say about who took part, checked against the tables
(SQL), and that the HTML states every figure its bars show, with no image anywhere."""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
import pytest
from sqlalchemy import text

from pumpurs.evaluation.evaluate import evaluate
from pumpurs.generate import generate
from pumpurs.i18n.formats import fmt_number, fmt_percent
from pumpurs.intake.collect import collect
from pumpurs.settings import Settings
from pumpurs.store import lifecycle
from pumpurs.store.context import Context, load_context, use_settings
from pumpurs.store.models import PlanStatus
from pumpurs.store.reference import StoredSemester, ensure_semester
from pumpurs.summaries.compose import Composed, preview_summary
from pumpurs.summaries.content import Unit, summary_context, unit_names
from pumpurs.summaries.store import read_figures, read_semester_figures, refresh_figures
from tests.evaluation.factory import SEMESTER

TODAY = dt.date(2027, 1, 20)
CITY, REGION = "zilciems", "riga"  # a city of the small world with three schools
SILENT = "LV-ZIL-101"  # the school that sends no file
COUNTED = ("approved", "evaluated", "continued", "closed")


@dataclass(frozen=True)
class World:
    ctx: Context
    names: dict[str, str]  # school code: name

    def summary(self, level: str, code: str, language: str = "lv") -> Composed:
        with self.ctx.sessions() as session:
            return preview_summary(session, self.ctx.config, language, SEMESTER, level, code, TODAY)

    def pupils(self) -> pd.DataFrame:
        """Return, from the tables, each counted plan's pupil with school, municipality, region
        and the subjects of its consultations (one row per subject, or one with none)."""
        sql = """SELECT p.pupil_id, s.code AS school, m.code AS municipality, r.code AS region,
                 pm.subject FROM plan p JOIN school s ON s.id = p.school_id
                 JOIN municipality m ON m.id = s.municipality_id JOIN region r ON r.id = m.region_id
                 JOIN plan_revision v ON v.plan_id = p.id AND v.number = p.revision
                 LEFT JOIN plan_measure pm ON pm.revision_id = v.id
                      AND pm.measure = 'subject_consultation'
                 WHERE p.status IN ('approved', 'evaluated', 'continued', 'closed')"""
        with self.ctx.sessions() as session:
            return pd.read_sql_query(text(sql), session.connection())


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Generate a small world, take one school of the city out of the inbox, collect, approve,
    evaluate and store the figures."""
    out = tmp_path_factory.mktemp("participation")
    generate("small", 1, out / "data", SEMESTER)
    shutil.rmtree(out / "data" / "inbox" / SEMESTER.folder / SILENT)
    local = Settings(
        _env_file=None,
        var_dir=out / "var",
        database_url=f"sqlite:///{out / 'pumpurs.db'}",
        config_dir=out / "data" / "config",
        inbox_dir=out / "data" / "inbox",
    )
    with use_settings(local):
        ctx = load_context(local)
        with ctx.sessions.begin() as session:
            semester = StoredSemester.of(ensure_semester(session, ctx.config, SEMESTER)[0])
            collect(session, ctx.config, local, semester)
            lifecycle.move_all(
                session, PlanStatus.SUBMITTED, PlanStatus.APPROVED, semester_id=semester.id
            )
            evaluate(session, ctx.config, local, semester)
            refresh_figures(session, ctx.config, semester)
        yield World(ctx, {s.code: s.name for s in ctx.config.schools})


def plural(count: int, one: str, other: str) -> str:
    return one if count % 10 == 1 and count % 100 != 11 else other


def schools_of(n: int, total: int) -> str:
    return f"{n} {plural(n, 'skola', 'skolas')} no {total}"


def test_the_municipality_summary_says_who_took_part_and_its_figures(world: World) -> None:
    composed = world.summary("municipality", CITY)
    body = composed.email.text
    schools = [s for s in world.ctx.config.schools if s.municipality == CITY]
    assert len(schools) == 3
    pupils = world.pupils()
    mine = pupils[pupils["municipality"] == CITY]
    count = mine["pupil_id"].nunique()
    assert composed.email.subject == (
        "PuMPuRS 2026/2027-1: semestra kopsavilkums — Zīlciema valstspilsēta"
    )
    assert f"Skolas, kas iesniedza plānus: {schools_of(2, 3)}\n" in body
    assert f"Plānus neiesniedza: {world.names[SILENT]}.\n" in body
    assert f"Skolēni ar atbalsta plānu: {fmt_number(count, 'lv', 0)}\n" in body
    assert f"{count} {plural(count, 'skolēns', 'skolēni')} ar atbalsta plānu no 2 skolām." in body
    per_school = mine.groupby("school")["pupil_id"].nunique().sort_values(ascending=False)
    largest = ", ".join(f"{world.names[str(s)]} ({n})" for s, n in per_school.items())
    assert f"Visvairāk skolēnu ar plānu: {largest}." in body
    subjects = mine.dropna(subset=["subject"]).groupby("subject")["pupil_id"].nunique()
    assert len(subjects) >= 3
    catalogue = world.ctx.config.catalogue.subjects
    for subject, n in subjects.items():
        share = fmt_percent(round(n / count, 4), "lv")
        line = f"- {catalogue[str(subject)].lv}: {share} ({n} {plural(n, 'skolēns', 'skolēni')})"
        assert line in body, line
    for code in per_school.index:  # a line per school that took part, none for the silent one
        assert f"- {world.names[code]}: " in body
    assert f"- {world.names[SILENT]}: " not in body
    assert [a.filename for a in composed.attachments] == ["raditaji_zilciems_2026-2027-1.xlsx"]


def test_the_region_names_the_silent_school_and_the_nation_counts_it(world: World) -> None:
    region = world.summary("region", REGION).email.text
    assert f"Skolas, kas iesniedza plānus: {schools_of(2, 3)}\n" in region
    assert f"Plānus neiesniedza: {world.names[SILENT]}.\n" in region
    nation = world.summary("nation", "LV").email.text
    total = len(world.ctx.config.schools)
    assert f"Skolas, kas iesniedza plānus: {schools_of(total - 1, total)}\n" in nation
    assert f"- Plānus neiesniedza, Rīgas reģions: {schools_of(1, 3)}\n" in nation
    assert world.names[SILENT] not in nation  # the nation counts, it does not name
    other = world.summary("region", "kurzeme").email.text
    assert "Plānus neiesniedza" not in other  # every school of Kurzeme sent plans


def visible_text(page: str) -> str:
    """Return what a mail program shows of an HTML email with its images blocked."""
    without_images = re.sub(r"<img\b[^>]*>", "", page)
    words = re.sub(r"<[^>]+>", " ", without_images)
    # A run of spaces is one space (the bars' cells hold a no-break space each); a no-break
    # space inside a figure (`37 %`) stays.
    return re.sub(r"[ \t\r\n\xa0]*[ \t\r\n][ \t\r\n\xa0]*", " ", html.unescape(words)).strip()


@pytest.mark.parametrize(
    ("level", "code"), [("municipality", CITY), ("region", REGION), ("nation", "LV")]
)
def test_the_html_without_images_states_every_figure_its_bars_show(
    world: World, level: str, code: str
) -> None:
    composed = world.summary(level, code)
    page = composed.email.html
    assert "<img" not in page and not [a for a in composed.attachments if a.content_id]
    assert 'bgcolor="#7a1f3d"' in page  # the bars are table cells
    shown = visible_text(page)
    ctx = world.ctx
    with ctx.sessions() as session:
        semester_id = session.execute(text("SELECT id FROM semester")).scalar_one()
        figures = read_figures(session, semester_id)
        previous = read_semester_figures(session, SEMESTER.previous())
    names = unit_names(ctx.config, "lv")
    context = summary_context(
        Unit(level, code, names[(level, code)]), figures, previous, ctx.config, "lv", names
    )

    def n(value: float) -> str:
        return fmt_number(value, "lv", 0)

    def pct(value: float | None) -> str:
        return fmt_percent(value or 0.0, "lv")

    expected = [f"{r['label']} {n(r['pupils'])} ({pct(r['share'])})" for r in context["risks"]]
    expected += [f"{r['label']} {pct(r['share'])} ({n(r['pupils'])})" for r in context["subjects"]]
    expected += [
        f"{b['label']} {n(b['plans'])} ({pct(b['share'])})"
        for b in context["bins"]
        if b["key"] != "none" or b["plans"]
    ]
    for row in context["children"]:
        parts = " · ".join(
            f"{g['label']} {n(row['plans_' + g['key']])}"
            for g in context["groups"]
            if row["plans_" + g["key"]]
        )
        plans = f"{n(row['plans_all'])} {plural(row['plans_all'], 'plāns', 'plāni')}"
        expected += [f"{row['name']} {n(row['pupils'])} {n(row['plans'])}", f"{plans}: {parts}"]
    assert len(expected) > 10
    for figure in expected:
        assert figure in shown, figure
    bars = re.findall(
        r'<td data-css-inline="ignore" width="(\d+)%" height="12" '
        r'bgcolor="#7a1f3d"',
        page,
    )
    shares = [r["share"] for r in context["risks"] + context["subjects"] if r["share"]]
    for share in shares:  # a share's bar is the share of the width, not of the longest bar
        assert str(max(1, round(share * 100))) in bars
