"""Send summaries end to end: a generated semester, a real SMTP server, Prefect runs.

Every figure is computed again here, straight from the tables with SQL and pandas (never through
`summaries.figures`), and compared with what each received email and the run's artifacts state.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
import time_machine
from sqlalchemy import select, text

from flows.send_summaries import send_summaries
from pumpurs.errors import UserError
from pumpurs.evaluation.evaluate import evaluate
from pumpurs.generate import generate
from pumpurs.i18n.formats import NBSP, fmt_number, fmt_percent
from pumpurs.intake.collect import collect
from pumpurs.mail.sink import SmtpSink
from pumpurs.settings import Settings
from pumpurs.store import lifecycle
from pumpurs.store.context import Context, load_context, use_settings
from pumpurs.store.models import Plan, PlanStatus, Pupil
from pumpurs.store.reference import StoredSemester, ensure_semester, stored_semester
from pumpurs.summaries.store import refresh_figures
from tasks.common import MailNotDelivered
from tests.conftest import latest_artifact
from tests.counts import count
from tests.evaluation.factory import SEMESTER, hours, store_plan

pytestmark = pytest.mark.usefixtures("prefect_harness")
AFTER_DEADLINE = dt.datetime(2027, 1, 10, 8, tzinfo=dt.UTC)  # the evaluation deadline: 05.01.
COUNTED = ("approved", "evaluated", "continued", "closed")
STATUS = {"draft": "pārnesti, vēl nav iesniegti", "submitted": "iesniegti, gaida apstiprinājumu",
          "returned": "atgriezti labošanai", "approved": "apstiprināti, gaida izvērtējumu",
          "evaluated": "izvērtēti", "continued": "izvērtēti, turpināsies",
          "closed": "izvērtēti, noslēgti"}  # fmt: skip
BINS = {"lt_50": f"zem 50{NBSP}%", "50_80": f"50{NBSP}% līdz 80{NBSP}%",
        "ge_80": f"80{NBSP}% un vairāk", "none": "nav aprēķināma"}  # fmt: skip


@pytest.fixture
def after_deadline() -> Iterator[None]:
    with time_machine.travel(AFTER_DEADLINE, tick=True):
        yield


@pytest.fixture
def generated(settings: Settings, smtp: SmtpSink, tmp_path: Path) -> Iterator[Context]:
    """Load a generated small semester: collected, mostly approved, evaluated; and a few plans
    of the semester before, with its figures, to compare against."""
    generate("small", 2, tmp_path / "data", SEMESTER)
    local = settings.model_copy(update={
        "config_dir": tmp_path / "data" / "config", "inbox_dir": tmp_path / "data" / "inbox",
        "smtp_host": smtp.host, "smtp_port": smtp.port})  # fmt: skip
    with use_settings(local):
        ctx = load_context(local)
        school = ctx.config.schools[0].code
        for ref in ("PREV-01", "PREV-02"):
            store_plan(ctx, ref, [hours("psychologist", 2, provider="S-9")], school=school,
                       semester=SEMESTER.previous())  # fmt: skip
        with ctx.sessions.begin() as session:
            refresh_figures(session, ctx.config, stored_semester(session, SEMESTER.previous()))
            semester, _ = ensure_semester(session, ctx.config, SEMESTER)
            collect(session, ctx.config, local, StoredSemester.of(semester))
            plans = session.scalars(select(Plan).where(Plan.semester_id == semester.id)
                                    .order_by(Plan.id)).all()  # fmt: skip
            for index, plan in enumerate(plans):  # a few wait for a decision or were returned
                target = {0: PlanStatus.RETURNED, 1: PlanStatus.RETURNED, 2: PlanStatus.SUBMITTED}
                lifecycle.move(plan, target.get(index % 40, PlanStatus.APPROVED))
            session.flush()
            evaluate(session, ctx.config, local, StoredSemester.of(semester))
        yield ctx


# --- the figures, recomputed from the tables --------------------------------------------------


@dataclass
class Tables:
    plans: pd.DataFrame
    measures: pd.DataFrame
    risks: pd.DataFrame
    evaluations: pd.DataFrame
    delivered: pd.DataFrame
    months: int


def tables(ctx: Context, code: str) -> Tables:
    """Read one semester's rows with plain SQL."""
    current = "JOIN plan_revision v ON v.plan_id = p.id AND v.number = p.revision"
    queries = {
        "plans": """SELECT p.id AS plan_id, p.pupil_id, p.status, s.code AS school,
                    m.code AS municipality, r.code AS region, 'LV' AS nation FROM plan p
                    JOIN school s ON s.id = p.school_id JOIN municipality m ON m.id =
                    s.municipality_id JOIN region r ON r.id = m.region_id""",
        "measures": f"""SELECT p.id AS plan_id, pm.measure, pm.subject, pm.provider_ref,
                    pm.hours_per_month, pm.eur_per_month FROM plan p {current}
                    JOIN plan_measure pm ON pm.revision_id = v.id""",
        "risks": f"""SELECT p.id AS plan_id, pr.category FROM plan p {current}
                    JOIN plan_risk pr ON pr.revision_id = v.id""",
        "evaluations": """SELECT e.plan_id, e.outcome, e.weighted_ratio FROM evaluation e
                    JOIN plan p ON p.id = e.plan_id""",
        "delivered": """SELECT e.plan_id, em.measure, em.delivered_hours, em.spent_eur, em.ratio
                    FROM evaluation_measure em JOIN evaluation e ON e.id = em.evaluation_id
                    JOIN plan p ON p.id = e.plan_id""",
    }
    of_semester = " WHERE p.semester_id = (SELECT id FROM semester WHERE code = :code)"
    with ctx.sessions() as session:
        connection = session.connection()
        frames = {
            name: pd.read_sql_query(text(sql + of_semester), connection, params={"code": code})
            for name, sql in queries.items()
        }
        start, end = session.execute(
            text("SELECT starts_on, ends_on FROM semester WHERE code = :code"), {"code": code}
        ).one()
    start, end = (dt.date.fromisoformat(str(day)[:10]) for day in (start, end))
    return Tables(**frames, months=(end.year - start.year) * 12 + end.month - start.month + 1)


