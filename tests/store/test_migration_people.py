"""Migration 0002: a database written before it kept the plain SHA-256 of a school's unmasked
file (and its first 12 characters in the report email's dedupe key). After the upgrade no
stored value is that checksum or a piece of it, and the masked file in the inbox (or the
school's original sent again) is not read a second time."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from alembic import command
from sqlalchemy import inspect, text

from pumpurs.intake.collect import collect
from pumpurs.privacy import redact_bytes
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store import db
from pumpurs.store.context import load_context, use_settings
from pumpurs.store.reference import stored_semester

SEMESTER = SemesterCode.parse("2026/2027-1")
SCHOOL = "LV-LIE-006"
ORIGINAL = (
    "school_code;pupil_ref;grade;risk_categories;goal;measure;subject;provider_ref;"
    "hours_per_month;eur_per_month\n"
    f"{SCHOOL};150408-10101;7;learning;Mērķis;psychologist;;T-1;2;\n"
).encode()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_upgrade_leaves_no_checksum_of_an_unmasked_file(settings: Settings) -> None:
    url = settings.effective_database_url
    command.upgrade(db.alembic_config(url), "0001")
    kept = redact_bytes(ORIGINAL)
    assert kept != ORIGINAL
    plain, masked = sha(ORIGINAL), sha(kept)
    now = dt.datetime(2026, 9, 20, 8, 0)
    with db.engine_for(url).begin() as connection:

        def add(sql: str, **values: object) -> int:
            found: int = connection.execute(text(sql + " RETURNING id"), values).scalar_one()
            return found

        region = add(
            "INSERT INTO region (code, name, coordinator_email, escalation_email) "
            "VALUES ('kurzeme', 'K', 'k@kurzeme.example', 'e@ikvd.example')"
        )
        town = add(
            "INSERT INTO municipality (code, name, region_id) VALUES ('liepaja', 'L', :r)", r=region
        )
        school = add(
            "INSERT INTO school (code, name, municipality_id, coordinator_email, "
            "vocational) VALUES (:code, 'R', :m, 'iaps@raina6.liepaja.example', false)",
            code=SCHOOL,
            m=town,
        )
        semester = add(
            "INSERT INTO semester (code, starts_on, submission_deadline, ends_on, "
            "evaluation_deadline, opened_at) VALUES (:code, '2026-09-01', "
            "'2026-09-22', '2026-12-22', '2027-01-05', :now)",
            code=SEMESTER.code,
            now=now,
        )
        add(
            "INSERT INTO submission (semester_id, school_folder, school_id, kind, filename, "
            "sha256, kept_sha256, redacted, size, content, received_at, status, rows_read, "
            "rows_accepted, rows_rejected) VALUES (:sem, :folder, :school, 'plans', "
            "'plani.csv', :plain, :masked, true, :size, :content, :now, 'ingested', 1, 0, 1)",
            sem=semester,
            folder=SCHOOL,
            school=school,
            plain=plain,
            masked=masked,
            size=len(ORIGINAL) + 3,
            content=kept,
            now=now,
        )
        add(
            "INSERT INTO outbox_message (dedupe_key, kind, recipient, subject, body_text, "
            "body_html, message_id, status, attempts, created_at) VALUES (:key, "
            "'collect_report', 'iaps@raina6.liepaja.example', 's', 'b', 'h', '<m@x>', 'sent', "
            "1, :now)",
            key=f"collect-report:{SEMESTER.code}:{SCHOOL}:{plain[:12]}",
            now=now,
        )
        pupil = add("INSERT INTO pupil (school_id, ref) VALUES (:school, 'P-1')", school=school)
        plan = add(
            "INSERT INTO plan (semester_id, school_id, pupil_id, status, revision, "
            "created_at, updated_at) VALUES (:sem, :school, :pupil, 'submitted', 1, :now, "
            ":now)",
            sem=semester,
            school=school,
            pupil=pupil,
            now=now,
        )
        add("INSERT INTO approval_step (plan_id, revision, step_index, role, approver_email, "
            "status, created_at, notified_at) VALUES (:plan, 1, 0, 'regional_coordinator', "
            "'k@kurzeme.example', 'pending', :now, :now)", plan=plan, now=now)  # fmt: skip

    db.upgrade(url)

    assert db.is_current(url)
    engine = db.engine_for(url)
    assert "kept_sha256" not in {c["name"] for c in inspect(engine).get_columns("submission")}
    with engine.connect() as connection:
        row = connection.execute(text("SELECT sha256, size, redacted FROM submission")).one()
        assert tuple(row) == (masked, len(kept), True)
        key = connection.execute(text("SELECT dedupe_key FROM outbox_message")).scalar_one()
        assert key == f"collect-report:{SEMESTER.code}:{SCHOOL}:{masked[:12]}"
        assert connection.execute(text("SELECT notified_to FROM approval_step")).scalar_one() == (
            "k@kurzeme.example"
        )
        found = []
        for table in inspect(connection).get_table_names():
            for values in connection.execute(text(f'SELECT * FROM "{table}"')):
                for value in values:
                    if isinstance(value, str) and plain[:12] in value:
                        found.append(table)
    assert found == []

    # The masked file in the inbox, and the school's original sent again, are not read again.
    inbox = settings.effective_inbox_dir / SEMESTER.folder / SCHOOL / "plans"
    inbox.mkdir(parents=True)
    (inbox / "plani.csv").write_bytes(kept)
    (inbox / "plani (1).csv").write_bytes(ORIGINAL)
    with use_settings(settings):
        ctx = load_context(settings)
        with ctx.sessions.begin() as session:
            report = collect(session, ctx.config, settings, stored_semester(session, SEMESTER))
    assert (report.files, report.skipped) == (0, 2)
    assert (inbox / "plani (1).csv").read_bytes() == ORIGINAL  # unread, so untouched


def test_the_downgrade_keeps_no_plain_checksum_either(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'down.db'}"
    db.upgrade(url)
    command.downgrade(db.alembic_config(url), "0001")
    engine = db.engine_for(url)
    assert "kept_sha256" in {c["name"] for c in inspect(engine).get_columns("submission")}
    assert "page_view" not in inspect(engine).get_table_names()
    db.upgrade(url)
    assert db.is_current(url)
