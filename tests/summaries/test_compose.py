"""Semester summaries in the core: who gets which, exactly once, what they say, and how."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from pumpurs.evaluation.evaluate import evaluate
from pumpurs.generate import generate
from pumpurs.i18n.formats import NBSP, fmt_percent
from pumpurs.intake.collect import collect
from pumpurs.settings import Settings
from pumpurs.store.context import Context, load_context, use_settings
from pumpurs.store.models import OutboxMessage, Plan, PlanStatus
from pumpurs.store.reference import (
    StoredSemester,
    ensure_semester,
    require_semester,
    stored_semester,
)
from pumpurs.summaries.compose import Composed, preview_summary, queue_summaries
from pumpurs.summaries.content import Unit
from pumpurs.summaries.recipients import SummaryRun, recipients, summary_key
from pumpurs.summaries.store import read_figures, refresh_figures
from pumpurs.summaries.workbook import _openpyxl_workbook, figures_workbook
from tests.evaluation.factory import SEMESTER, eur, hours, put_evaluation, store_plan

TODAY = dt.date(2027, 1, 20)


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    with use_settings(settings):
        yield load_context(settings)


def two_regions(ctx: Context) -> None:
    """Store three plans in Kurzeme (two evaluated) and one in Latgale, then the figures."""
    store_plan(ctx, "P-001", [hours("subject_consultation", 4, "mathematics"), eur("meals", 50)])
    store_plan(ctx, "P-002", [hours("subject_consultation", 2, "latvian", "T-2")],
               risks=("learning", "economic"))  # fmt: skip
    store_plan(ctx, "P-003", [hours("psychologist", 2, provider="S-1")], school="LV-LIE-015")
    store_plan(ctx, "P-004", [hours("psychologist", 2)], school="LV-DAU-010", risks=("family",))
    store_plan(ctx, "P-005", [hours("psychologist", 2)], status=PlanStatus.SUBMITTED)
    put_evaluation(
        ctx,
        "a.csv",
        "LV-LIE-006;P-001;subject_consultation;mathematics;16;;improved;yes;",
        "LV-LIE-006;P-001;meals;;;150;improved;yes;",
        "LV-LIE-006;P-002;subject_consultation;latvian;2;;worse;no;",
    )
    with ctx.sessions.begin() as session:
        semester = stored_semester(session, SEMESTER)
        evaluate(session, ctx.config, ctx.settings, semester)
        refresh_figures(session, ctx.config, semester)


def queue(ctx: Context, suffix: str | None = None, language: str = "lv") -> dict[str, int]:
    with ctx.sessions.begin() as session:
        semester = stored_semester(session, SEMESTER)
        run = SummaryRun(again=suffix)
        report = queue_summaries(session, ctx.config, language, semester, TODAY, run)
    return {**report.queued, "before": report.sent_before}


def outbox(ctx: Context) -> dict[str, OutboxMessage]:
    with ctx.sessions() as session:
        messages = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "summary")
            .options(selectinload(OutboxMessage.attachments))
        )
        return {m.dedupe_key: m for m in messages}


def test_the_key_names_semester_unit_and_recipient_and_stays_short() -> None:
    unit = Unit("school", "LV-LIE-006", "Raiņa 6. vsk.")
    assert summary_key(SEMESTER, unit, "IAPS@raina6.example") == (
        "summary:2026/2027-1:school:LV-LIE-006:iaps@raina6.example"
    )
    assert summary_key(SEMESTER, unit, "a@b.example", "forced-1").endswith(":a@b.example:forced-1")
    long = summary_key(SEMESTER, unit, "x" * 240 + "@b.example")
    assert len(long) == 255 and long != summary_key(SEMESTER, unit, "y" * 240 + "@b.example")


def test_each_unit_with_plans_has_its_people(ctx: Context) -> None:
    two_regions(ctx)
    with ctx.sessions() as session:
        figures = read_figures(session, require_semester(session, SEMESTER).id)
    chosen = [(u.level, u.code, p.email) for u, p in recipients(ctx.config, figures, "lv")]
    assert chosen == [
        ("school", "LV-DAU-010", "iaps@10vsk.daugavpils.example"),
        ("school", "LV-LIE-006", "iaps@raina6.liepaja.example"),
        ("school", "LV-LIE-015", "iaps@kalpaka15.liepaja.example"),
        # Liepāja has a municipal coordinator in config/regions.yaml, Daugavpils none
        ("municipality", "liepaja", "koordinators@liepaja.example"),
        ("region", "kurzeme", "koordinators@kurzeme.example"),
        ("region", "latgale", "koordinators@latgale.example"),
        ("nation", "LV", "pmp@ikvd.example"),  # config/programme.yaml summary_recipients
    ]


def test_summaries_are_queued_once_per_recipient_unless_forced(ctx: Context) -> None:
    two_regions(ctx)
    sent = {"school": 3, "municipality": 1, "region": 2, "nation": 1}
    nothing = dict.fromkeys(sent, 0)
    assert queue(ctx) == {**sent, "before": 0}
    assert queue(ctx) == {**nothing, "before": 7}
    assert queue(ctx, "forced-run-2") == {**sent, "before": 0}
    assert queue(ctx, "forced-run-2") == {**nothing, "before": 7}
    assert len(outbox(ctx)) == 14


def test_no_summary_carries_an_image_and_above_schools_the_xlsx(ctx: Context) -> None:
    two_regions(ctx)
    queue(ctx)
    messages = outbox(ctx)
    school = messages["summary:2026/2027-1:school:LV-LIE-006:iaps@raina6.liepaja.example"]
    city = messages["summary:2026/2027-1:municipality:liepaja:koordinators@liepaja.example"]
    region = messages["summary:2026/2027-1:region:kurzeme:koordinators@kurzeme.example"]
    nation = messages["summary:2026/2027-1:nation:LV:pmp@ikvd.example"]
    assert school.attachments == []
    for message in messages.values():
        assert "<img" not in message.body_html
        assert not [a for a in message.attachments if a.content_id]
    assert [a.filename for a in city.attachments] == ["raditaji_liepaja_2026-2027-1.xlsx"]
    assert [a.filename for a in region.attachments] == ["raditaji_kurzeme_2026-2027-1.xlsx"]
    workbook = openpyxl.load_workbook(io.BytesIO(nation.attachments[-1].content))
    assert workbook.sheetnames == ["Valsts", "Reģioni", "Pašvaldības", "Skolas", "Paskaidrojumi"]
    assert [len(list(s.iter_rows(min_row=2))) for s in workbook] == [1, 5, 6, 9, 6]
    header = [c.value for c in workbook["Valsts"][1]]
    assert header[:8] == [
        "Kods",
        "Nosaukums",
        "Uzaicinātās skolas",
        "Skolas, kas iesniedza plānus",
        "Skolas, kas neiesniedza plānus",
        "Skolēni ar apstiprinātu plānu",
        "Apstiprināti plāni (ieskaitot izvērtētos)",
        "Plāni, kuru statuss tagad ir: iesniegti, gaida apstiprinājumu",
    ]
    assert [c.value for c in workbook["Valsts"][2]][:7] == ["LV", "Latvija", 9, 3, 6, 4, 4]
    assert len(header) == len(set(header))  # no two columns alike
    subjects = [h for h in header if h.endswith(": skolēni ar konsultācijām")]
    assert subjects == [  # only the subjects some pupil has consultations in
        "matemātika: skolēni ar konsultācijām",
        "latviešu valoda un literatūra: skolēni ar konsultācijām",
    ]
    assert not [h for h in header if h.endswith("kuru statuss tagad ir: izvērtēti")]
    share = header.index("Skolēnu daļa ar konsultācijām mācību priekšmetos")
    assert workbook["Valsts"].cell(2, share + 1).number_format == '0.0"\xa0"%'
    schools = workbook["Skolas"]
    school_header = [c.value for c in schools[1]]
    assert school_header[:4] == [
        "Kods",
        "Nosaukums",
        "Šajā semestrī iesniedza plānus",
        "Skolēni ar apstiprinātu plānu",
    ]
    rows = {row[0]: row for row in schools.iter_rows(min_row=2, values_only=True)}
    assert len(rows) == len(ctx.config.schools)  # every school, with or without plans
    raina = rows["LV-LIE-006"]
    assert raina[1:5] == ("Liepājas Raiņa 6. vidusskola", "jā", 2, 2)
    used = school_header.index("Izlietotais finansējums, EUR")
    assert raina[used] == 150.0 and rows["LV-KUL-001"][2:4] == ("nē", 0)
    assert schools.auto_filter.ref == f"A1:{schools.cell(1, len(school_header)).column_letter}10"
    notes = [row[0] for row in workbook["Paskaidrojumi"].iter_rows(values_only=True)]
    assert any("skolās, tiek skaitīts divreiz" in str(note) for note in notes)
    region_book = openpyxl.load_workbook(io.BytesIO(region.attachments[-1].content))
    assert [len(list(s.iter_rows(min_row=2))) for s in region_book] == [1, 2, 5, 6]
    city_book = openpyxl.load_workbook(io.BytesIO(city.attachments[-1].content))
    assert city_book.sheetnames == ["Pašvaldības", "Skolas", "Paskaidrojumi"]
    assert [len(list(s.iter_rows(min_row=2))) for s in city_book] == [1, 4, 6]


def test_english_workbooks_write_percentages_the_english_way(ctx: Context) -> None:
    two_regions(ctx)
    with ctx.sessions() as session:
        composed = preview_summary(session, ctx.config, "en", SEMESTER, "nation", "LV", TODAY)
    book = openpyxl.load_workbook(io.BytesIO(composed.attachments[-1].content))
    header = [c.value for c in book["Nation"][1]]
    share = header.index("Share of pupils with subject consultations")
    assert book["Nation"].cell(2, share + 1).number_format == "0.0%"


def test_a_change_against_the_previous_semester_is_said_as_people_say_it(ctx: Context) -> None:
    for ref in ("P-101", "P-102", "P-103"):
        store_plan(ctx, ref, [hours("psychologist", 2)], semester=SEMESTER.previous())
    with ctx.sessions.begin() as session:
        refresh_figures(session, ctx.config, stored_semester(session, SEMESTER.previous()))
    two_regions(ctx)
    with ctx.sessions() as session:
        text = preview_summary(session, ctx.config, "lv", SEMESTER, "school", "LV-LIE-006",
                               TODAY).email.text  # fmt: skip
    assert "SALĪDZINĀJUMĀ AR SEMESTRI 2025/2026-2" in text
    assert f"- Skolēni ar atbalsta plānu: 2 (iepriekš 3; -1 (-33{NBSP}%))" in text
    assert "- Izlietotais finansējums, EUR: 150 (iepriekš 0; +150)" in text
    assert f"- Vidējā plānu izpilde: 56{NBSP}% (iepriekš —; —)" in text  # (0,875 + 0,25) ÷ 2


def test_a_unit_without_anybody_to_tell_is_reported(settings: Settings, tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(settings.config_dir, config)
    programme = (config / "programme.yaml").read_text(encoding="utf-8")
    (config / "programme.yaml").write_text(programme.split("summary_recipients:")[0], "utf-8")
    local = settings.model_copy(update={"config_dir": config})
    with use_settings(local):
        ctx = load_context(local)
        two_regions(ctx)
        with ctx.sessions.begin() as session:
            semester = stored_semester(session, SEMESTER)
            report = queue_summaries(session, ctx.config, "lv", semester, TODAY)
    assert (report.queued, report.without_recipient) == (
        {"school": 3, "municipality": 1, "region": 2, "nation": 0},
        ["nation LV"],  # not Daugavpils: a municipality may have no coordinator
    )
    assert report.headline[0] == "Skolēni ar atbalsta plānu: 4"  # the dashboard still has it


def test_without_an_approved_plan_the_summary_says_so(ctx: Context) -> None:
    store_plan(ctx, "P-001", [hours("psychologist", 2)], status=PlanStatus.SUBMITTED)
    with ctx.sessions.begin() as session:
        refresh_figures(session, ctx.config, stored_semester(session, SEMESTER))
        composed = preview_summary(session, ctx.config, "lv", SEMESTER, "school", "LV-LIE-006",
                                   TODAY)  # fmt: skip
    assert "vēl nav neviena apstiprināta atbalsta plāna (visi plāni: 1)" in composed.email.text
    assert "- iesniegti, gaida apstiprinājumu: 1" in composed.email.text
    assert composed.attachments == []


def test_english_by_setting(ctx: Context) -> None:
    two_regions(ctx)
    with ctx.sessions() as session:
        email = preview_summary(session, ctx.config, "en", SEMESTER, "region", "kurzeme", TODAY)
    assert email.email.subject == "PuMPuRS 2026/2027-1: semester summary — Kurzemes reģions"
    assert "Pupils with a support plan: 3" in email.email.text
    assert "- Liepājas Raiņa 6. vidusskola: 2 pupils, 2 approved plans, 2 evaluated" in (
        email.email.text
    )
    assert [a.filename for a in email.attachments][-1] == "figures_kurzeme_2026-2027-1.xlsx"


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Composed, dict[str, Any]]:
    """Return the national summary of a generated city-scale semester and its manifest."""
    out = tmp_path_factory.mktemp("city")
    generate("city", 1, out / "data", SEMESTER)
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
            session.execute(update(Plan).values(status=PlanStatus.APPROVED))
            evaluate(session, ctx.config, local, semester)
            refresh_figures(session, ctx.config, semester)
            composed = preview_summary(session, ctx.config, "lv", SEMESTER, "nation", "LV", TODAY)
    manifest = json.loads((out / "data" / "manifest.json").read_text(encoding="utf-8"))
    return composed, manifest["valid"]


def test_the_national_summary_states_the_generated_proportions(
    city: tuple[Composed, dict[str, Any]],
) -> None:
    composed, valid = city
    text = composed.email.text
    math, latvian = valid["share_mathematics"], valid["share_latvian"]
    assert abs(math - 0.37) < 0.01 and abs(latvian - 0.27) < 0.01
    assert f"- matemātika: {fmt_percent(math)} (" in text and f"- matemātika: 37{NBSP}% (" in text
    assert f"- latviešu valoda un literatūra: {fmt_percent(latvian)} (" in text
    assert f"Skolēni ar atbalsta plānu: {valid['pupils']}\n" in text
    assert f"Iesaistītie pedagogi un speciālisti: {valid['providers']}\n" in text
    risks = valid["risk_pupils"]
    assert f"- ekonomiskie riski: {risks['economic']} (" in text
    assert f"- mācību darba un izglītības iestādes riski: {risks['learning']} (" in text


def test_the_text_part_is_latvian_formatted_real_text(
    city: tuple[Composed, dict[str, Any]],
) -> None:
    composed, _ = city
    text = composed.email.text
    assert re.search(rf"plānoti 1{NBSP}\d{{3}}, sniegti 1{NBSP}\d{{3}}", text)  # thousands
    assert re.search(rf"Stundas: plānotas \d+{NBSP}\d{{3}}(,\d)?, sniegtas \d+{NBSP}\d{{3}},\d\n",
                     text)  # decimal comma  # fmt: skip
    assert re.search(r"Finansējums: izlietoti [\d\xa0]+ EUR no maksimāli pieejamajiem "
                     r"[\d\xa0]+ EUR \(\d+\xa0%\)", text)  # fmt: skip
    assert "<" not in text and ">" not in text and "P-" not in text + composed.email.html
    assert text.count(" skolēni)") + text.count(" skolēns)") == 12  # every subject, declined


@pytest.mark.parametrize("language", ["lv", "en"])
def test_a_workbooks_rows_have_the_bytes_openpyxl_writes_for_them(
    ctx: Context, language: str
) -> None:
    """Rows written into the sheets' XML equal openpyxl writing every row itself, part by part
    (the file's creation time apart), names with a leading space, "&" and "<" included."""
    two_regions(ctx)
    with ctx.sessions() as session:
        figures = read_figures(session, stored_semester(session, SEMESTER).id)
    sheets = [
        (level, [(Unit(level, code, f" {code} & <{n}>"), found)
                 for n, ((lv, code), found) in enumerate(sorted(figures.items())) if lv == level])
        for level in ("nation", "region", "municipality", "school")
    ]  # fmt: skip
    assert [len(units) for _, units in sheets] == [1, 5, 6, 9]
    fast = figures_workbook(sheets, ctx.config, language)
    whole, _ = _openpyxl_workbook(sheets, ctx.config, language)
    buffer = io.BytesIO()
    whole.save(buffer)
    with zipfile.ZipFile(io.BytesIO(fast)) as mine, zipfile.ZipFile(buffer) as theirs:
        assert mine.namelist() == theirs.namelist()
        for name in theirs.namelist():
            if name != "docProps/core.xml":  # its creation time
                assert mine.read(name) == theirs.read(name), name
