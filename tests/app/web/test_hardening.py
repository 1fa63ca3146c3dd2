"""The approval app against hostile input: one spelling of a signature, ids in range, clean and
bounded reasons, headers on every answer, an audited address that cannot be forged, one expiry
rule for every link, and no approver's address on the "already decided" page."""

from __future__ import annotations

import datetime as dt
import os
import re
import string
import subprocess
import sys

import httpx
import pytest
import time_machine
from itsdangerous.encoding import base64_decode
from sqlalchemy import func, select, update

from pumpurs.app.web.app import create_app
from pumpurs.app.web.errors import SECURITY_HEADERS
from pumpurs.approvals import (
    LinkProblem,
    LinkRefused,
    ensure_steps,
    pending_url,
    queue_route_mail,
    read_pending_link,
)
from pumpurs.clock import RIGA
from pumpurs.mail.sink import SmtpSink
from pumpurs.semester import SemesterCode
from pumpurs.settings import Settings
from pumpurs.store.context import Context
from pumpurs.store.models import Decision, OutboxMessage, PageView, Plan, PlanStatus
from pumpurs.store.reference import stored_semester
from tests.app.web.conftest import csrf_of, plan_paths, serve
from tests.app.web.live import LiveServer, free_port, wait_for
from tests.approvals.factory import KURZEME, SEMESTER, resubmit, submitted_plan

B64 = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
STEP = re.compile(r'name="step" value="(\d+)"')
DAY0 = dt.datetime(2026, 10, 5, 7, 30, tzinfo=RIGA)


def respellings(signed: str) -> list[str]:
    """Return the other spellings of a signed value that decode to the same signature: its
    last character with the unused low bits changed."""
    last = B64.index(signed[-1])
    base = last & ~3
    others = [signed[:-1] + B64[i] for i in range(base, base + 4) if i != last]
    signature = signed.rsplit(".", 1)[1]
    for other in others:  # the premise: the same bytes, another text
        assert base64_decode(other.rsplit(".", 1)[1]) == base64_decode(signature)
    return others


def _decisions(ctx: Context) -> int:
    with ctx.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Decision)) or 0)


def _pending_path(ctx: Context, approver: str = KURZEME) -> str:
    return pending_url(ctx.settings, approver).removeprefix(ctx.settings.base_url)


# 1. One spelling of every signature ------------------------------------------------------------


def test_a_link_or_token_with_its_last_character_respelled_is_refused(
    context: Context, client: httpx.Client
) -> None:
    plan_id = submitted_plan(context)
    path = plan_paths(context)[plan_id]
    pending = _pending_path(context)
    for link in (path, pending):
        assert client.get(link).status_code == 200
        for other in respellings(link):
            refused = client.get(other)
            assert (refused.status_code, "Saite nav derīga" in refused.text) == (403, True)
    token = csrf_of(client.get(path).text)
    for other in respellings(token):
        refused = client.post(path, data={"csrf": other, "action": "approve"})
        assert refused.status_code == 403 and "Lēmums netika saglabāts" in refused.text
    assert _decisions(context) == 0
    done = client.post(path, data={"csrf": token, "action": "approve"})
    assert done.status_code == 200 and _decisions(context) == 1


# 2. Ids outside the database's integer range ---------------------------------------------------


def test_a_step_id_outside_the_integer_range_is_a_400(
    context: Context, client: httpx.Client
) -> None:
    submitted_plan(context)
    plan_paths(context)
    path = _pending_path(context)
    token = csrf_of(client.get(path).text)
    for value in ("2147483648", "9223372036854775808", "99999999999999999999", "0", "-1",
                  "１２", " 12", "1_0"):  # fmt: skip
        response = client.post(path, data={"csrf": token, "step": [value]})
        assert response.status_code == 400, value
        assert "Pieprasījums nav saprotams" in response.text
    largest = client.post(path, data={"csrf": token, "step": [str(2**31 - 1)]})
    assert largest.status_code == 404 and "Saite nav atrasta" in largest.text  # a fair question
    assert _decisions(context) == 0


# 3. and 4. Reasons: no control or bidirectional characters, at most 2,000 characters -----------

HOSTILE = "Labot\x00 mērķi\u202e ‮otlab\u2066\x1b[31m\x85\x7f\tbeigas\r\notrā rinda\u2069"
CLEAN = "Labot mērķi otlab[31m\tbeigas\notrā rinda"
UNSEEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_control_and_bidi_characters_are_removed_from_a_reason(
    context: Context, client: httpx.Client, smtp: SmtpSink
) -> None:
    plan_id = submitted_plan(context)
    path = plan_paths(context)[plan_id]
    token = csrf_of(client.get(path).text)
    done = client.post(path, data={"csrf": token, "action": "return", "reason": HOSTILE})
    assert done.status_code == 200 and "Plāns atgriezts" in done.text
    assert CLEAN.split("\n")[0] in done.text and not UNSEEN.search(done.text)
    with context.sessions() as session:
        assert session.scalars(select(Decision.reason)).one() == CLEAN
    wait_for(lambda: smtp.received, 10, "the school's email did not arrive")
    message = smtp.received[0].message()
    for part in ("plain", "html"):
        body = message.get_body((part,)).get_content()  # type: ignore[union-attr]
        assert "otlab[31m" in body and not UNSEEN.search(body), part


