"""The upload core: each hostile case answered clearly, nothing lost, nothing kept twice."""

from __future__ import annotations

import datetime as dt
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from pumpurs.intake import upload
from pumpurs.intake.collect import collect
from pumpurs.intake.upload import Checked, TooLarge, receive, take_upload
from pumpurs.opening.links import (
    SchoolLinkProblem,
    SchoolLinkRefused,
    issue_link,
    read_school_link,
    school_url,
    verify_school_link,
)
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store.context import Context, load_context, use_settings
from pumpurs.store.models import Plan, SchoolUpload, Submission
from pumpurs.store.reference import StoredSemester, ensure_semester

SEMESTER = SemesterCode.parse("2026/2027-1")
SCHOOL = "LV-LIE-006"
HEADER = (
    "school_code;pupil_ref;grade;risk_categories;goal;measure;subject;provider_ref;"
    "hours_per_month;eur_per_month"
)
GOOD = [
    f"{SCHOOL};P-001;7;learning;Uzlabot matemātiku;subject_consultation;mathematics;T-1;4;",
    f"{SCHOOL};P-002;9;economic;Apmeklēt skolu;transport;;;;30",
]
BAD = [
    f"{SCHOOL};P-003;7;learning;Mērķis;subject_consultation;mathematics;T-1;99;",
    f"{SCHOOL};120309-12345;8;learning;Mērķis;meals;;;;20",
]


