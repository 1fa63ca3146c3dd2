"""A semester run fed with personal codes, in pupil references and in goal, provider and comment
fields, in CSV and XLSX files: afterwards no such value is found anywhere the run wrote to.

Searched: every table and column of the database (text, JSON and binary, with workbooks
unzipped), the database files themselves, the Python and Prefect log output of the run, what
Prefect stored of its runs (logs, artifacts, states), every email at the SMTP server (raw, and
each part and attachment decoded), and every file under the run's var/ and inbox folders.

Nor is the SHA-256 of a school's unmasked file, or any 12 characters of it: the mask leaves two
digits of a code, and such a checksum would let the rest be found by trying every code.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import io
import json
import logging
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
import time_machine
from prefect.client.orchestration import get_client
from sqlalchemy import inspect, text

from flows.collect_plans import collect_plans
from flows.evaluate_semester import evaluate_semester
from flows.open_semester import open_semester
from flows.route_approvals import route_approvals
from pumpurs.approvals import pending_url
from pumpurs.mail.sink import SmtpSink
from pumpurs.privacy import mask, redact_bytes
from pumpurs.settings import Settings
from pumpurs.store.context import Context, load_context, use_settings
from tests.app.web.conftest import csrf_of, serve
from tests.approvals.factory import KURZEME
from tests.conftest import REPO
from tests.reliability.conftest import SQLITE_ONLY
from tests.reliability.tally import Tally

pytestmark = [pytest.mark.reliability, pytest.mark.usefixtures("prefect_harness"), SQLITE_ONLY]
SEMESTER = "2026/2027-1"
RAINA, KALPAKA = "LV-LIE-006", "LV-LIE-015"
BEFORE_DEADLINE = dt.datetime(2026, 12, 28, 8, tzinfo=dt.UTC)
# Personal-code shapes, old (DDMMYY-NNNNN) and new (32NNNN-NNNNN), with and without the hyphen.
CODES = ["150408-10101", "020711-20202", "311299-30303", "32051234567", "280305 40404",
         "250190-50505", "060606-60606", "320777-70707"]  # fmt: skip
PLAN_HEADER = ("school_code;pupil_ref;grade;risk_categories;goal;measure;subject;provider_ref;"
               "hours_per_month;eur_per_month")  # fmt: skip
EVALUATION_HEADER = ("school_code;pupil_ref;measure;subject;delivered_hours;spent_eur;outcome;"
                     "continue;comment")  # fmt: skip


def shapes(code: str) -> list[str]:
    """Return the ways the code could be written out: with a hyphen, a space, or neither."""
    digits = re.sub(r"\D", "", code)
    return [f"{digits[:6]}-{digits[6:]}", f"{digits[:6]} {digits[6:]}", digits]


NEEDLES = [shape for code in CODES for shape in shapes(code)]
MASKED = {code: mask(code) for code in CODES}  # what may be shown: 15****-*****
NEEDLE_BYTES = [
    needle.encode(encoding) for needle in NEEDLES for encoding in ("utf-8", "utf-16-le")
]


def find(data: bytes | str, where: str, found: list[str]) -> None:
    """Record where any code appears in text or bytes; look inside zips (workbooks) too."""
    if isinstance(data, str):
        found += [f"{where}: {n}" for n in NEEDLES if n in data]
        return
    found += [f"{where}: {n!r}" for n in NEEDLE_BYTES if n in data]
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for member in archive.namelist():
                    find(archive.read(member), f"{where}!{member}", found)
        except zipfile.BadZipFile:
            pass


class Checksums:
    """The SHA-256 of each unmasked file a school sent: as hex (and every 12 characters of it)
    and as raw bytes."""

    def __init__(self, folder: Path) -> None:
        originals = [p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()]
        with_codes = [data for data in originals if redact_bytes(data) != data]
        assert len(with_codes) == len(originals) == 4
        digests = [hashlib.sha256(data) for data in with_codes]
        self.hex = {d.hexdigest()[i : i + 12] for d in digests for i in range(0, 53)}
        self.raw = [d.digest() for d in digests]

    def find(self, data: bytes | str, where: str, found: list[str]) -> None:
        """Record where a checksum of an unmasked file (or a piece of one) appears."""
        text = data if isinstance(data, str) else data.decode("latin-1")
        found += [f"{where}: sha256 …{piece}…" for piece in self.hex if piece in text]
        if isinstance(data, bytes):
            found += [f"{where}: raw sha256" for digest in self.raw if digest in data]


def xlsx(rows: list[list[Any]]) -> bytes:
    """Return a workbook with these rows on its first sheet."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def put(settings: Settings, school: str, kind: str, name: str, content: bytes) -> None:
    folder = settings.effective_inbox_dir / SEMESTER.replace("/", "-") / school / kind
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)


