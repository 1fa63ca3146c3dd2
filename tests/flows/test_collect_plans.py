"""Collect plan drafts end to end: real files in a real inbox, real DB, real SMTP server."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text, update

from flows.collect_plans import collect_plans
from pumpurs.errors import UserError
from pumpurs.generate import generate
from pumpurs.mail.sink import SmtpSink
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store.context import Context, load_context, use_settings
from pumpurs.store.models import Plan, PlanRevision, PlanStatus, Pupil, RowRejection, Submission
from pumpurs.store.reference import StoredSemester, ensure_semester
from tests.conftest import task_runs
from tests.counts import count

pytestmark = pytest.mark.usefixtures("prefect_harness")
SEMESTER = SemesterCode.parse("2026/2027-1")
HEADER = (
    "school_code;pupil_ref;grade;risk_categories;goal;measure;subject;provider_ref;"
    "hours_per_month;eur_per_month"
)
CODE = "120309-12345"
SCHOOL_LINK = re.compile(r"/s/[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+")
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # how password-protected workbooks start


@pytest.fixture
def opened(context: Context) -> Context:
    with context.sessions.begin() as session:
        ensure_semester(session, context.config, SEMESTER)
    return context


def put(ctx: Context, school: str, name: str, content: bytes) -> Path:
    folder = ctx.settings.effective_inbox_dir / SEMESTER.folder / school / "plans"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content)
    return path


def csv(*rows: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode(encoding)


def report_to(smtp: SmtpSink, address: str) -> str:
    found = [r.message() for r in smtp.received if r.recipients == [address]]
    assert len(found) == 1, f"{len(found)} messages to {address}"
    body = found[0].get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def rejections(ctx: Context) -> list[tuple[int, str | None, str]]:
    with ctx.sessions() as session:
        rows = session.execute(
            select(RowRejection.row_number, RowRejection.column, RowRejection.rule).order_by(
                RowRejection.row_number, RowRejection.id
            )
        ).all()
    return [tuple(r) for r in rows]


RAINA = "iaps@raina6.liepaja.example"


def test_a_clean_file_is_stored_and_the_school_told(opened: Context, smtp: SmtpSink) -> None:
    put(opened, "LV-LIE-006", "plani.csv", csv(
        "LV-LIE-006;P-001;7;learning;Uzlabot matemātiku;subject_consultation;mathematics;T-1;4;",
        "LV-LIE-006;P-001;7;learning;Uzlabot matemātiku;meals;;;;45,50",
        "LV-LIE-006;P-002;9;economic;Apmeklēt skolu;transport;;;;30",
    ))  # fmt: skip
    result = collect_plans(SEMESTER.code)
    assert (result["rows_read"], result["rows_accepted"], result["rows_rejected"]) == (3, 3, 0)
    assert result["plans_new"] == 2 and result["reports_queued"] == 1
    with opened.sessions() as session:
        plans = session.scalars(select(Plan).order_by(Plan.id)).all()
        assert [p.status for p in plans] == ["submitted", "submitted"]
        assert [len(p.revisions[0].measures) for p in plans] == [2, 1]
        meals = [m for m in plans[0].revisions[0].measures if m.measure == "meals"]
        assert meals[0].eur_per_month == 45.5
    text_part = report_to(smtp, RAINA)
    assert "plani.csv: 3 rindas, pieņemtas 3, noraidītas 0" in text_part
    assert "Plāni: jauni 2, atjaunoti 0, bez izmaiņām 0." in text_part


def test_legacy_cp1257_with_latvian_headers_and_decimal_comma(
    opened: Context, smtp: SmtpSink
) -> None:
    header = ";".join(["Izglītības iestādes kods", "Skolēna identifikators", "Klase",
                       "Riska grupas", "Plāna mērķis", "Atbalsta pasākums",
                       "Mācību priekšmets", "Pedagoga/speciālista identifikators",
                       "Stundas mēnesī", "EUR mēnesī"])  # fmt: skip
    put(opened, "LV-LIE-006", "vecs_eksports.csv", csv(
        "LV-LIE-006 ; P-ŠĒ1 ;8; Learning ; Mazināt kavējumus; Psychologist ;;T-Ž;2,5;",
        ";;;;;;;;;",
        header=header, encoding="cp1257",
    ))  # fmt: skip
    result = collect_plans(SEMESTER.code)
    assert (result["rows_accepted"], result["rows_rejected"]) == (1, 0)
    with opened.sessions() as session:
        revision = session.scalars(select(PlanRevision)).one()
        assert revision.goal == "Mazināt kavējumus"
        assert revision.measures[0].measure == "psychologist"
        assert revision.measures[0].hours_per_month == 2.5


def test_rejected_rows_are_listed_with_reasons_and_attached(
    opened: Context, smtp: SmtpSink
) -> None:
    put(opened, "LV-LIE-006", "plani.csv", csv(
        "LV-LIE-006;P-001;7;learning;Mērķis;subject_consultation;mathematics;T-1;25;",
        "LV-LIE-006;P-001;7;learning;Mērķis;meals;;;;40",
        "LV-LIE-006;P-002;14;economic;Mērķis;transport;;;;30",
        "LV-LIE-006;P-003;6;family;Mērķis;psychologist;;T-2;3;",
    ))  # fmt: skip
    result = collect_plans(SEMESTER.code)
    assert (result["rows_read"], result["rows_accepted"], result["rows_rejected"]) == (4, 1, 3)
    assert rejections(opened) == [
        (2, "hours_per_month", "hours_over_max"),
        (3, None, "plan_rejected"),
        (4, "grade", "grade_out_of_range"),
    ]
    body = report_to(smtp, RAINA)
    assert "plani.csv, 2. rinda, kolonna “Stundas mēnesī”: " in body
    assert "plani.csv, 4. rinda, kolonna “Klase”: " in body
    message = next(r.message() for r in smtp.received if r.recipients == [RAINA])
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == "noraiditas_rindas_LV-LIE-006_2026-2027-1.csv"
    lines = attachment.get_content().lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Fails;Rinda;Izglītības iestādes kods;Skolēna identifikators")
    assert [line.split(";")[1] for line in lines[1:]] == ["2", "3", "4"]


def test_a_personal_code_is_refused_and_never_kept(opened: Context, smtp: SmtpSink) -> None:
    path = put(opened, "LV-LIE-006", "plani.csv", csv(
        f"LV-LIE-006;{CODE};7;learning;Mērķis;psychologist;;T-1;2;",
        "LV-LIE-006;P-002;7;learning;Mērķis;psychologist;;T-1;2;",
    ))  # fmt: skip
    result = collect_plans(SEMESTER.code)
    assert (result["rows_accepted"], result["rows_rejected"]) == (1, 1)
    assert rejections(opened) == [(2, "pupil_ref", "personal_code")]
    assert "12****-*****" in report_to(smtp, RAINA)
    assert CODE.encode() not in path.read_bytes()  # the inbox copy is masked too
    everything = b"".join(r.data for r in smtp.received)
    assert CODE.encode() not in everything and CODE[:6].encode() not in everything
    with opened.sessions() as session:
        submission = session.scalars(select(Submission)).one()
        assert submission.redacted and CODE.encode() not in (submission.content or b"")
        for table in ("row_rejection", "pupil", "plan_revision", "outbox_message", "audit_log"):
            dump = session.execute(text(f"SELECT * FROM {table}")).all()
            assert CODE not in repr(dump)
    again = collect_plans(SEMESTER.code)
    assert (again["files"], again["skipped"]) == (0, 1)


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("tukss.csv", b"", "tukšs"),
        ("bildes.csv", bytes(range(256)) * 8, "nevar nolasīt"),
        ("salauzts.xlsx", b"PK\x03\x04" + b"\x00" * 64, "bojāts"),
        ("parole.xlsx", OLE2 + b"\x00" * 500 + "EncryptedPackage".encode("utf-16-le"), "parol"),
        ("kolonnas.csv", b"a;b;c\n1;2;3\n", "Izglītības iestādes kods"),
    ],
)  # fmt: skip
def test_a_bad_file_is_reported_and_the_others_go_on(
    opened: Context, smtp: SmtpSink, name: str, content: bytes, problem: str
) -> None:
    put(opened, "LV-LIE-006", name, content)
    put(opened, "LV-LIE-015", "plani.csv", csv(
        "LV-LIE-015;P-1;7;learning;Mērķis;psychologist;;T-1;2;"))  # fmt: skip
    result = collect_plans(SEMESTER.code)
    assert (result["files"], result["unreadable"], result["rows_accepted"]) == (2, 1, 1)
    body = report_to(smtp, RAINA)
    assert f"- {name}: NAV NOLASĀMS — " in body
    assert problem.lower() in body.lower()
    report = report_to(smtp, "iaps@kalpaka15.liepaja.example")
    assert "plani.csv: 1 rinda, pieņemta 1, noraidītas 0" in report
    with opened.sessions() as session:
        stored = session.scalars(select(Submission).where(Submission.filename == name)).one()
        assert stored.status == "unreadable" and stored.content == content


def test_a_file_over_the_size_limit_is_refused_unread(
    settings: Settings, smtp: SmtpSink, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    shutil.copytree(Path(__file__).resolve().parents[2] / "config", config)
    programme = config / "programme.yaml"
    programme.write_text(programme.read_text().replace("max_file_mb: 20", "max_file_mb: 0.001"))
    small = settings.model_copy(update={"config_dir": config, "smtp_port": smtp.port})
    with use_settings(small):
        ctx = load_context(small)
        with ctx.sessions.begin() as session:
            ensure_semester(session, ctx.config, SEMESTER)
        put(ctx, "LV-LIE-006", "liels.csv", csv(*["LV-LIE-006;P-1;7;learning;M;meals;;;;1"] * 200))
        result = collect_plans(SEMESTER.code)
    assert result["unreadable"] == 1
    assert "liels.csv: NAV NOLASĀMS — " in report_to(smtp, RAINA)


def test_resubmission_revises_pending_plans_only(opened: Context, smtp: SmtpSink) -> None:
    put(opened, "LV-LIE-006", "v1.csv", csv(
        "LV-LIE-006;P-001;7;learning;Mērķis;psychologist;;T-1;2;",
        "LV-LIE-006;P-002;7;learning;Mērķis;psychologist;;T-1;2;",
        "LV-LIE-006;P-003;7;learning;Mērķis;psychologist;;T-1;2;",
    ))  # fmt: skip
    collect_plans(SEMESTER.code)
    with opened.sessions.begin() as session:  # P-003 was approved meanwhile
        session.execute(update(Plan).where(Plan.id == 3).values(status=PlanStatus.APPROVED))
    put(opened, "LV-LIE-006", "v2.csv", csv(
        "LV-LIE-006;P-001;7;learning;Mērķis;psychologist;;T-1;2;",
        "LV-LIE-006;P-002;7;learning;Jauns mērķis;psychologist;;T-1;3;",
        "LV-LIE-006;P-003;7;learning;Cits;psychologist;;T-1;9;",
    ))  # fmt: skip
    result = collect_plans(SEMESTER.code)
    assert (result["plans_unchanged"], result["plans_revised"], result["rows_rejected"]) == (
        1,
        1,
        1,
    )
    with opened.sessions() as session:
        plans = session.scalars(select(Plan).order_by(Plan.id)).all()
        assert [(p.status, p.revision, len(p.revisions)) for p in plans] == [
            ("submitted", 1, 1),
            ("submitted", 2, 2),
            ("approved", 1, 1),
        ]
        assert plans[1].revisions[0].goal == "Mērķis"  # history kept
        assert plans[1].revisions[1].goal == "Jauns mērķis"
    assert rejections(opened)[-1] == (4, None, "plan_already_decided")


def test_a_file_in_another_schools_folder_is_rejected(opened: Context, smtp: SmtpSink) -> None:
    put(opened, "LV-LIE-006", "plani.csv", csv(
        "LV-LIE-015;P-001;7;learning;Mērķis;psychologist;;T-1;2;"))  # fmt: skip
    result = collect_plans(SEMESTER.code)
    assert result["rows_rejected"] == 1
    assert rejections(opened) == [(2, "school_code", "wrong_school")]


def test_xlsx_template_rows_are_read(opened: Context, smtp: SmtpSink) -> None:
    import pandas as pd

    from pumpurs.opening.template import build_plan_template

    continuing = pd.DataFrame([{
        "school_code": "LV-LIE-006", "pupil_ref": "P-X1", "grade": 6, "risk_categories": "learning",
        "goal": "Lasītprasme", "measure": "speech_therapist", "subject": None,
        "provider_ref": "L-1", "hours_per_month": 4, "eur_per_month": None}])  # fmt: skip
    content = build_plan_template(opened.config, "LV-LIE-006", SEMESTER, continuing)
    put(opened, "LV-LIE-006", "veidne.xlsx", content)
    result = collect_plans(SEMESTER.code)
    assert (result["rows_read"], result["rows_accepted"]) == (1, 1)


def _manifest_mistakes(manifest: dict) -> dict[tuple[str, int], str]:  # type: ignore[type-arg]
    found = {}
    for item in manifest["files"]:
        if item["kind"] == "plans":
            label = item["path"].split("/", 1)[1].replace("/plans/", "/")
            for mistake in item["mistakes"]:
                found[(label, mistake["row"])] = mistake["rule"]
    return found


def test_a_generated_semester_is_collected_exactly_and_rerun_changes_nothing(
    settings: Settings, smtp: SmtpSink, tmp_path: Path
) -> None:
    generate("small", 5, tmp_path / "data", SEMESTER)
    manifest = json.loads((tmp_path / "data" / "manifest.json").read_text())
    local = settings.model_copy(update={
        "config_dir": tmp_path / "data" / "config", "inbox_dir": tmp_path / "data" / "inbox",
        "smtp_port": smtp.port})  # fmt: skip
    with use_settings(local):
        ctx = load_context(local)
        with ctx.sessions.begin() as session:
            ensure_semester(session, ctx.config, SEMESTER)
        first = collect_plans(SEMESTER.code)
        sent = len(smtp.received)
        second = collect_plans(SEMESTER.code)
    assert first["rows_accepted"] == manifest["valid"]["rows"]
    assert first["plans_new"] == manifest["valid"]["plans"]
    read, accepted, rejected = (count(first, f"rows_{n}") for n in ("read", "accepted", "rejected"))
    assert read == accepted + rejected
    with ctx.sessions() as session:
        rows = session.execute(
            select(Submission.school_folder, Submission.filename, RowRejection.row_number,
                   RowRejection.rule).join(Submission)).all()  # fmt: skip
    rules: dict[tuple[str, int], set[str]] = {}
    for folder, filename, row, rule in rows:
        rules.setdefault((f"{folder}/{filename}", row), set()).add(rule)
    for where, rule in _manifest_mistakes(manifest).items():
        assert rule in rules.get(where, set()) or "duplicate_row" == rule, (
            where,
            rule,
            rules.get(where),
        )
    assert sent == len({f["school_code"] for f in manifest["files"] if f["kind"] == "plans"})
    assert (second["files"], second["rows_read"], len(smtp.received)) == (0, 0, sent)
    with ctx.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Plan)) == first["plans_new"]


def test_task_runs_do_not_grow_with_rows(
    settings: Settings, smtp: SmtpSink, tmp_path: Path
) -> None:
    counts = []
    for scale in ("small", "city"):
        data = tmp_path / scale
        generate(scale, 1, data, SEMESTER)
        local = settings.model_copy(update={
            "config_dir": data / "config", "inbox_dir": data / "inbox", "smtp_port": smtp.port,
            "database_url": f"sqlite:///{tmp_path / scale}.db"})  # fmt: skip
        with use_settings(local):
            ctx = load_context(local)
            with ctx.sessions.begin() as session:
                ensure_semester(session, ctx.config, SEMESTER)
            state = collect_plans(SEMESTER.code, return_state=True)
        assert state.is_completed()
        counts.append((state.state_details.flow_run_id, count(state.result(), "rows_read")))
    (small_run, small_rows), (city_run, city_rows) = counts
    assert city_rows > 3 * small_rows
    small, city = task_runs(small_run), task_runs(city_run)
    assert [name for name, _ in small] == [name for name, _ in city] and len(small) <= 6, city


def _stored(ctx: Context) -> dict[str, list[tuple[object, ...]]]:
    """Return everything a collect stores, as sorted rows free of database ids."""
    queries = {
        "plans": "SELECT s.code, u.ref, p.status, p.revision FROM plan p"
        " JOIN pupil u ON u.id = p.pupil_id JOIN school s ON s.id = p.school_id",
        "revisions": "SELECT s.code, u.ref, r.number, r.grade, r.goal, b.filename"
        " FROM plan_revision r JOIN plan p ON p.id = r.plan_id JOIN pupil u ON u.id = p.pupil_id"
        " JOIN school s ON s.id = p.school_id JOIN submission b ON b.id = r.submission_id",
        "measures": "SELECT u.ref, r.number, m.measure, m.subject, m.provider_ref,"
        " m.hours_per_month, m.eur_per_month FROM plan_measure m"
        " JOIN plan_revision r ON r.id = m.revision_id JOIN plan p ON p.id = r.plan_id"
        " JOIN pupil u ON u.id = p.pupil_id",
        "risks": "SELECT u.ref, r.number, k.category FROM plan_risk k"
        " JOIN plan_revision r ON r.id = k.revision_id JOIN plan p ON p.id = r.plan_id"
        " JOIN pupil u ON u.id = p.pupil_id",
        "rejections": 'SELECT b.school_folder, b.filename, x.row_number, x."column", x.rule,'
        " x.message, x.pupil_ref FROM row_rejection x JOIN submission b ON b.id = x.submission_id",
        "submissions": "SELECT school_folder, filename, status, problem, rows_read, rows_accepted,"
        " rows_rejected, sha256, redacted FROM submission",
        "mail": "SELECT m.kind, m.recipient, m.dedupe_key, m.subject, m.body_text, a.filename,"
        " a.content FROM outbox_message m LEFT JOIN outbox_attachment a ON a.message_id = m.id",
    }
    with ctx.sessions() as session:
        return {
            name: sorted((tuple(_unlinked(v) for v in row)
                          for row in session.execute(text(sql)).all()), key=repr)
            for name, sql in queries.items()
        }  # fmt: skip


def _unlinked(value: object) -> object:
    """Return a value with school page links cut to their path (their nonces are random)."""
    return SCHOOL_LINK.sub("/s/…", value) if isinstance(value, str) else value


def test_a_semester_in_many_chunks_is_stored_as_in_one(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    from dataclasses import asdict

    import pumpurs.intake.collect
    from pumpurs.store import db

    data = tmp_path / "data"
    generate("small", 7, data, SEMESTER)
    s1, s2, s3 = sorted({s.name for s in (data / "inbox" / SEMESTER.folder).iterdir()})[:3]

    def write(inbox: Path, school: str, name: str, *rows: str, mtime: int | None = None) -> None:
        path = inbox / SEMESTER.folder / school / "plans" / name
        path.write_bytes(csv(*rows) if rows else b"")
        if mtime is not None:
            os.utime(path, (mtime, mtime))

    meals = "7;learning;Mērķis;meals;;;;40"
    # Rows naming another school are rejected for it, and nothing more: they make no pupil of
    # that school (or of another folder naming the same unknown code) a second file's, so
    # schools can be checked apart, whatever the chunk size.
    first_round = [
        (s1, "tie_a.csv", (f"{s2};P-TIE1;{meals}", f"LV-ZZZ-999;P-TIE2;{meals}"), 1_000_000),
        (s2, "tie_b.csv", (f"{s2};P-TIE1;{meals}", f"{s2};P-OWN;8;family;Mērķis;transport;;;;30"),
         1_000_001),
        (s3, "tie_c.csv", (f"LV-ZZZ-999;P-TIE2;{meals}",), 1_000_002),
        (s3, "tukss.csv", (), 1_000_003),
        (s1, "round1.csv", (f"{s1};P-REV;{meals}", f"{s1};P-SAME;{meals}",
                            f"{s1};P-DEC;{meals}"), None),
    ]  # fmt: skip
    second_round = (f"{s1};P-REV;7;learning;Jauns mērķis;meals;;;;40", f"{s1};P-SAME;{meals}",
                    f"{s1};P-DEC;{meals}")  # fmt: skip
    parts: list[list[str]] = []
    real_part = pumpurs.intake.collect._collect_part

    def counted_part(*args: Any) -> Any:
        parts.append([f.label for f in args[5]])
        return real_part(*args)

    def run(name: str, chunk_rows: int) -> tuple[list[dict[str, Any]], dict[str, list[Any]]]:
        url = settings.database_url or ""
        if url.startswith("sqlite"):
            url = f"sqlite:///{tmp_path / name}.db"
        else:  # one PostgreSQL database: start it afresh
            with db.engine_for(url).begin() as connection:
                connection.exec_driver_sql("DROP SCHEMA public CASCADE")
                connection.exec_driver_sql("CREATE SCHEMA public")
        inbox = tmp_path / name / "inbox"
        shutil.copytree(data / "inbox", inbox)  # collect masks personal codes in place
        for school, filename, rows, mtime in first_round:
            write(inbox, school, filename, *rows, mtime=mtime)
        local = settings.model_copy(update={"config_dir": data / "config", "inbox_dir": inbox,
                                            "database_url": url})  # fmt: skip
        monkeypatch.setattr(pumpurs.intake.collect, "CHUNK_ROWS", chunk_rows)
        reports = []
        with use_settings(local):
            ctx = load_context(local)
            with ctx.sessions.begin() as session:
                stored = StoredSemester.of(ensure_semester(session, ctx.config, SEMESTER)[0])
            collect = pumpurs.intake.collect.collect_in_chunks
            reports.append(asdict(collect(ctx.sessions, ctx.config, local, stored)))
            with ctx.sessions.begin() as session:
                decided = select(Plan.id).join(Pupil).where(Pupil.ref == "P-DEC")
                session.execute(
                    update(Plan).where(Plan.id.in_(decided)).values(status=PlanStatus.APPROVED)
                )
            write(inbox, s1, "round2.csv", *second_round)
            reports.append(asdict(collect(ctx.sessions, ctx.config, local, stored)))
            return reports, _stored(ctx)

    monkeypatch.setattr(pumpurs.intake.collect, "_collect_part", counted_part)
    one_reports, one_stored = run("one", 1_000_000)
    assert len(parts) == 2  # one part per run
    parts.clear()
    many_reports, many_stored = run("many", 1)
    assert len(parts) > 5
    assert all(len({label.split("/")[0] for label in part}) == 1 for part in parts)

    assert many_reports == one_reports
    assert many_stored == one_stored
    first, second = one_reports
    assert first["files"] == second["skipped"] and second["files"] == 1
    assert (second["plans_revised"], second["plans_unchanged"]) == (1, 1)
    rules = {(r[1], r[2], r[4]) for r in one_stored["rejections"]}
    assert ("round2.csv", 4, "plan_already_decided") in rules
    assert not {rule for rule in rules if rule[2] == "pupil_in_two_files"}
    assert {("tie_a.csv", 2, "wrong_school"), ("tie_a.csv", 3, "unknown_school"),
            ("tie_c.csv", 2, "unknown_school")} <= rules  # fmt: skip
    assert [p["file"] for p in first["file_problems"]] == ["tukss.csv"]


KALPAKS = "iaps@kalpaka15.liepaja.example"


def test_one_school_is_read_alone_and_with_nothing_new_gets_its_report_again(
    opened: Context, smtp: SmtpSink
) -> None:
    put(opened, "LV-LIE-006", "plani.csv", csv(
        "LV-LIE-006;P-001;7;learning;Uzlabot matemātiku;psychologist;;S-1;2;",
    ))  # fmt: skip
    put(opened, "LV-LIE-015", "plani.csv", csv(
        "LV-LIE-015;P-101;8;family;Apmeklēt skolu;transport;;;;30",
    ))  # fmt: skip
    first = collect_plans(SEMESTER.code, school="lv-lie-006")  # any case, as typed
    assert (first["files"], first["plans_new"], first["reports_queued"]) == (1, 1, 1)
    assert (first["reports_resent"], first["mail_sent"]) == (0, 1)
    assert [r.recipients for r in smtp.received] == [[RAINA]]  # the other school is not read
    with opened.sessions() as session:
        assert session.scalars(select(Submission.school_folder)).all() == ["LV-LIE-006"]

    again = collect_plans(SEMESTER.code, school="LV-LIE-006")  # nothing new: the report again
    assert (again["files"], again["skipped"], again["reports_queued"]) == (0, 1, 0)
    assert (again["reports_resent"], again["mail_sent"]) == (1, 1)
    assert [r.recipients for r in smtp.received] == [[RAINA], [RAINA]]
    sent, resent = (r.message() for r in smtp.received)
    assert resent["Subject"] == sent["Subject"]
    assert resent.get_body(("plain",)).get_content() == (  # type: ignore[union-attr]
        sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    )

    rest = collect_plans(SEMESTER.code)  # the daily run takes the other school's file
    assert (rest["files"], rest["skipped"], rest["mail_sent"]) == (1, 1, 1)
    assert smtp.received[-1].recipients == [KALPAKS]


def test_a_school_not_in_the_configuration_is_refused_before_anything(
    opened: Context, smtp: SmtpSink
) -> None:
    put(opened, "LV-LIE-006", "plani.csv", csv(
        "LV-LIE-006;P-001;7;learning;Uzlabot matemātiku;psychologist;;S-1;2;",
    ))  # fmt: skip
    with pytest.raises(UserError) as refused:
        collect_plans(SEMESTER.code, school="LV-XXX-001")
    assert refused.value.render("lv") == (
        "Konfigurācijā (schools.yaml) nav skolas ar kodu “LV-XXX-001”."
    )
    assert smtp.received == []
    with opened.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 0