def csv(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode("utf-8")


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    with use_settings(settings):
        yield load_context(settings)


@pytest.fixture
def semester(ctx: Context) -> StoredSemester:
    with ctx.sessions.begin() as session:
        row, _ = ensure_semester(session, ctx.config, SEMESTER)
        return StoredSemester.of(row)


def before_deadline(semester: StoredSemester) -> dt.date:
    return semester.submission_deadline - dt.timedelta(days=3)


def send(
    ctx: Context,
    semester: StoredSemester,
    content: bytes,
    name: str = "plani.csv",
    *,
    kind: str = "plans",
    today: dt.date | None = None,
    chunk: int = 4096,
) -> Checked:
    folder = upload.inbox_folder(ctx.settings.effective_inbox_dir, semester, SCHOOL, kind)
    limit = upload.max_bytes(ctx.config)
    chunks = (content[i : i + chunk] for i in range(0, len(content), chunk))
    try:
        received = receive(chunks, folder, limit)
    except TooLarge as refused:
        return upload.too_large(kind, name, refused.received, ctx.config, "lv")
    with ctx.sessions.begin() as session:
        return take_upload(
            session, received, inbox=ctx.settings.effective_inbox_dir, original_name=name,
            kind=kind, school_code=SCHOOL, semester=semester, config=ctx.config, language="lv",
            today=today or before_deadline(semester),
        )  # fmt: skip


def kept_files(ctx: Context, semester: StoredSemester, kind: str = "plans") -> list[Path]:
    folder = upload.inbox_folder(ctx.settings.effective_inbox_dir, semester, SCHOOL, kind)
    return sorted(p for p in folder.glob("*") if p.is_file()) if folder.exists() else []


def visible(files: list[Path]) -> list[Path]:
    return [p for p in files if not p.name.startswith(".")]


def xlsx(rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_good_file_is_kept_in_the_contracts_folder(
    ctx: Context, semester: StoredSemester
) -> None:
    checked = send(ctx, semester, csv(*GOOD))
    assert (checked.outcome, checked.rows_read, checked.rows_rejected) == ("kept", 2, 0)
    (kept,) = visible(kept_files(ctx, semester))
    assert kept.parent == ctx.settings.effective_inbox_dir / "2026-2027-1" / SCHOOL / "plans"
    assert kept.read_bytes() == csv(*GOOD)
    assert [p.name for p in kept_files(ctx, semester)] == [".upload.lock", kept.name]


def test_rows_with_mistakes_are_kept_and_each_rejected_row_shown_masked(
    ctx: Context, semester: StoredSemester
) -> None:
    checked = send(ctx, semester, csv(*GOOD, *BAD))
    assert (checked.outcome, checked.rows_read, checked.rows_rejected) == ("kept", 4, 2)
    assert sorted({r.row_number for r in checked.rejected}) == [4, 5]
    assert all("120309-12345" not in r.pupil_ref + r.message for r in checked.rejected)
    assert any("12****-*****" in r.pupil_ref for r in checked.rejected)
    assert checked.rejected_csv is not None and b"120309" not in checked.rejected_csv
    (kept,) = visible(kept_files(ctx, semester))
    assert b"120309-12345" not in kept.read_bytes()  # masked as collect masks it


def test_over_the_size_limit_is_refused_while_streaming(
    ctx: Context, semester: StoredSemester
) -> None:
    limit = upload.max_bytes(ctx.config)
    seen = 0

    def endless() -> Iterator[bytes]:
        nonlocal seen
        while True:
            seen += 1
            yield b"x" * (1 << 20)

    folder = upload.inbox_folder(ctx.settings.effective_inbox_dir, semester, SCHOOL, "plans")
    with pytest.raises(TooLarge):
        receive(endless(), folder, limit)
    assert seen == limit // (1 << 20) + 1  # stopped at the first chunk past the limit
    assert kept_files(ctx, semester) == []  # the part written is gone


def test_a_zip_bomb_is_refused_unopened(ctx: Context, semester: StoredSemester) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"<x/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (50 << 20))
    checked = send(ctx, semester, out.getvalue(), "plani.xlsx")
    assert checked.outcome == "zip_bomb" and checked.message
    assert visible(kept_files(ctx, semester)) == []


@pytest.mark.parametrize(
    ("name", "content", "outcome"),
    [
        ("plani.pdf", b"%PDF-1.4 binary", "wrong_type"),
        ("plani.exe", b"MZ\x90\x00\x03", "wrong_type"),
        ("plani.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500, "wrong_type"),
        ("plani.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500, "wrong_type"),
        ("plani.csv", b"", "empty"),
        ("plani.csv", b"  \n\n ", "empty"),
        ("plani.csv", bytes(range(256)) * 20, "unreadable"),
        ("plani.xlsx", b"PK\x03\x04 broken zip", "unreadable"),
    ],
)
def test_what_is_no_table_is_refused_with_a_latvian_message(
    ctx: Context, semester: StoredSemester, name: str, content: bytes, outcome: str
) -> None:
    checked = send(ctx, semester, content, name)
    assert checked.outcome == outcome
    assert checked.message and any(c in checked.message for c in "āēīūšžņļķģč")
    assert visible(kept_files(ctx, semester)) == []


def test_a_type_that_lies_is_read_by_what_it_is(ctx: Context, semester: StoredSemester) -> None:
    rows = [[c for c in HEADER.split(";")], *[r.split(";") for r in GOOD]]
    checked = send(ctx, semester, xlsx(rows), "plani.csv")  # a workbook named .csv
    assert (checked.outcome, checked.rows_read) == ("kept", 2)
    assert checked.kept_name is not None and checked.kept_name.endswith(".xlsx")
    lying = send(ctx, semester, csv(GOOD[0]), "plani.xlsx")  # text named .xlsx
    assert (lying.outcome, lying.rows_read) == ("kept", 1)
    assert lying.kept_name is not None and lying.kept_name.endswith(".csv")


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd.csv", "C:\\Users\\skola\\plani.csv", "pl\x00a\x1bni\n.csv",
     "..\\..\\x.csv", ".hidden.csv", "~$plani.csv", "120309-12345 plāni.csv", "/" * 300 + "a.csv"],
)  # fmt: skip
def test_a_name_with_path_parts_or_control_characters_is_made_safe(
    ctx: Context, semester: StoredSemester, name: str
) -> None:
    checked = send(ctx, semester, csv(*GOOD), name)
    assert checked.outcome == "kept"
    (kept,) = visible(kept_files(ctx, semester))  # in the school's own folder, visible to collect
    assert kept.name == checked.kept_name
    assert all(ord(c) >= 32 for c in kept.name) and "/" not in kept.name
    assert "120309" not in kept.name and "120309" not in checked.original_name
    assert len(checked.original_name) <= 255


def test_the_same_file_twice_is_kept_once_and_said_so(
    ctx: Context, semester: StoredSemester
) -> None:
    first = send(ctx, semester, csv(*GOOD))
    again = send(ctx, semester, csv(*GOOD), "cits_nosaukums.csv")
    assert (first.outcome, again.outcome) == ("kept", "duplicate")
    assert again.message and first.kept_name and first.kept_name in again.message
    assert len(visible(kept_files(ctx, semester))) == 1


def test_a_file_already_stored_by_collect_is_a_duplicate(
    ctx: Context, semester: StoredSemester
) -> None:
    send(ctx, semester, csv(*GOOD))
    with ctx.sessions.begin() as session:
        collect(session, ctx.config, ctx.settings, semester)
    for path in visible(kept_files(ctx, semester)):
        path.unlink()  # even gone from the folder, the store knows it
    assert send(ctx, semester, csv(*GOOD)).outcome == "duplicate"


def test_two_uploads_at_once_keep_one_file(ctx: Context, semester: StoredSemester) -> None:
    results: list[Checked] = []
    barrier = threading.Barrier(4)

    def tab() -> None:
        barrier.wait()
        results.append(send(ctx, semester, csv(*GOOD)))

    threads = [threading.Thread(target=tab) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.outcome for r in results) == ["duplicate", "duplicate", "duplicate", "kept"]
    assert len(visible(kept_files(ctx, semester))) == 1


def test_two_different_files_at_once_are_both_kept(ctx: Context, semester: StoredSemester) -> None:
    barrier = threading.Barrier(2)

    def tab(rows: list[str]) -> None:
        barrier.wait()
        send(ctx, semester, csv(*rows), "plani.csv")  # the same name, different content

    threads = [threading.Thread(target=tab, args=([row],)) for row in GOOD]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(visible(kept_files(ctx, semester))) == 2


@pytest.mark.parametrize(("rule", "outcome", "late"), [("accept", "kept", True),
                                                         ("refuse", "late", False)])  # fmt: skip
def test_a_late_file_follows_the_programme_rule(
    ctx: Context, semester: StoredSemester, rule: str, outcome: str, late: bool
) -> None:
    programme = ctx.config.programme.model_copy(update={"late_uploads": rule})
    ctx = Context(ctx.settings, ctx.config.model_copy(update={"programme": programme}))
    after = semester.submission_deadline + dt.timedelta(days=1)
    checked = send(ctx, semester, csv(*GOOD), today=after)
    assert checked.outcome == outcome
    assert checked.late is late or outcome == "late"
    assert len(visible(kept_files(ctx, semester))) == (1 if outcome == "kept" else 0)
    on_time = send(ctx, semester, csv(GOOD[0]), today=semester.submission_deadline)
    assert (on_time.outcome, on_time.late) == ("kept", False)


def test_evaluations_wait_for_their_window(ctx: Context, semester: StoredSemester) -> None:
    early = send(ctx, semester, csv(*GOOD), kind="evaluation")
    assert early.outcome == "evaluation_not_open"


def test_an_upload_is_recorded_with_its_link_and_masked_checksum(
    ctx: Context, semester: StoredSemester
) -> None:
    with ctx.sessions.begin() as session:
        nonce = issue_link(session, semester, SCHOOL)
        link = verify_school_link(session, nonce)
    checked = send(ctx, semester, csv(*GOOD, *BAD))
    with ctx.sessions.begin() as session:
        upload.record_upload(session, link.id, checked, ip="10.0.0.1", user_agent="test")
    with ctx.sessions.begin() as session:
        row = session.scalars(select(SchoolUpload)).one()
        assert (row.link_id, row.ip, row.outcome, row.rows_rejected) == (link.id, "10.0.0.1",
                                                                          "kept", 2)  # fmt: skip
        kept = visible(kept_files(ctx, semester))[0].read_bytes()
        import hashlib

        assert row.sha256 == hashlib.sha256(kept).hexdigest()
        assert row.sha256 != hashlib.sha256(csv(*GOOD, *BAD)).hexdigest()


def test_links_refuse_a_changed_character_and_the_replaced_and_expired(
    ctx: Context, semester: StoredSemester
) -> None:
    with ctx.sessions.begin() as session:
        first = issue_link(session, semester, SCHOOL)
    token = school_url(ctx.settings, first).rsplit("/", 1)[1]
    assert read_school_link(ctx.settings, token) == first
    for position in range(len(token)):  # every character, the signature's last one too
        changed = (
            token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]
        )
        with pytest.raises(SchoolLinkRefused) as refused:
            read_school_link(ctx.settings, changed)
        assert refused.value.problem in (SchoolLinkProblem.FORGED, SchoolLinkProblem.MALFORMED)
    with ctx.sessions.begin() as session:
        second = issue_link(session, semester, SCHOOL)
    with ctx.sessions.begin() as session, pytest.raises(SchoolLinkRefused) as refused:
        verify_school_link(session, first)
    assert refused.value.problem == SchoolLinkProblem.REPLACED
    with ctx.sessions.begin() as session:
        assert verify_school_link(session, second).school_code == SCHOOL
    import time_machine

    end = dt.datetime.combine(semester.evaluation_deadline + dt.timedelta(days=1), dt.time(12))
    with time_machine.travel(end.replace(tzinfo=dt.UTC), tick=False):
        with ctx.sessions.begin() as session, pytest.raises(SchoolLinkRefused) as refused:
            verify_school_link(session, second)
    assert refused.value.problem == SchoolLinkProblem.EXPIRED


def test_plans_kept_by_an_upload_are_stored_once_by_collect(
    ctx: Context, semester: StoredSemester
) -> None:
    send(ctx, semester, csv(*GOOD))
    for _ in range(2):
        with ctx.sessions.begin() as session:
            collect(session, ctx.config, ctx.settings, semester)
    with ctx.sessions.begin() as session:
        assert len(session.scalars(select(Plan)).all()) == 2
        assert len(session.scalars(select(Submission)).all()) == 1


@pytest.mark.parametrize("order", ["upload, then collect", "collect, then upload",
                                   "shared folder, collect, then the same upload"])  # fmt: skip
def test_an_upload_and_the_scheduled_collect_store_the_plans_once_in_either_order(
    ctx: Context, semester: StoredSemester, order: str
) -> None:
    def run() -> None:
        with ctx.sessions.begin() as session:
            collect(session, ctx.config, ctx.settings, semester)

    if order.startswith("shared"):
        folder = upload.inbox_folder(ctx.settings.effective_inbox_dir, semester, SCHOOL, "plans")
        folder.mkdir(parents=True)
        (folder / "no_mapes.csv").write_bytes(csv(*GOOD, *BAD))
    if order.startswith(("collect", "shared")):
        run()
    checked = send(ctx, semester, csv(*GOOD, *BAD))
    run()  # the run the upload's event starts (or the next scheduled one)
    run()  # and the one after it
    assert checked.outcome == ("duplicate" if order.startswith("shared") else "kept")
    with ctx.sessions.begin() as session:
        assert len(session.scalars(select(Plan)).all()) == 2  # P-001, P-002 (P-003 is rejected)
        assert len(session.scalars(select(Submission)).all()) == 1


def test_uploads_while_collect_runs_are_each_stored_once(
    ctx: Context, semester: StoredSemester
) -> None:
    files = [csv(row) for row in GOOD] + [csv(*GOOD)]
    done = threading.Event()

    def runs() -> None:
        while not done.is_set():
            with ctx.sessions.begin() as session:
                collect(session, ctx.config, ctx.settings, semester)

    runner = threading.Thread(target=runs)
    runner.start()
    try:
        for content in files:
            assert send(ctx, semester, content).outcome == "kept"
    finally:
        done.set()
        runner.join()
    with ctx.sessions.begin() as session:
        collect(session, ctx.config, ctx.settings, semester)
        stored = session.scalars(select(Submission.sha256)).all()
    assert len(stored) == len(set(stored)) == len(files)


def test_a_corrected_file_sent_before_the_run_is_taken_not_refused_as_a_second_file(
    ctx: Context, semester: StoredSemester
) -> None:
    first = send(ctx, semester, csv(GOOD[0], BAD[0]))  # P-003's hours are over the limit
    corrected = BAD[0].replace(";99;", ";9;")
    second = send(ctx, semester, csv(corrected, GOOD[1]))
    third = send(ctx, semester, csv(GOOD[0].replace(";4;", ";5;")))  # P-001 again: refused
    assert [c.rows_rejected for c in (first, second, third)] == [1, 0, 0]
    with ctx.sessions.begin() as session:
        report = collect(session, ctx.config, ctx.settings, semester)
        refs = session.scalars(select(Plan.pupil_id)).all()
    assert len(refs) == 3  # P-001 from the first file, P-002 and P-003 from the second
    assert (report.rows_read, report.rows_rejected) == (5, 2)  # P-003's bad row; P-001 again


def test_a_run_with_many_files_of_one_school_keys_its_report_within_the_column(
    ctx: Context, semester: StoredSemester
) -> None:
    from pumpurs.store.models import OutboxMessage

    for n in range(30):  # a school that uploads often before the run
        row = GOOD[0].replace("P-001", f"P-{n:03d}")
        assert send(ctx, semester, csv(row)).outcome == "kept"
    for _ in range(2):
        with ctx.sessions.begin() as session:
            collect(session, ctx.config, ctx.settings, semester)
    with ctx.sessions() as session:
        (key,) = session.scalars(select(OutboxMessage.dedupe_key)).all()  # once, not twice
    assert len(key) <= 255 and key.startswith("collect-report:2026/2027-1:LV-LIE-006:")


def test_an_evaluation_file_in_its_window_is_kept_in_the_evaluation_folder(
    ctx: Context, semester: StoredSemester
) -> None:
    header = (
        "school_code;pupil_ref;measure;subject;delivered_hours;spent_eur;outcome;continue;comment"
    )
    rows = [f"{SCHOOL};P-001;psychologist;;8;;improved;no;Labi", f"{SCHOOL};P-002;yoga;;1;;x;y;"]
    content = ("\n".join([header, *rows]) + "\n").encode("utf-8")
    checked = send(ctx, semester, content, "izvertejums.csv", kind="evaluation",
                   today=semester.ends_on)  # fmt: skip
    assert (checked.outcome, checked.late, checked.rows_read, checked.rows_rejected) == (
        "kept", False, 2, 1)  # fmt: skip
    assert [p.parent.name for p in visible(kept_files(ctx, semester, "evaluation"))] == [
        "evaluation"
    ]
    assert visible(kept_files(ctx, semester, "plans")) == []