def test_a_reason_stored_before_cleaning_is_shown_clean(
    context: Context, client: httpx.Client
) -> None:
    plan_id = submitted_plan(context)
    path = plan_paths(context)[plan_id]
    token = csrf_of(client.get(path).text)
    client.post(path, data={"csrf": token, "action": "return", "reason": "Labot"})
    with context.sessions.begin() as session:  # as an older version stored it
        session.execute(update(Decision).values(reason="Labot\u202e mērķi\x1b"))
    resubmit(context, plan_id)
    page = client.get(plan_paths(context)[plan_id])
    assert page.status_code == 200 and "Labot mērķi" in page.text
    assert not UNSEEN.search(page.text)


def test_a_reason_over_the_limit_is_refused_and_the_text_kept(
    context: Context, client: httpx.Client
) -> None:
    plan_id = submitted_plan(context)
    path = plan_paths(context)[plan_id]
    token = csrf_of(client.get(path).text)
    long = "Labot " + "ā" * 1990 + " beigas"  # 2,003 characters
    refused = client.post(path, data={"csrf": token, "action": "return", "reason": long})
    assert refused.status_code == 400 and _decisions(context) == 0
    assert "atļautas ne vairāk kā 2\u00a0000 rakstzīmes, bet tajā ir 2\u00a0003" in refused.text
    assert f">{long}</textarea>" in refused.text  # the form again, the whole text in it
    with context.sessions() as session:
        assert session.get(Plan, plan_id).status == PlanStatus.SUBMITTED  # type: ignore[union-attr]
    exact = long[:2000]
    done = client.post(path, data={"csrf": token, "action": "return", "reason": exact})
    assert done.status_code == 200
    with context.sessions() as session:
        assert session.scalars(select(Decision.reason)).one() == exact.strip()


# 5. Headers on a 500 ---------------------------------------------------------------------------


def test_a_500_carries_the_security_headers(context: Context) -> None:
    app = create_app(context.settings)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret detail")

    with LiveServer(app) as server:
        crashed = httpx.get(f"{server.url}/boom")
        ordinary = httpx.get(f"{server.url}/no/such/page")
    assert crashed.status_code == 500 and ordinary.status_code == 404
    for name, value in SECURITY_HEADERS.items():
        assert crashed.headers.get(name) == value == ordinary.headers.get(name), name


# 6. X-Forwarded-For only from trusted proxies --------------------------------------------------

FORGED = {"x-forwarded-for": "203.0.113.7"}


def _views_and_decision_ip(
    ctx: Context, settings: Settings, plan_id: int, path: str
) -> tuple[list[str | None], str | None]:
    with serve(settings) as server, httpx.Client(base_url=server.url) as http:
        token = csrf_of(http.get(path, headers=FORGED).text)
        http.post(path, data={"csrf": token, "action": "approve"}, headers=FORGED)
    with ctx.sessions() as session:
        views = list(session.scalars(select(PageView.ip)))
        decided = session.scalars(select(Decision.ip).where(Decision.plan_id == plan_id)).one()
    return views, decided


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(context: Context) -> None:
    first, second = submitted_plan(context, ref="P-A"), submitted_plan(context, ref="P-B")
    paths = plan_paths(context)
    views, decided = _views_and_decision_ip(context, context.settings, first, paths[first])
    assert (views, decided) == (["127.0.0.1"], "127.0.0.1")  # the peer, not the header
    behind = context.settings.model_copy(update={"trusted_proxies": ["127.0.0.0/8"]})
    views, decided = _views_and_decision_ip(context, behind, second, paths[second])
    assert (views[-1], decided) == ("203.0.113.7", "203.0.113.7")