def share(part: float, whole: float) -> float | None:
    """Return a share as the summaries keep it (4 decimals), or None of nothing."""
    return round(part / whole, 4) if whole else None


def recompute(t: Tables, level: str, code: str, cap: float = 300.0) -> dict[str, Any]:
    """Return one unit's figures from the semester's rows."""
    plans = t.plans[t.plans[level] == code]
    counted = plans[plans["status"].isin(COUNTED)]
    pupils_of = counted[["plan_id", "pupil_id", "school"]]
    measures = t.measures.merge(pupils_of, on="plan_id")
    evaluations = t.evaluations.merge(pupils_of, on="plan_id")
    delivered = t.delivered.merge(pupils_of, on="plan_id")
    pupils = counted["pupil_id"].nunique()
    consult = measures[measures["measure"] == "subject_consultation"]
    hourly = measures[measures["hours_per_month"].notna() & measures["provider_ref"].notna()]
    done = delivered["delivered_hours"].fillna(0) + delivered["spent_eur"].fillna(0) > 0
    ratio = evaluations["weighted_ratio"].round(6)
    bins = {"lt_50": (ratio < 0.5).sum(), "50_80": ((ratio >= 0.5) & (ratio < 0.8)).sum(),
            "ge_80": (ratio >= 0.8).sum(), "none": ratio.isna().sum()}  # fmt: skip
    used = round(float(delivered["spent_eur"].sum()), 2)
    return {
        "pupils": pupils,
        "plans": len(counted),
        "status": plans["status"].value_counts().to_dict(),
        "consult": consult["pupil_id"].nunique(),
        "subjects": consult.groupby("subject")["pupil_id"].nunique().to_dict(),
        "risks": t.risks.merge(pupils_of, on="plan_id")
        .groupby("category")["pupil_id"]
        .nunique()
        .to_dict(),
        "providers": len(set(zip(hourly["school"], hourly["provider_ref"], strict=True))),
        "measures_planned": len(measures),
        "measures_reported": len(delivered),
        "measures_delivered": int(done.sum()),
        "at_threshold": int((delivered["ratio"].round(6) >= 0.8).sum()),
        "by_measure": measures["measure"].value_counts().to_dict(),
        "delivered_by_measure": delivered[done]["measure"].value_counts().to_dict(),
        "hours_planned": round(float(measures["hours_per_month"].sum()) * t.months, 2),
        "hours_delivered": round(float(delivered["delivered_hours"].sum()), 2),
        "cap_eur": round(pupils * cap * t.months, 2),
        "planned_eur": round(float(measures["eur_per_month"].sum()) * t.months, 2),
        "used_eur": used,
        "used_share": share(used, pupils * cap * t.months),
        "evaluated": len(evaluations),
        "awaiting": int((plans["status"] == "approved").sum()),
        "bins": {k: int(v) for k, v in bins.items()},
        "mean": None
        if evaluations.empty
        else round(float(evaluations["weighted_ratio"].mean()), 4),
        "outcomes": evaluations["outcome"].value_counts().to_dict(),
    }


