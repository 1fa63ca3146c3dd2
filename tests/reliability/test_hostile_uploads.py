"""Hostile uploads through a school's page, over real HTTP into a real store: every one gets an
answer and an audit row, and then collect stores each file the page kept exactly once."""

from __future__ import annotations

import datetime as dt
import io
import random
import threading
import zipfile
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import time_machine
from sqlalchemy import select

from pumpurs.intake.collect import collect
from pumpurs.intake.inbox import kept_checksum
from pumpurs.opening.links import issue_link, school_url
from pumpurs.semester import SemesterCode
from pumpurs.store.context import Context
from pumpurs.store.models import Plan, SchoolUpload, Submission
from pumpurs.store.reference import StoredSemester, ensure_semester
from tests.app.web.conftest import csrf_of, serve
from tests.reliability.tally import Tally

pytestmark = pytest.mark.reliability
SEMESTER = SemesterCode.parse("2026/2027-1")
SCHOOL = "LV-LIE-006"
IN_WINDOW = dt.datetime(2026, 9, 10, 9, 0, tzinfo=dt.UTC)
HEADER = (
    "school_code;pupil_ref;grade;risk_categories;goal;measure;subject;provider_ref;"
    "hours_per_month;eur_per_month"
)
ROWS = [
    f"{SCHOOL};P-{n:03d};7;learning;Mērķis {n};subject_consultation;mathematics;T-1;4;"
    for n in range(1, 40)
]
NAMES = ["plani.csv", "../../../etc/passwd.csv", "C:\\skola\\plani.xlsx", "pl\x00\x1b\nani.csv",
         "..\\x.csv", ".slepens.csv", "~$plani.csv", "120309-12345.csv", "a" * 400 + ".csv",
         "plani.exe", "plani.pdf", "plani", "plāni ar garumzīmēm.CSV", "plani.xlsx"]  # fmt: skip
SPOILERS = ["120309-12345", "99", "yoga", "", "13", "320000-00000", "ā" * 40, ";;;;"]


def csv(rows: list[str]) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode("utf-8")


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"<x/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (60 << 20))
    return out.getvalue()


def hostile(rng: random.Random, count: int) -> list[tuple[str, bytes]]:
    """Return uploads as a careless or hostile sender makes them: junk, cut short, spoilt."""
    uploads: list[tuple[str, bytes]] = [
        ("bomba.xlsx", zip_bomb()),
        ("tukss.csv", b""),
        ("atstarpes.csv", b" \r\n\t\n"),
        ("vecs.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)),
        ("salauzts.xlsx", b"PK\x03\x04" + bytes(rng.randrange(256) for _ in range(300))),
    ]
    for _ in range(count):
        shape = rng.randrange(4)
        rows = rng.sample(ROWS, rng.randrange(1, 6))
        if shape == 0:  # binary junk
            content = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000)))
        elif shape == 1:  # a good file cut short, as a failed upload leaves it
            whole = csv(rows)
            content = whole[: rng.randrange(1, len(whole) + 1)]
        elif shape == 2:  # cells spoilt
            spoilt = [r.replace("4;", rng.choice(SPOILERS) + ";", 1) for r in rows]
            content = csv(spoilt)
        else:
            content = csv(rows)
        uploads.append((rng.choice(NAMES), content))
    same = csv(ROWS[:3])
    uploads += [("vienads.csv", same), ("vienads (1).csv", same)]  # the same file twice
    return uploads


@pytest.fixture
def page(context: Context) -> Iterator[tuple[Context, StoredSemester, str]]:
    with time_machine.travel(IN_WINDOW, tick=True):
        with context.sessions.begin() as session:
            row, _ = ensure_semester(session, context.config, SEMESTER)
            semester = StoredSemester.of(row)
            nonce = issue_link(session, semester, SCHOOL)
        with serve(context.settings) as server:
            path = school_url(context.settings, nonce).removeprefix(context.settings.base_url)
            yield context, semester, f"{server.url}{path}"


def send(url: str, name: str, content: bytes) -> int:
    with httpx.Client(timeout=60) as http:
        token = csrf_of(http.get(url).text)
        sent = {"file": (name, content, "application/octet-stream")}
        response = http.post(f"{url}/upload", data={"csrf": token, "kind": "plans"}, files=sent)
        assert "Traceback" not in response.text
        assert response.status_code in (200, 422), (name, response.status_code)
        return response.status_code


def test_hostile_uploads_lose_no_file_and_store_none_twice(
    page: tuple[Context, StoredSemester, str], tally: Tally
) -> None:
    ctx, semester, url = page
    rng = random.Random(20260910)
    uploads = hostile(rng, 60)
    for name, content in uploads:
        send(url, name, content)
    # Two tabs at once, twice over: the same file from both, and two different files.
    together = [("tab.csv", csv(ROWS[10:13]))] * 3 + [("tab.csv", csv(ROWS[20:22]))] * 3
    barrier = threading.Barrier(len(together))

    def tab(name: str, content: bytes) -> None:
        barrier.wait()
        send(url, name, content)

    threads = [threading.Thread(target=tab, args=item) for item in together]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tried = len(uploads) + len(together)
    for _ in range(2):  # the scheduled run, then a second one: nothing new
        with ctx.sessions.begin() as session:
            collect(session, ctx.config, ctx.settings, semester)
    with ctx.sessions() as session:
        audit = session.execute(select(SchoolUpload.outcome, SchoolUpload.sha256)).all()
        stored = Counter(session.scalars(select(Submission.sha256)).all())
        plans = Counter(session.scalars(select(Plan.pupil_id)).all())
    kept = {sha for outcome, sha in audit if outcome in ("kept", "duplicate")}
    folder = ctx.settings.effective_inbox_dir / SEMESTER.folder / SCHOOL / "plans"
    in_inbox = Counter(
        kept_checksum(p.read_bytes())[0] for p in folder.iterdir() if not p.name.startswith(".")
    )
    lost = len(kept - set(stored)) + max(0, tried - len(audit))  # an upload without a record
    twice = sum(n - 1 for n in stored.values()) + sum(n - 1 for n in in_inbox.values())
    twice += sum(n - 1 for n in plans.values())
    tally.uploaded(tried, lost, twice)
    outcomes = Counter(outcome for outcome, _ in audit)
    assert {"kept", "duplicate", "zip_bomb", "empty", "wrong_type", "unreadable"} <= set(outcomes)
    assert (lost, twice) == (0, 0)
    assert len(audit) == tried
