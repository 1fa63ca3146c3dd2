"""A school's page over real HTTP: shows, downloads, uploads with a CSRF token, refuses links."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import time_machine
from openpyxl import load_workbook
from sqlalchemy import func, select

from pumpurs.app.web.app import create_app
from pumpurs.opening.links import issue_link, school_url
from pumpurs.semester import SemesterCode
from pumpurs.store.context import Context
from pumpurs.store.models import PageView, Plan, PlanStatus, SchoolLink, SchoolUpload
from pumpurs.store.reference import StoredSemester, ensure_semester
from tests.app.web.conftest import csrf_of
from tests.approvals.factory import submitted_plan

SEMESTER = SemesterCode.parse("2026/2027-1")
SCHOOL = "LV-LIE-006"
# 10 September 2026: in the submission window (deadline 22 September), noon in Riga.
IN_WINDOW = dt.datetime(2026, 9, 10, 9, 0, tzinfo=dt.UTC)
HEADER = (
    "school_code;pupil_ref;grade;risk_categories;goal;measure;subject;provider_ref;"
    "hours_per_month;eur_per_month"
)
GOOD = f"{SCHOOL};P-101;7;learning;Uzlabot matemātiku;subject_consultation;mathematics;T-1;4;"
BAD = f"{SCHOOL};120309-12345;8;learning;Mērķis;subject_consultation;mathematics;T-1;99;"


def csv(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode("utf-8")


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.fixture(autouse=True)
def in_window() -> Iterator[None]:
    with time_machine.travel(IN_WINDOW, tick=True):
        yield


@pytest.fixture
def semester(context: Context) -> StoredSemester:
    with context.sessions.begin() as session:
        row, _ = ensure_semester(session, context.config, SEMESTER)
        return StoredSemester.of(row)


@pytest.fixture
def path(context: Context, semester: StoredSemester) -> str:
    with context.sessions.begin() as session:
        nonce = issue_link(session, semester, SCHOOL)
    return school_url(context.settings, nonce).removeprefix(context.settings.base_url)


def post(client: httpx.Client, path: str, content: bytes, name: str = "plani.csv",
         kind: str = "plans", token: str | None = None) -> httpx.Response:  # fmt: skip
    token = token if token is not None else csrf_of(client.get(path).text)
    return client.post(f"{path}/upload", data={"csrf": token, "kind": kind},
                       files={"file": (name, content, "text/csv")})  # fmt: skip


def inbox(context: Context) -> list[Path]:
    folder = context.settings.effective_inbox_dir / SEMESTER.folder / SCHOOL / "plans"
    return sorted(p for p in folder.glob("*") if not p.name.startswith("."))


def uploads(context: Context) -> list[tuple[str, str | None, int]]:
    with context.sessions() as session:
        rows = session.execute(
            select(SchoolUpload.outcome, SchoolUpload.sha256, SchoolUpload.rows_rejected)
        ).all()
        return [tuple(row) for row in rows]


def test_the_page_shows_the_school_deadline_and_plans_and_changes_nothing(
    context: Context, client: httpx.Client, semester: StoredSemester, path: str
) -> None:
    plan_id = submitted_plan(context, SCHOOL, "P-SHOWN")
    page = client.get(path)
    assert page.status_code == 200
    shown = text(page.text)
    assert "Semestris 2026/2027-1" in shown and SCHOOL in shown
    assert (
        "Plāni jāiesniedz līdz 22.09.2026. Atlikušas" in shown
        and ".." not in shown
        and "Atlikušas 12 dienas." in shown
    )
    assert "P-SHOWN" in shown and "iesniegts" in shown
    assert 'enctype="multipart/form-data"' in page.text
    assert "evaluation-form" not in page.text  # not in the evaluation window yet
    with context.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SchoolUpload)) == 0
        views = session.scalars(select(PageView.plan_ids)).all()
        assert views == [f",{plan_id},"]  # the access audit, as the plan page keeps it
    assert inbox(context) == []


def test_the_template_has_the_returned_plans_rows(
    context: Context, client: httpx.Client, semester: StoredSemester, path: str
) -> None:
    returned = submitted_plan(context, SCHOOL, "P-BACK")
    submitted_plan(context, SCHOOL, "P-FINE")
    with context.sessions.begin() as session:
        plan = session.get(Plan, returned)
        assert plan is not None
        plan.status = PlanStatus.RETURNED
    response = client.get(f"{path}/template.xlsx")
    assert response.status_code == 200
    assert "IAP_veidne_LV-LIE-006_2026-2027-1.xlsx" in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    refs = {str(cell.value) for cell in sheet["B"] if cell.value}
    assert "P-BACK" in refs and "P-FINE" not in refs


def test_an_upload_with_mistakes_shows_every_rejected_row_and_is_kept(
    context: Context, client: httpx.Client, semester: StoredSemester, path: str
) -> None:
    response = post(client, path, csv(GOOD, BAD))
    assert response.status_code == 200
    shown = text(response.text)
    assert "Nolasītas 2 rindas" in shown
    assert "12****-*****" in shown and "120309-12345" not in response.text
    rows = re.findall(r"<tr><td data-label=\"Rinda\">(\d+)</td>", response.text)
    assert rows and set(rows) == {"3"}  # every reason of row 3, none of row 2
    (kept,) = inbox(context)
    assert b"120309-12345" not in kept.read_bytes()
    link = re.search(r'href="(/s/[^"]+/rejected\.csv)"', response.text)
    assert link, "no link to the rejected rows"
    rejected = client.get(link.group(1))
    assert rejected.status_code == 200 and rejected.headers["content-type"].startswith("text/csv")
    assert "noraiditas_rindas_LV-LIE-006_2026-2027-1.csv" in rejected.headers[
        "content-disposition"]  # fmt: skip
    assert "12****-*****" in rejected.text and "120309" not in rejected.text.replace(
        "12****", "")  # fmt: skip
    (record,) = uploads(context)
    assert record[0] == "kept" and record[2] == 1
    again = post(client, path, csv(GOOD, BAD), "atkal.csv")
    assert "jau ir saņemts" in text(again.text) and len(inbox(context)) == 1


def test_an_upload_without_the_pages_csrf_token_is_refused(
    context: Context, client: httpx.Client, semester: StoredSemester, path: str
) -> None:
    for token in ("", "forged", csrf_of(client.get(path).text) + "x"):
        response = post(client, path, csv(GOOD), token=token)
        assert response.status_code == 403
        assert "Fails netika saņemts" in response.text
    assert inbox(context) == [] and uploads(context) == []


def test_a_file_over_the_limit_is_refused_while_streaming(
    context: Context, client: httpx.Client, semester: StoredSemester, path: str
) -> None:
    limit = int(context.config.programme.max_file_mb * 1024 * 1024)
    response = post(client, path, b"a;b\n" * (limit // 4 + 1))
    assert response.status_code == 422
    assert "lielāks par 20 MB" in text(response.text)
    assert inbox(context) == [] and [u[0] for u in uploads(context)] == ["too_large"]


@pytest.mark.parametrize(
    ("change", "status", "title"),
    [
        (lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"), 403, "Saite nav derīga"),
        (lambda token: token[:10], 400, "Saite ir nepilnīga"),
    ],
)
def test_a_changed_link_is_refused_in_latvian(
    context: Context, client: httpx.Client, path: str, change: object, status: int, title: str
) -> None:
    token = path.rsplit("/", 1)[1]
    assert callable(change)
    response = client.get(f"/s/{change(token)}")
    assert (response.status_code, title in response.text) == (status, True)
    upload = post(client, f"/s/{change(token)}", csv(GOOD), token="x")
    assert upload.status_code == status and inbox(context) == []


def test_reissuing_kills_the_old_link_and_the_deadline_ends_it(
    context: Context, client: httpx.Client, semester: StoredSemester, path: str
) -> None:
    with context.sessions.begin() as session:
        fresh = issue_link(session, semester, SCHOOL)
    old = client.get(path)
    assert old.status_code == 410 and "Saite ir aizstāta" in old.text
    new_path = school_url(context.settings, fresh).removeprefix(context.settings.base_url)
    assert client.get(new_path).status_code == 200
    after = dt.datetime.combine(semester.evaluation_deadline + dt.timedelta(days=1), dt.time(9))
    with time_machine.travel(after.replace(tzinfo=dt.UTC), tick=False):
        ended = client.get(new_path)
    assert ended.status_code == 410 and "Semestris ir beidzies" in ended.text
    with context.sessions() as session:
        versions = session.scalars(select(SchoolLink.version).order_by(SchoolLink.id)).all()
    assert versions == [1, 2]


def test_an_upload_succeeds_when_prefect_is_unreachable(
    context: Context, semester: StoredSemester, path: str
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tests.app.web.conftest import serve
    from tests.app.web.live import LiveServer

    # Prefect's API "lives" on a loopback server that is not Prefect: every event call fails.
    with (
        LiveServer(create_app(context.settings)) as not_prefect,
        temporary_settings({PREFECT_API_URL: f"{not_prefect.url}/api"}),
        serve(context.settings) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        response = post(http, path, csv(GOOD))
    assert response.status_code == 200 and "Fails ir saņemts un saglabāts" in text(response.text)
    assert len(inbox(context)) == 1 and [u[0] for u in uploads(context)] == ["kept"]


@pytest.mark.parametrize("shared", [False, True])
def test_the_invitation_sends_the_school_to_its_page_and_names_a_folder_only_if_shared(
    context: Context, semester: StoredSemester, shared: bool
) -> None:
    from pumpurs.opening.invitations import queue_invitations
    from pumpurs.store.models import OutboxMessage

    settings = context.settings.model_copy(update={"schools_shared_folder": shared})
    with context.sessions.begin() as session:
        queue_invitations(session, context.config, settings, semester)
    with context.sessions() as session:
        body = session.scalars(
            select(OutboxMessage.body_text).where(
                OutboxMessage.recipient == "iaps@raina6.liepaja.example"
            )
        ).one()
        link = session.scalars(select(SchoolLink).where(SchoolLink.school_code == SCHOOL)).one()
    assert "Atveriet savas skolas lapu un augšupielādējiet failu tur" in body
    assert school_url(settings, link.nonce) in body
    assert ("2026-2027-1/LV-LIE-006/plans/" in body) is shared
