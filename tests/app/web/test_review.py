from __future__ import annotations

import datetime as dt
import re
import time

import httpx
import pytest
import time_machine
from itsdangerous import URLSafeSerializer
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import func, select

from pumpurs.app.web.app import create_app
from pumpurs.approvals.tokens import APPROVAL_SALT
from pumpurs.clock import utcnow
from pumpurs.mail.sink import SmtpSink
from pumpurs.store.context import Context
from pumpurs.store.models import (
    ApprovalStep,
    ApprovalToken,
    AuditEntry,
    Decision,
    OutboxMessage,
    Plan,
    PlanStatus,
)
from tests.app.web.conftest import csrf_of, plan_paths, serve
from tests.app.web.live import LiveServer, wait_for
from tests.approvals.factory import KURZEME, resubmit, submitted_plan, tamper

SCRIPT = "<script>alert('x')</script>"
TRACE = re.compile(r"Traceback|File \"|sqlalchemy\.|Exception")


def _state(ctx: Context) -> tuple[object, ...]:
    """Return everything a GET must leave alone."""
    with ctx.sessions() as session:
        return (
            session.execute(select(ApprovalToken.id, ApprovalToken.used_at)).all(),
            session.execute(select(ApprovalStep.id, ApprovalStep.status)).all(),
            session.execute(select(Plan.id, Plan.status, Plan.updated_at)).all(),
            session.scalar(select(func.count()).select_from(Decision)),
            session.scalar(select(func.count()).select_from(AuditEntry)),
            session.scalar(select(func.count()).select_from(OutboxMessage)),
        )


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_opening_the_link_shows_the_plan_and_changes_nothing(
    context: Context, client: httpx.Client
) -> None:
    plan_id = submitted_plan(context, ref="P-SHOW1")
    path = plan_paths(context)[plan_id]
    before = _state(context)
    page = client.get(path)
    assert page.status_code == 200
    text = _text(page.text)
    for expected in ("Liepājas Raiņa 6. vidusskola", "P-SHOW1", "Uzlabot sekmes matemātikā",
                     "psihologa konsultācijas", "45,50 EUR mēnesī", "Apstiprināt plānu",
                     "Atgriezt labošanai"):  # fmt: skip
        assert expected in text
    assert 'name="viewport"' in page.text and page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    started = time.monotonic()
    for _ in range(500):
        assert client.get(path).status_code == 200
        head = client.head(path)
        assert head.status_code == 200 and head.content == b""
    assert time.monotonic() - started < 30
    assert _state(context) == before


def test_a_post_without_or_with_a_wrong_csrf_token_is_refused(
    context: Context, client: httpx.Client
) -> None:
    first, second = submitted_plan(context, ref="P-A"), submitted_plan(context, ref="P-B")
    paths = plan_paths(context)
    other_pages_token = csrf_of(client.get(paths[second]).text)
    before = _state(context)
    for data in ({"action": "approve"}, {"action": "approve", "csrf": "forged"},
                 {"action": "approve", "csrf": other_pages_token}):  # fmt: skip
        refused = client.post(paths[first], data=data)
        assert refused.status_code == 403
        assert "Lēmums netika saglabāts" in refused.text and not TRACE.search(refused.text)
    assert _state(context) == before


def test_a_post_decides_once_and_the_replay_says_who_decided_when(
    context: Context, client: httpx.Client
) -> None:
    plan_id = submitted_plan(context)
    path = plan_paths(context)[plan_id]
    token = csrf_of(client.get(path).text)
    done = client.post(
        path, data={"csrf": token, "action": "approve"}, headers={"user-agent": "Phone/1.0"}
    )
    assert done.status_code == 200 and "Plāns apstiprināts" in done.text
    replay = client.post(path, data={"csrf": token, "action": "approve"})
    assert replay.status_code == 409
    assert re.search(
        r"Par šo plānu \d\d\.\d\d\.\d{4}\. jau lēma reģionālais koordinators", replay.text
    )
    assert KURZEME not in replay.text  # whoever holds the link learns the role, not the person
    assert client.get(path).status_code == 409  # the link itself is spent too
    with context.sessions() as session:
        decision = session.scalars(select(Decision)).one()
        audit = session.scalars(select(AuditEntry)).one()
        assert session.get(Plan, plan_id).status == PlanStatus.APPROVED  # type: ignore[union-attr]
    assert (decision.approver_email, decision.ip, decision.user_agent) == (
        KURZEME, "127.0.0.1", "Phone/1.0",
    )  # fmt: skip
    assert (audit.actor, audit.ip, audit.user_agent) == (KURZEME, "127.0.0.1", "Phone/1.0")