# --- what the Latvian text part must say --------------------------------------------------------


def plural(count: int, one: str, other: str) -> str:
    """Return the Latvian word after a count: the singular after 1, 21, 31 … (not 11)."""
    return one if count % 10 == 1 and count % 100 != 11 else other


def n(value: float, digits: int = 0) -> str:
    return fmt_number(value, "lv", digits)


def pct(value: float | None) -> str:
    return "—" if value is None else fmt_percent(value, "lv")


def expected_lines(ctx: Context, f: dict[str, Any], before: dict[str, Any]) -> list[str]:
    """Return every line of a unit's figures as its summary's text part must state it."""
    catalogue, pupils = ctx.config.catalogue, f["pupils"]
    lines = [
        f"Skolēni ar atbalsta plānu: {n(pupils)}",
        f"Apstiprināti atbalsta plāni: {n(f['plans'])}",
        f"Visi plāni pēc statusa (kopā {n(sum(f['status'].values()))}):",
        *(f"- {STATUS[s]}: {n(c)}" for s, c in f["status"].items()),
        f"Iesaistītie pedagogi un speciālisti: {n(f['providers'])}",
        f"Atbalsta pasākumi: {plural(f['measures_planned'], 'plānots', 'plānoti')} "
        f"{n(f['measures_planned'])}, {plural(f['measures_delivered'], 'sniegts', 'sniegti')} "
        f"{n(f['measures_delivered'])}, no tiem vismaz {pct(0.8)} apjomā {n(f['at_threshold'])}",
        f"Stundas: plānotas {n(f['hours_planned'], 1)}, sniegtas {n(f['hours_delivered'], 1)}",
        f"Finansējums: izlietoti {n(f['used_eur'])} EUR no maksimāli pieejamajiem "
        f"{n(f['cap_eur'])} EUR ({pct(f['used_share'])}); plānoti {n(f['planned_eur'])} EUR",
        f"mācību priekšmetos saņem {pct(share(f['consult'], pupils))} skolēnu "
        f"({n(f['consult'])}):",
        *(f"- {catalogue.subjects[s].lv}: {pct(share(c, pupils))} ({n(c)} "
          f"{plural(c, 'skolēns', 'skolēni')})" for s, c in f["subjects"].items()),
        *(f"- {label.lv}: {n(f['risks'].get(r, 0))} ({pct(share(f['risks'].get(r, 0), pupils))})"
          for r, label in catalogue.risk_categories.items()),
        *(f"- {catalogue.measures[m].lv}: {n(c)} / {n(f['delivered_by_measure'].get(m, 0))}"
          for m, c in f["by_measure"].items()),
        f"Izvērtēti plāni: {n(f['evaluated'])}; gaida izvērtējumu: {n(f['awaiting'])}",
    ]  # fmt: skip
    if f["evaluated"]:
        lines += [f"Vidējā izpilde (sniegtais pret plānoto): {pct(f['mean'])}"]
        lines += [f"- {BINS[b]}: {n(c)} ({pct(share(c, f['evaluated']))})"
                  for b, c in f["bins"].items()]  # fmt: skip
        words = {"improved": "uzlabojās", "no_change": "bez izmaiņām", "worse": "pasliktinājās"}
        lines += ["Rezultāts: " + ", ".join(f"{w} {n(f['outcomes'].get(o, 0))}"
                                            for o, w in words.items())]  # fmt: skip
    headline = {
        "Skolēni ar atbalsta plānu": "pupils",
        "Apstiprināti atbalsta plāni": "plans",
        "Iesaistītie pedagogi un speciālisti": "providers",
        "Sniegtie atbalsta pasākumi": "measures_delivered",
        "Sniegtās stundas": "hours_delivered",
        "Izlietotais finansējums, EUR": "used_eur",
    }
    lines += [f"- {label}: {n(f[key])} (iepriekš {n(before[key])}; "
              for label, key in headline.items()]  # fmt: skip
    return lines