def plan_files(settings: Settings) -> None:
    """Write plan drafts: clean plans, and codes as pupil, in a goal and as a provider."""
    put(settings, RAINA, "plans", "plani.csv", "\n".join([
        PLAN_HEADER,
        "LV-LIE-006;P-PRIV1;7;learning;Uzlabot sekmes;psychologist;;T-1;2;",
        "LV-LIE-006;P-PRIV2;8;economic;Apmeklēt skolu;meals;;;;40",
        f"LV-LIE-006;{CODES[0]};7;learning;Mērķis;psychologist;;T-1;2;",
        f"LV-LIE-006;P-PRIV3;7;learning;Skolēna kods {CODES[1]};psychologist;;T-1;2;",
        f"LV-LIE-006;P-PRIV4;9;family;Mērķis;psychologist;;{CODES[2]};2;",
    ]).encode("utf-8"))  # fmt: skip
    put(settings, KALPAKA, "plans", "plani.xlsx", xlsx([
        PLAN_HEADER.split(";"),
        ["LV-LIE-015", "P-PRIV5", 6, "learning", "Matemātika", "subject_consultation",
         "mathematics", "T-9", 4, None],
        ["LV-LIE-015", int(CODES[3]), 6, "learning", "Mērķis", "meals", None, None, None, 30],
        ["LV-LIE-015", "P-PRIV6", 6, "learning", f"kods {CODES[4]}", "meals", None, None, None,
         30],
    ]))  # fmt: skip


def evaluation_files(settings: Settings) -> None:
    """Write evaluations: codes in a comment and as a pupil, in CSV and XLSX."""
    put(settings, RAINA, "evaluation", "izvertejums.csv", "\n".join([
        EVALUATION_HEADER,
        f"LV-LIE-006;P-PRIV1;psychologist;;8;;improved;jā;Skat. {CODES[5]} kartiņu",
        "LV-LIE-006;P-PRIV2;meals;;;150;improved;nē;",
        f"LV-LIE-006;{CODES[7]};meals;;;150;improved;nē;",
    ]).encode("cp1257"))  # fmt: skip
    put(settings, KALPAKA, "evaluation", "izvertejums.xlsx", xlsx([
        EVALUATION_HEADER.split(";"),
        ["LV-LIE-015", "P-PRIV5", "subject_consultation", "mathematics", 12, None, "improved",
         "nē", f"kods {CODES[6]}"],
    ]))  # fmt: skip


class Recorder(logging.Handler):
    """Keep every log record's text, its traceback included."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """Record the Python and Prefect logging of the test, at every level."""
    handler = Recorder()
    loggers = [logging.getLogger(), logging.getLogger("prefect"), logging.getLogger("uvicorn")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield handler
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def approve_everything(ctx: Context) -> int:
    """Approve every plan waiting for Kurzeme's coordinator on the pending page; return how many."""
    with serve(ctx.settings) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        path = pending_url(ctx.settings, KURZEME).removeprefix(ctx.settings.base_url)
        page = http.get(path).text
        steps = re.findall(r'name="step" value="(\d+)"', page)
        done = http.post(path, data={"csrf": csrf_of(page), "step": steps})
        assert done.status_code == 200
    return len(steps)


