from __future__ import annotations

import threading

import httpx
from sqlalchemy import func, select

from pumpurs.store.context import Context
from pumpurs.store.models import AuditEntry, Decision, OutboxMessage
from tests.app.web.conftest import csrf_of, plan_paths, serve
from tests.approvals.factory import submitted_plan


def test_two_concurrent_posts_on_one_link_give_exactly_one_decision(context: Context) -> None:
    plan_id = submitted_plan(context)
    path = plan_paths(context)[plan_id]
    forms = [
        {"action": "approve"},
        {"action": "return", "reason": "Papildiniet mērķi."},
    ]
    responses: list[httpx.Response] = []
    with serve(context.settings) as server:
        token = csrf_of(httpx.get(server.url + path).text)
        start = threading.Barrier(len(forms))

        def post(form: dict[str, str]) -> None:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                start.wait()
                responses.append(http.post(path, data={"csrf": token, **form}))

        threads = [threading.Thread(target=post, args=(form,)) for form in forms]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert sorted(r.status_code for r in responses) == [200, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert "jau lēma reģionālais koordinators" in loser.text
    with context.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Decision)) == 1
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1
        outcome = session.scalars(select(Decision.outcome)).one()
        returned_mail = session.scalar(select(func.count()).select_from(OutboxMessage))
    assert returned_mail == (1 if outcome == "returned" else 0)