def child_line(ctx: Context, name: str, f: dict[str, Any]) -> str:
    return (
        f"- {name}: {n(f['pupils'])} {plural(f['pupils'], 'skolēns', 'skolēni')}, "
        f"{n(f['plans'])} {plural(f['plans'], 'apstiprināts plāns', 'apstiprināti plāni')}, "
        f"{plural(f['evaluated'], 'izvērtēts', 'izvērtēti')} {n(f['evaluated'])}, "
        f"vidējā izpilde {pct(f['mean'])}, izlietoti "
        f"{n(f['used_eur'])} EUR ({pct(f['used_share'])} no maksimālā)"
    )


def summaries(smtp: SmtpSink) -> dict[str, EmailMessage]:
    """Return the received summaries by recipient."""
    found = {}
    for item in smtp.received:
        message = item.message()
        if "semestra kopsavilkums" in str(message["Subject"]):
            found[item.recipients[0]] = message
    return found


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content()).replace("\r\n", "\n")


def test_every_figure_of_every_summary_matches_the_database(
    generated: Context, smtp: SmtpSink, after_deadline: None
) -> None:
    ctx = generated
    result = send_summaries()  # the latest semester whose evaluation deadline has passed
    now, before = tables(ctx, SEMESTER.code), tables(ctx, SEMESTER.previous().code)
    units = [("school", s.code, s.name, s.coordinator.email) for s in ctx.config.schools]
    units += [
        ("municipality", m.code, m.name, m.coordinator.email)
        for m in ctx.config.municipalities().values()
        if m.coordinator
    ]
    units += [("region", r.code, r.name, r.coordinator.email) for r in ctx.config.regions]
    units += [("nation", "LV", "Latvija", "pmp@ikvd.example")]
    units = [u for u in units if len(now.plans[now.plans[u[0]] == u[1]])]
    received = summaries(smtp)
    assert sorted(received) == sorted(email for *_, email in units)
    assert result["semester"] == SEMESTER.code and result["mail_left_queued"] == 0
    for level in ("school", "municipality", "region", "nation"):
        assert result[f"summaries_{level}"] == sum(u[0] == level for u in units)
    assert count(result, "summaries_municipality") >= 5  # most generated municipalities have one
    refs = set(ctx.sessions().scalars(select(Pupil.ref)))
    for level, code, name, email in units:
        message, figures = received[email], recompute(now, level, code)
        body = text_of(message)
        assert message["Subject"] == f"PuMPuRS 2026/2027-1: semestra kopsavilkums — {name}"
        for line in expected_lines(ctx, figures, recompute(before, level, code)):
            assert line in body, (name, line)
        if level != "school":
            child = "region" if level == "nation" else "school"
            for c in (u for u in units if u[0] == child):
                if (
                    level == "nation"
                    or now.plans.loc[now.plans[child] == c[1], level].eq(code).all()
                ):
                    assert child_line(ctx, c[2], recompute(now, child, c[1])) in body
        html = message.get_body(("html",))
        assert isinstance(html, EmailMessage)
        assert not any(ref in body or ref in str(html.get_content()) for ref in refs)
    assert_workbook(ctx, received["pmp@ikvd.example"], now)
    assert_artifacts(now, units)