def test_bad_links_get_clear_pages_with_the_right_status(
    context: Context, client: httpx.Client
) -> None:
    plan_id = submitted_plan(context)
    path = plan_paths(context)[plan_id]
    signed = path.removeprefix("/a/")
    forged = URLSafeSerializer("another key", salt=APPROVAL_SALT).dumps("made-up")
    tampered = tamper(signed)
    unknown = URLSafeSerializer(context.settings.signing_key(), salt=APPROVAL_SALT).dumps("x")
    cases = {
        f"/a/{forged}": (403, "Saite nav derīga"),
        f"/a/{tampered}": (403, "Saite nav derīga"),
        f"/a/{signed.split('.')[0]}": (400, "Saite ir nepilnīga"),
        f"/a/{unknown}": (404, "Saite nav atrasta"),
        "/no/such/page": (404, "Lapa nav atrasta"),
    }
    for url, (status, title) in cases.items():
        response = client.get(url)
        assert (response.status_code, title in response.text) == (status, True), url
        assert not TRACE.search(response.text)
        assert client.head(url).status_code == status
    with time_machine.travel(utcnow() + dt.timedelta(days=15), tick=False):
        expired = client.get(path)
    assert expired.status_code == 410 and "derīguma termiņš ir beidzies" in expired.text
    resubmit(context, plan_id)
    old = client.get(path)
    assert old.status_code == 410 and "jaunāka versija" in old.text


def test_script_in_goal_and_reason_is_shown_escaped(
    context: Context, client: httpx.Client, smtp: SmtpSink
) -> None:
    plan_id = submitted_plan(context, goal=f"Mērķis {SCRIPT}")
    path = plan_paths(context)[plan_id]
    page = client.get(path)
    assert SCRIPT not in page.text and "&lt;script&gt;alert(&#39;x&#39;)" in page.text
    done = client.post(
        path, data={"csrf": csrf_of(page.text), "action": "return", "reason": f"Labot {SCRIPT}"}
    )
    assert done.status_code == 200 and SCRIPT not in done.text
    assert "Labot &lt;script&gt;" in done.text
    wait_for(lambda: smtp.received, 10, "the school's email did not arrive")
    received = [r.message() for r in smtp.received]  # sent right after the decision
    assert [m["To"] for m in received] == ["iaps@raina6.liepaja.example"]
    html = received[0].get_body(("html",)).get_content()  # type: ignore[union-attr]
    plain = received[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert SCRIPT not in html and "&lt;script&gt;" in html
    assert f"Labot {SCRIPT}" in plain  # the text part is text: nothing to escape there


def test_returning_without_a_reason_asks_for_one_and_decides_nothing(
    context: Context, client: httpx.Client
) -> None:
    plan_id = submitted_plan(context)
    path = plan_paths(context)[plan_id]
    token = csrf_of(client.get(path).text)
    before = _state(context)
    response = client.post(path, data={"csrf": token, "action": "return", "reason": "  "})
    assert response.status_code == 400 and "Norādiet iemeslu" in response.text
    assert client.post(path, data={"csrf": token, "action": "nonsense"}).status_code == 400
    assert _state(context) == before


def test_a_crash_shows_the_server_error_page_without_a_trace(context: Context) -> None:
    app = create_app(context.settings)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret detail")

    with LiveServer(app) as server:
        response = httpx.get(f"{server.url}/boom")
    assert response.status_code == 500 and "Radās kļūda" in response.text
    assert "secret detail" not in response.text and not TRACE.search(response.text)


def test_pages_in_english_by_setting(context: Context) -> None:
    english = context.settings.model_copy(update={"language": "en"})
    plan_id = submitted_plan(context)
    path = plan_paths(context)[plan_id]
    with serve(english) as server, httpx.Client(base_url=server.url) as http:
        page = http.get(path)
        assert "Approve the plan" in page.text and "Return for revision" in page.text
        assert '<html lang="en">' in page.text
        gone = http.get("/a/abc.def")
    assert gone.status_code == 403 and "The link is not valid" in gone.text


def test_the_decision_is_stored_when_prefect_is_unreachable(context: Context) -> None:
    plan_id = submitted_plan(context)
    path = plan_paths(context)[plan_id]
    # Prefect's API "lives" on a loopback server that is not Prefect: every event call fails.
    with (
        LiveServer(create_app(context.settings)) as not_prefect,
        temporary_settings({PREFECT_API_URL: f"{not_prefect.url}/api"}),
    ):
        with serve(context.settings) as server, httpx.Client(base_url=server.url) as http:
            token = csrf_of(http.get(path).text)
            done = http.post(path, data={"csrf": token, "action": "approve"})
    assert done.status_code == 200 and "Plāns apstiprināts" in done.text
    with context.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Decision)) == 1


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_other_methods_are_not_allowed(context: Context, client: httpx.Client, method: str) -> None:
    plan_id = submitted_plan(context)
    path = plan_paths(context)[plan_id]
    response = client.request(method, path)
    assert response.status_code == 405 and "Darbība nav atļauta" in response.text