def _audited_ip_behind_pumpurs_web(ctx: Context, path: str, env: dict[str, str]) -> str | None:
    """Start `pumpurs web` on the test's store, open the page with a forged header, return the
    address its view was recorded with."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pumpurs.app.cli", "web", "--port", str(port)],
        cwd=ctx.settings.var_dir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), 60, "pumpurs web is down")
        assert httpx.get(f"http://127.0.0.1:{port}{path}", headers=FORGED).status_code == 200
    finally:
        process.terminate()
        process.wait(20)
    with ctx.sessions() as session:
        return session.scalars(select(PageView.ip).order_by(PageView.id.desc())).first()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.slow  # starts `pumpurs web` twice: a few seconds
def test_pumpurs_web_believes_forwarded_for_only_from_the_configured_proxies(
    context: Context,
) -> None:
    plan_id = submitted_plan(context)
    path = plan_paths(context)[plan_id]
    env = dict(
        os.environ,
        PUMPURS_VAR_DIR=str(context.settings.var_dir),
        PUMPURS_DATABASE_URL=context.settings.effective_database_url,
        PUMPURS_CONFIG_DIR=str(context.settings.config_dir),
        PUMPURS_SECRET_KEY=context.settings.signing_key(),
    )
    env.pop("PUMPURS_TRUSTED_PROXIES", None)
    assert _audited_ip_behind_pumpurs_web(context, path, env) == "127.0.0.1"
    env["PUMPURS_TRUSTED_PROXIES"] = "10.1.2.3,127.0.0.0/8"
    assert _audited_ip_behind_pumpurs_web(context, path, env) == "203.0.113.7"


def test_trusted_proxies_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUMPURS_TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16,::1")
    read = Settings(_env_file=None)
    assert read.trusted_proxies == ["10.0.0.1", "192.168.0.0/16", "::1"]
    monkeypatch.setenv("PUMPURS_TRUSTED_PROXIES", "")
    assert Settings(_env_file=None).trusted_proxies == []
    monkeypatch.setenv("PUMPURS_TRUSTED_PROXIES", "proxy.example")
    with pytest.raises(ValueError, match="proxy.example"):
        Settings(_env_file=None)


# 7. One expiry rule ----------------------------------------------------------------------------


def test_the_pending_link_works_through_the_day_its_email_names(context: Context) -> None:
    with time_machine.travel(DAY0, tick=False):
        submitted_plan(context)
        with context.sessions.begin() as session:
            ensure_steps(session, context.config)
            semester = stored_semester(session, SemesterCode.parse(SEMESTER))
            queue_route_mail(session, context.config, context.settings, semester)
    with context.sessions() as session:
        body = session.scalars(select(OutboxMessage.body_text)).one()
    day = re.search(r"derīgas līdz (\d\d)\.(\d\d)\.(\d{4})\. ieskaitot", body)
    link = re.search(r"/p/(\S+)", body)
    assert day and link
    last = dt.date(int(day[3]), int(day[2]), int(day[1]))
    assert last == dt.date(2026, 10, 19)  # 14 days after the 5th, through that day
    evening = dt.datetime.combine(last, dt.time(23, 59), RIGA)
    with time_machine.travel(evening, tick=False):
        assert read_pending_link(context.settings, context.config, link[1]) == KURZEME
        shorter = context.config.programme.model_copy(update={"token_lifetime_days": 3})
        later_config = context.config.model_copy(update={"programme": shorter})
        # judged by the expiry it was issued with, not today's lifetime setting
        assert read_pending_link(context.settings, later_config, link[1]) == KURZEME
    midnight = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0, 0, 1), RIGA)
    with time_machine.travel(midnight, tick=False), pytest.raises(LinkRefused) as caught:
        read_pending_link(context.settings, context.config, link[1])
    assert caught.value.problem == LinkProblem.EXPIRED


def test_a_pending_link_from_the_page_expires_as_plan_links_do(
    context: Context, client: httpx.Client
) -> None:
    submitted_plan(context)
    plan_paths(context)
    with time_machine.travel(DAY0, tick=False):
        path = _pending_path(context)
    with time_machine.travel(dt.datetime(2026, 10, 19, 23, 30, tzinfo=RIGA), tick=False):
        assert client.get(path).status_code == 200
    with time_machine.travel(dt.datetime(2026, 10, 20, 0, 0, tzinfo=RIGA), tick=False):
        assert client.get(path).status_code == 410


# 8. The "already decided" page names the role and the day ---------------------------------------


def test_the_already_decided_page_names_the_role_and_day_not_the_email(
    context: Context, client: httpx.Client
) -> None:
    plan_id = submitted_plan(context)
    path = plan_paths(context)[plan_id]
    token = csrf_of(client.get(path).text)
    assert client.post(path, data={"csrf": token, "action": "approve"}).status_code == 200
    with context.sessions() as session:
        day = session.scalars(select(Decision.decided_at)).one().astimezone(RIGA)
    expected = f"Par šo plānu {day:%d.%m.%Y}. jau lēma reģionālais koordinators: apstiprināts."
    for replay in (client.get(path), client.post(path, data={"csrf": token, "action": "approve"})):
        assert replay.status_code == 409 and expected in replay.text
        assert KURZEME not in replay.text, replay.text