def assert_workbook(ctx: Context, message: EmailMessage, now: Tables) -> None:
    """Check the national XLSX: a sheet per level, a row per unit, its figures as recomputed."""
    regions = ctx.config.regions
    codes = {"nation": ["LV"], "region": [r.code for r in regions],
             "municipality": [m.code for r in regions for m in r.municipalities],
             "school": [s.code for s in ctx.config.schools]}  # fmt: skip
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "raditaji_LV_2026-2027-1.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(attachment.get_content()))
    assert book.sheetnames == ["Valsts", "Reģioni", "Pašvaldības", "Skolas", "Paskaidrojumi"]
    columns = {
        "Skolēni ar apstiprinātu plānu": "pupils",
        "Apstiprināti plāni (ieskaitot izvērtētos)": "plans",
        "Pedagogi un speciālisti (skaitīti katrā skolā)": "providers",
        "Pasākumi izvērtējumos": "measures_reported",
        "Izlietotais finansējums, EUR": "used_eur",
        "Izvērtēti plāni, visi": "evaluated",
        "Apstiprināti plāni, kas gaida izvērtējumu": "awaiting",
    }
    levels = ("nation", "region", "municipality", "school")
    for sheet, level in zip(list(book)[:4], levels, strict=True):
        header = [c.value for c in sheet[1]]
        assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == codes[level]
        for row in sheet.iter_rows(min_row=2, values_only=True):
            figures = recompute(now, level, str(row[0]))
            for title, key in columns.items():
                assert row[header.index(title)] == figures[key], (level, row[0], title)


def assert_artifacts(now: Tables, units: list[tuple[str, str, str, str]]) -> None:
    """Check the dashboard: per-region and per-school tables, summary, charts, progress."""
    for level, part in (("region", "regions"), ("school", "schools")):
        rows = json.loads(str(latest_artifact(f"summaries-2026-2027-1-{part}")["data"]))
        assert [r["code"] for r in rows] == [u[1] for u in units if u[0] == level]
        for row in rows:
            f = recompute(now, level, row["code"])
            assert row | {
                "pupils": f["pupils"], "plans": f["plans"],
                "plans_all": sum(f["status"].values()), "evaluated": f["evaluated"],
                "awaiting": f["awaiting"], "providers": f["providers"],
                "measures_planned": f["measures_planned"],
                "measures_delivered": f["measures_delivered"], "used_eur": f["used_eur"],
                "cap_eur": f["cap_eur"],
                "mean_fulfilment_pct": None if f["mean"] is None else round(100 * f["mean"], 1),
                "used_of_cap_pct": round(100 * f["used_share"], 1),
            } == row  # fmt: skip
    nation = recompute(now, "nation", "LV")
    summary = str(latest_artifact("summaries-2026-2027-1-summary")["data"])
    assert f"Skolēni ar atbalsta plānu: {n(nation['pupils'])}" in summary
    assert "Salīdzinājums ar semestri 2025/2026-2." in summary
    charts = str(latest_artifact("summaries-2026-2027-1-charts")["data"])
    assert charts.count("](data:image/png;base64,") == 4
    assert latest_artifact("summaries-2026-2027-1-progress")["data"] == 100.0


def test_a_rerun_sends_nothing_and_force_sends_again(
    context: Context, smtp: SmtpSink, after_deadline: None
) -> None:
    store_plan(context, "P-001", [hours("psychologist", 2)])
    store_plan(context, "P-002", [hours("psychologist", 2)], school="LV-DAU-010")
    first = send_summaries(SEMESTER.code)
    levels = ("school", "municipality", "region", "nation")
    assert [first[f"summaries_{level}"] for level in levels] == [2, 1, 2, 1]  # Liepāja's city
    sent = len(smtp.received)
    again = send_summaries(SEMESTER.code)
    assert (again["summaries_sent_before"], again["mail_sent"], len(smtp.received)) == (6, 0, sent)
    forced = send_summaries(SEMESTER.code, force=True)
    assert (forced["summaries_sent_before"], forced["mail_sent"]) == (0, 6)
    assert len(smtp.received) == sent + 6
    assert "Atkārtota izsūtīšana (force)" in str(
        latest_artifact("summaries-2026-2027-1-summary")["data"]
    )
    assert send_summaries(SEMESTER.code)["mail_sent"] == 0


def test_mail_that_cannot_go_fails_the_run_and_goes_on_the_next(
    context: Context, smtp: SmtpSink, after_deadline: None
) -> None:
    store_plan(context, "P-001", [hours("psychologist", 2)])
    smtp.stop()
    with pytest.raises(MailNotDelivered):
        send_summaries(SEMESTER.code)
    smtp.start()
    result = send_summaries(SEMESTER.code)
    assert (result["summaries_sent_before"], result["mail_sent"]) == (4, 4)
    assert sorted(summaries(smtp)) == [
        "iaps@raina6.liepaja.example",
        "koordinators@kurzeme.example",
        "koordinators@liepaja.example",
        "pmp@ikvd.example",
    ]


