"""Hostile files in the inbox: arbitrary bytes and arbitrary rows, in CSV and XLSX, fed to the
whole collection on a real database. Nothing escapes as an exception, every file is kept, and
every row read ends accepted or rejected."""

from __future__ import annotations

import io
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from flows.collect_plans import collect_plans
from pumpurs.columns import PLAN_COLUMNS
from pumpurs.intake import read_bytes
from pumpurs.intake.collect import collect
from pumpurs.mail.sink import SmtpSink
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store.context import Context, load_context, use_settings
from pumpurs.store.models import PlanMeasure, RowRejection, Submission
from pumpurs.store.reference import ensure_semester, stored_semester
from tests.conftest import REPO
from tests.counts import count
from tests.reliability.tally import Tally

pytestmark = pytest.mark.reliability
SEMESTER = SemesterCode.parse("2026/2027-1")
FOLDERS = ["LV-LIE-006", "LV-LIE-006", "LV-LIE-015", "LV-RIG-T01", "LV-NAV-000"]  # one unknown
TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc", "Cn", "Co")), max_size=12)
# Per column: values that pass, values that break a rule, and any text at all.
VALUES: dict[str, list[str]] = {
    "school_code": ["LV-LIE-006", "LV-LIE-015", "LV-RIG-T01", "lv-lie-006 ", "LV-XXX-999"],
    "pupil_ref": ["P-001", "P-002", "P-003", "Ādažu-17", "120309-12345", "12****-*****", "P"],
    "grade": ["7", "12", "5", "4", "13", "7,0", "septītā"],
    "risk_categories": ["learning", "family;economic", " Social_Health ", "truancy", ""],
    "goal": ["Mērķis", "Uzlabot sekmes", "kods 120309-12345", ""],
    "measure": ["psychologist", "meals", "transport", "subject_consultation", "yoga", ""],
    "subject": ["", "mathematics", "latvian", "astrology"],
    "provider_ref": ["", "T-1", "S-02", "320000-00000"],
    "hours_per_month": ["", "2", "4,5", "25", "0", "-1", "daudz"],
    "eur_per_month": ["", "40", "45,50", "350", "-1", "nav"],
}
CLEAN = [  # whole rows that pass in LV-LIE-006's folder, before a cell or two is spoilt
    ["LV-LIE-006", "P-001", "7", "learning", "Mērķis", "psychologist", "", "T-1", "2", ""],
    ["LV-LIE-006", "P-001", "7", "learning", "Mērķis", "meals", "", "", "", "40"],
    ["LV-LIE-006", "P-002", "9", "family", "Mērķis", "subject_consultation", "mathematics",
     "T-2", "4,5", ""],
]  # fmt: skip
CELL = st.one_of(st.sampled_from(sorted({v for vs in VALUES.values() for v in vs})), TEXT)
LABELS = [[c.key for c in PLAN_COLUMNS], [c.lv for c in PLAN_COLUMNS], [c.en for c in PLAN_COLUMNS]]
HEAD = ";".join(c.key for c in PLAN_COLUMNS)
MAX_FILE = 1_000_000  # more than any generated file; collect's own limit is larger still


@st.composite
def table(draw: st.DrawFn) -> list[list[str]]:
    """Return a header and rows: mostly the real columns in any order, with plausible values."""
    keys = [c.key for c in PLAN_COLUMNS]
    order = draw(st.permutations(range(len(keys))))
    if draw(st.integers(0, 4)) == 0:  # now and then a column goes missing or is doubled
        order = draw(st.lists(st.sampled_from(order), min_size=1, max_size=12))
    labels = draw(st.sampled_from(LABELS))
    header = [labels[i] for i in order]
    if draw(st.booleans()):
        header.append(draw(st.sampled_from(["piezīmes", "", "Skolēna identifikators"])))
    rows = []
    for _ in range(draw(st.integers(0, 10))):
        clean = draw(st.sampled_from([None, *CLEAN]))
        row = [
            clean[i]
            if clean is not None and draw(st.integers(0, 9))
            else draw(st.one_of(st.sampled_from(VALUES[keys[i]]), CELL))
            for i in order
        ]
        rows.append(draw(st.sampled_from([row, row[:-1], [*row, "lieks"], []])))
    return [header, *rows]


@st.composite
def csv_file(draw: st.DrawFn) -> bytes:
    """Return a CSV of header and rows, in one of the encodings and delimiters schools use."""
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    lines = [delimiter.join(row) for row in draw(table())]
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1257", "utf-16"]))
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    return ending.join(lines).encode(encoding, errors="replace")


@st.composite
def xlsx_file(draw: st.DrawFn) -> bytes:
    """Return a workbook whose first sheet holds a header and rows, some cells numbers."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in draw(table()):
        sheet.append(
            [float(v) if v.isascii() and v.isdigit() and draw(st.booleans()) else v for v in row]
        )
    cut = draw(st.one_of(st.just(1.0), st.floats(0, 1)))  # < 1: cut short, as a failed upload
    buffer = io.BytesIO()
    book.save(buffer)
    content = buffer.getvalue()  # its bytes vary with the clock: draw nothing from its length
    return content[: round(len(content) * cut)]


def zip_of_garbage(data: bytes) -> bytes:
    """Return a zip that is not a workbook."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", data)
    return buffer.getvalue()