def prefect_records(flow_run_ids: list[str]) -> list[tuple[str, str]]:
    """Return what Prefect keeps of these runs: runs, task runs, logs and artifacts, as JSON."""
    runs = {"any_": flow_run_ids}
    queries: dict[str, tuple[Any, dict[str, Any]]] = {
        "flow runs": ("/flow_runs/filter", {"flow_runs": {"id": runs}}),
        "task runs": ("/task_runs/filter", {"flow_runs": {"id": runs}}),
        "logs": ("/logs/filter", {"logs": {"flow_run_id": runs}}),
        "artifacts": ("/artifacts/filter", {"artifacts": {"flow_run_id": runs}}),
    }
    found = []
    with get_client(sync_client=True) as client:
        for name, (route, body) in queries.items():
            offset = 0
            while True:
                query = {**body, "limit": 200, "offset": offset}
                page = client.request("POST", route, json=query).json()
                found += [
                    (f"prefect {name}", json.dumps(item, ensure_ascii=False)) for item in page
                ]
                if len(page) < 200:
                    break
                offset += 200
    assert any(name == "prefect artifacts" for name, _ in found)
    return found


def message_parts(raw: bytes) -> Iterator[bytes]:
    """Yield the decoded payload of every part of a message (text, HTML, attachments)."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            yield payload
    for header in ("Subject", "To", "From"):
        yield str(message.get(header, "")).encode()


def test_personal_codes_fed_to_a_run_are_found_nowhere_afterwards(
    settings: Settings,
    smtp: SmtpSink,
    tmp_path: Path,
    tally: Tally,
    recorder: Recorder,
    capfd: pytest.CaptureFixture[str],
) -> None:
    local = settings.model_copy(update={
        "database_url": None, "inbox_dir": tmp_path / "inbox", "config_dir": REPO / "config",
        "smtp_host": smtp.host, "smtp_port": smtp.port})  # fmt: skip
    plan_files(local)
    evaluation_files(local)
    checksums = Checksums(local.effective_inbox_dir)
    tally.tried(len(CODES))
    runs = []
    with use_settings(local):
        ctx = load_context(local)
        for flow in (open_semester, collect_plans, route_approvals):
            state = flow(SEMESTER, return_state=True)
            assert state.is_completed(), state.message
            runs.append(str(state.state_details.flow_run_id))
        assert approve_everything(ctx) == 3  # P-PRIV1, P-PRIV2 and P-PRIV5: none with a code
        with time_machine.travel(BEFORE_DEADLINE, tick=True):
            state = evaluate_semester(SEMESTER, return_state=True)
        assert state.is_completed(), state.message
        runs.append(str(state.state_details.flow_run_id))
    outputs = capfd.readouterr()
    found: list[str] = []
    # The database, table by table and column by column.
    engine = ctx.sessions.kw["bind"]
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')).mappings():
                for column, value in row.items():
                    if isinstance(value, dict | list):
                        value = json.dumps(value, ensure_ascii=False)
                    if isinstance(value, str | bytes):
                        find(value, f"db {table}.{column}", found)
                        checksums.find(value, f"db {table}.{column}", found)
    # Logs, Prefect's records of the runs, and the mail as the server received it.
    for search in (find, checksums.find):
        search("\n".join(recorder.lines), "python logging", found)
        search(outputs.out + outputs.err, "stdout/stderr", found)
        for where, record in prefect_records(runs):
            search(record, where, found)
        for number, received in enumerate(smtp.received):
            search(received.data, f"mail {number} raw", found)
            for part in message_parts(received.data):
                search(part, f"mail {number} part", found)
        # Every file the run left: the database files, the kept and masked inbox files.
        for folder in (local.var_dir, local.effective_inbox_dir):
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                search(path.read_bytes(), f"file {path.relative_to(tmp_path)}", found)
    assert found == []
    # The codes did go through the run: each was refused, and is quoted masked to its school.
    mail = "\n".join(
        part.decode("utf-8", "replace") for r in smtp.received for part in message_parts(r.data)
    )
    assert [code for code, masked in MASKED.items() if masked not in mail] == []
    assert len(smtp.received) >= 9 + 2 + 1 and len(recorder.lines) > 50