BEFORE_DEADLINE = dt.datetime(2027, 1, 4, 8, tzinfo=dt.UTC)  # the deadline is 05.01.2027.


def test_before_the_deadline_nothing_goes_unless_provisional_and_the_final_still_goes_later(
    context: Context, smtp: SmtpSink, capsys: pytest.CaptureFixture[str]
) -> None:
    from pumpurs.app.cli import main

    store_plan(context, "P-001", [hours("psychologist", 2)])
    with time_machine.travel(BEFORE_DEADLINE, tick=True):
        assert main(["summaries", "2026/2027-1"]) == 2
        error = capsys.readouterr().err
        assert error == (
            "pumpurs: Semestra 2026/2027-1 izvērtējumu iesniegšanas termiņš ir 05.01.2027.: "
            "izvērtējumi vēl var pienākt, tāpēc kopsavilkumi nebūtu galīgi. Sūtiet tos pēc "
            "termiņa vai tagad kā provizoriskus: pumpurs summaries 2026/2027-1 --provisional\n"
        )
        assert smtp.received == []
        with context.sessions() as session:
            assert session.scalar(text("SELECT count(*) FROM outbox_message")) == 0
        assert main(["summaries", "2026/2027-1", "--provisional", "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert (result["mail_sent"], result["summaries_school"]) == (4, 1)
        assert main(["summaries", "2026/2027-1", "--provisional"]) == 0  # once a day
    provisional = [r.message() for r in smtp.received]
    assert len(provisional) == 4
    for message in provisional:
        assert str(message["Subject"]).startswith("[Provizorisks] PuMPuRS 2026/2027-1: ")
        assert "PROVIZORISKS. Izvērtējumu iesniegšanas termiņš ir 05.01.2027." in text_of(message)
    with time_machine.travel(AFTER_DEADLINE, tick=True):
        assert main(["summaries", "2026/2027-1", "--provisional"]) == 2  # final now, not that
        assert "izvērtējumu iesniegšanas termiņš ir beidzies" in capsys.readouterr().err
        final = send_summaries(SEMESTER.code)
        assert (final["summaries_sent_before"], final["mail_sent"]) == (0, 4)
        assert send_summaries(SEMESTER.code)["mail_sent"] == 0
    finals = [r.message() for r in smtp.received[4:]]
    assert sorted(r.recipients[0] for r in smtp.received[4:]) == sorted(
        r.recipients[0] for r in smtp.received[:4]
    )
    assert not [m for m in finals if "Provizorisks" in str(m["Subject"]) + text_of(m)]


def test_to_one_party_sends_only_to_it_and_again_where_it_had_it(
    context: Context, smtp: SmtpSink, after_deadline: None
) -> None:
    store_plan(context, "P-001", [hours("psychologist", 2)])
    store_plan(context, "P-002", [hours("psychologist", 2)], school="LV-DAU-010")
    first = send_summaries(SEMESTER.code, to="LV-DAU-010")  # never sent: it goes as the final
    assert (first["summaries_school"], first["mail_sent"]) == (1, 1)
    assert [r.recipients for r in smtp.received] == [["iaps@10vsk.daugavpils.example"]]
    everybody = send_summaries(SEMESTER.code)  # the daily run: everybody else, Daugavpils not
    assert (everybody["summaries_sent_before"], everybody["mail_sent"]) == (1, 5)
    for party, address in [
        ("kurzeme", "koordinators@kurzeme.example"),
        ("liepaja", "koordinators@liepaja.example"),
        ("pmp@ikvd.example", "pmp@ikvd.example"),
    ]:
        before = len(smtp.received)
        result = send_summaries(SEMESTER.code, to=party)  # had it: it goes again
        assert result["mail_sent"] == 1, party
        assert [r.recipients for r in smtp.received[before:]] == [[address]]
    with pytest.raises(UserError, match="daugavpils gets no summary"):
        send_summaries(SEMESTER.code, to="daugavpils")  # a municipality without a coordinator
    assert len(smtp.received) == 9