FILE = st.tuples(
    st.sampled_from(FOLDERS),
    st.sampled_from(["plani.csv", "plani.xlsx", "plani", "PLANI.XLS", "plāni .txt"]),
    st.one_of(
        csv_file(),
        xlsx_file(),
        st.binary(max_size=3000),
        st.binary(max_size=500).map(zip_of_garbage),
        st.sampled_from([b"", b"\xef\xbb\xbf", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600]),
    ),
)


@pytest.fixture
def store(tmp_path: Path, smtp: SmtpSink) -> Iterator[Context]:
    """Return a migrated SQLite store with the semester open, and its settings in force."""
    local = Settings(
        _env_file=None,
        var_dir=tmp_path / "var",
        config_dir=REPO / "config",
        inbox_dir=tmp_path / "inbox",
        smtp_host=smtp.host,
        smtp_port=smtp.port,
    )
    with use_settings(local):
        ctx = load_context(local)
        with ctx.sessions.begin() as session:
            ensure_semester(session, ctx.config, SEMESTER)
        yield ctx


def put(ctx: Context, files: list[tuple[str, str, bytes]]) -> dict[tuple[str, bytes], str]:
    """Replace the inbox with these files; return the name each distinct file is read under."""
    inbox = ctx.settings.effective_inbox_dir
    shutil.rmtree(inbox, ignore_errors=True)
    first: dict[tuple[str, bytes], str] = {}
    for number, (folder, name, content) in enumerate(files):
        path = inbox / SEMESTER.folder / folder / "plans" / f"{number}-{name}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        first.setdefault((folder, content), path.name)  # the same bytes again: skipped
    return first


def rows_in(name: str, content: bytes) -> int:
    """Return how many rows reading the file on its own gives (the oracle)."""
    frame = read_bytes(content, name, max_bytes=MAX_FILE).frame
    return 0 if frame is None else len(frame)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(files=st.lists(FILE, min_size=1, max_size=4))
def test_any_inbox_is_collected_with_every_file_kept_and_every_row_accounted(
    store: Context, tally: Tally, files: list[tuple[str, str, bytes]]
) -> None:
    distinct_files = put(store, files)
    expected_rows = sum(rows_in(name, content) for (_, content), name in distinct_files.items())
    with store.sessions() as session:  # rolled back at the end: every example starts empty
        report = collect(session, store.config, store.settings, stored_semester(session, SEMESTER))
        kept = session.scalar(select(func.count()).select_from(Submission)) or 0
        rows = select(RowRejection.submission_id, RowRejection.row_number).distinct()
        rejected = session.scalar(select(func.count()).select_from(rows.subquery()))
        measures = session.scalar(select(func.count()).select_from(PlanMeasure))
        session.rollback()
    tally.tried(len(files))
    event("rows accepted" if report.rows_accepted else "no row accepted")
    event("rows rejected" if report.rows_rejected else "no row rejected")
    tally.balance(len(distinct_files), kept)
    tally.balance(expected_rows, report.rows_accepted + report.rows_rejected)
    assert report.files + report.skipped == len(files)
    assert kept == report.files == len(distinct_files)
    assert report.rows_read == expected_rows == report.rows_accepted + report.rows_rejected
    assert rejected == report.rows_rejected and measures == report.rows_accepted


@pytest.mark.usefixtures("prefect_harness")
def test_a_hostile_inbox_goes_through_the_real_flow(
    store: Context, smtp: SmtpSink, tally: Tally
) -> None:
    files = [
        ("LV-LIE-006", "tukss.csv", b""),
        ("LV-LIE-006", "bom.csv", b"\xef\xbb\xbf"),
        ("LV-LIE-006", "troksnis.xlsx", bytes(range(256)) * 8),
        ("LV-LIE-006", "zip.xlsx", zip_of_garbage(b"<nav/>")),
        ("LV-LIE-015", "parole.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600),
        ("LV-LIE-015", "utf16.csv", f"{HEAD}\nLV-LIE-015;P-1;99;x;;?\n".encode("utf-16")),
        ("LV-NAV-000", "nezinama.csv", f"{HEAD}\nLV-NAV-000;P-1;7;learning;M;meals;;;;9".encode()),
        ("LV-RIG-T01", "tikai_galva.csv", HEAD.encode()),
    ]
    put(store, files)
    state = collect_plans(SEMESTER.code, return_state=True)
    tally.tried(len(files))
    assert state.is_completed(), state.message
    result = state.result()
    with store.sessions() as session:
        kept = session.scalar(select(func.count()).select_from(Submission)) or 0
        statuses = set(session.scalars(select(Submission.status)).all())
    tally.balance(len(files), kept)
    tally.balance(
        count(result, "rows_read"), count(result, "rows_accepted") + count(result, "rows_rejected")
    )
    assert result["rows_read"] == 2 and result["rows_rejected"] == 2
    assert kept == len(files) and statuses == {"ingested", "unreadable"}
    assert len(smtp.received) == 3  # each school that sent files hears what became of them
