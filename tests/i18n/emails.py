"""Realistic contexts for every email template, with one count set to the number asked for.

Each email names the counted phrases it has and what the Latvian text must then say: the
forms for 0 (and 10–20, 30 …), for 1 (and 21, 31 … but not 11) and for the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from pumpurs.approvals.views import MeasureLine, PlanView
from pumpurs.i18n.formats import NBSP

SEMESTER = SimpleNamespace(
    code="2026/2027-1",
    starts_on=dt.date(2026, 9, 1),
    ends_on=dt.date(2026, 12, 22),
    submission_deadline=dt.date(2026, 9, 22),
    evaluation_deadline=dt.date(2027, 1, 5),
)
SCHOOL = SimpleNamespace(name="Liepājas Raiņa 6. vidusskola", code="LV-LIE-006")
PLAN = PlanView(
    plan_id=17,
    semester="2026/2027-1",
    school_code="LV-LIE-006",
    school_name="Liepājas Raiņa 6. vidusskola",
    municipality="Liepāja",
    region="Kurzeme",
    pupil_ref="S-0421",
    revision=2,
    grade=7,
    goal="Uzlabot matemātikas vērtējumu līdz 6 ballēm.",
    submitted_at=dt.datetime(2026, 9, 15, 9, tzinfo=dt.UTC),
    risks=["mācību darba riski", "ar ģimeni saistītie riski"],
    measures=[
        MeasureLine(
            "subject_consultation", "individuālās konsultācijas", "matemātika", "T-12", 4.0, None
        ),
        MeasureLine("meals", "ēdināšanas izdevumu kompensācija", None, None, None, 63.5),
    ],
)


def lv(n: int, one: str, other: str, zero: str | None = None) -> str:
    """Return the Latvian form a count takes: CLDR's zero (0, 10–20, 30 …), one (1, 21 …), other."""
    if n % 10 == 0 or 11 <= n % 100 <= 19:
        return zero if zero is not None else other
    return one if n % 10 == 1 else other


@dataclass(frozen=True)
class Email:
    """An email template with a realistic context; `counted(n)` lists the phrases for `n`."""

    name: str
    context: Callable[[int], dict[str, Any]]
    counted: Callable[[int], list[str]]


def _items(n: int) -> list[dict[str, Any]]:
    link = "https://pumpurs.example.lv/a/AbC.1"
    return [{"plan": PLAN, "link": link, "role": "regional_coordinator", "age_days": n}]


def digest(n: int) -> dict[str, Any]:
    return {
        "items": _items(n),
        "count": 1,
        "more": n,
        "pending_link": "https://pumpurs.example.lv/p/XyZ.2",
        "waiting": n + 1,
        "semester": SEMESTER.code,
        "expires_on": dt.date(2026, 10, 6),
    }


def escalation(n: int) -> dict[str, Any]:
    row = {
        "plan_id": 17,
        "region": "Kurzeme",
        "school": "Liepājas Raiņa 6. vidusskola (LV-LIE-006)",
        "approver": "koordinators@kurzeme.example",
        "role": "regional_coordinator",
        "role_name": "reģionālais koordinators",
        "since": dt.date(2026, 9, 15),
        "days": n,
    }
    waiting = {
        "region": "Kurzemes reģions",
        "approver": "koordinators@kurzeme.example",
        "role_name": "reģionālais koordinators",
        "waiting": n,
        "overdue": n,
        "since": dt.date(2026, 9, 15),
        "days": n,
    }
    return {
        "waiting": [waiting],
        "waiting_total": n,
        "rows": [row],
        "count": 1,
        "more": n,
        "escalation_days": n,
        "semester": SEMESTER.code,
        "live_view": "https://prefect.example.lv/artifacts/key/semester-status-2026-2027-1-headline",
    }


def evaluation_reminder(n: int) -> dict[str, Any]:
    return {
        "school": SCHOOL,
        "semester": SEMESTER,
        "pupils": [f"S-{i:04d}" for i in range(n)],
        "inbox_path": "2026-2027-1/LV-LIE-006/evaluation/",
        "page_url": "https://pumpurs.example.lv/s/abc.def" if n % 3 else None,
        "shared_folder": bool(n % 2),
    }


def intake_report(kind: str) -> Callable[[int], dict[str, Any]]:
    def context(n: int) -> dict[str, Any]:
        read = {"name": "plani.csv", "problem": None, "read": n, "accepted": n, "rejected": n}
        problem = "Faila “vecs.xls” formāts netiek pieņemts."
        unreadable = {
            "name": "vecs.xls",
            "problem": problem,
            "read": 0,
            "accepted": 0,
            "rejected": 0,
        }
        rejected = {
            "file": "LV-LIE-006/plani.csv",
            "row_number": 4,
            "column": "hours_per_month",
            "message": "Stundas mēnesī ir 25, bet drīkst būt ne vairāk kā 20.",
        }
        plans = dict.fromkeys(
            ("new", "revised", "unchanged", "evaluated", "continued", "closed", "corrected"), n
        )
        return {
            "kind": kind,
            "school": SCHOOL,
            "semester": SEMESTER.code,
            "files": [read, unreadable],
            "plans": plans | {"missing": n},
            "rejected": [rejected],
            "rejected_total": n + 1,
            "rejected_rows": n,
            "column_label": lambda key: "Stundas mēnesī",
            "page_url": "https://pumpurs.example.lv/s/abc.def" if n % 2 else None,
        }

    return context


def invitation(n: int) -> dict[str, Any]:
    return {
        "school": SCHOOL,
        "semester": SEMESTER,
        "template_name": "IAP_veidne_LV-LIE-006_2026-2027-1.xlsx",
        "cap": 300,
        "max_hours": float(n),
        "inbox_path": "2026-2027-1/LV-LIE-006/plans/",
        "page_url": "https://pumpurs.example.lv/s/abc.def",
        "shared_folder": bool(n % 2),
        "continuing": n,
    }


def plan_returned(n: int) -> dict[str, Any]:
    return {
        "plan": PLAN,
        "reason": "Precizējiet plāna mērķi: tam jābūt izmērāmam līdz semestra beigām.",
        "approver": "koordinators@kurzeme.example",
        "decided_at": dt.datetime(2026, 10, 2, 14, 5),
        "inbox_path": "2026-2027-1/LV-LIE-006/plans/",
        "page_url": "https://pumpurs.example.lv/s/abc.def",
        "shared_folder": bool(n % 2),
    }


def summary(n: int, level: str = "nation", provisional: bool = False) -> dict[str, Any]:
    budget = {
        "used_eur": 153000,
        "cap_eur": 733200,
        "used_share_of_cap": 0.2087,
        "planned_eur": 180000,
    }
    f = {
        "pupils": 611,
        "plans": 611,
        "providers": 317,
        "months": n,
        "measures": {"planned": n, "delivered": n, "at_threshold": 1200},
        "hours": {"planned": 12345.5, "delivered": 10012.0},
        "budget": budget,
        "subject_consultations": {"share": 0.37, "pupils": 226},
        "fulfilment": {"evaluated": 599, "awaiting": 12, "mean_weighted_ratio": 0.873},
    }
    child = {
        "name": "Kurzeme",
        "pupils": n,
        "plans": n,
        "plans_all": n,
        "plans_evaluated": n,
        "plans_approved": 0,
        "plans_pending": 0,
        "evaluated": n,
        "mean_fulfilment": 0.9,
        "used_eur": 30500,
        "used_share": 0.21,
        "schools_with_plans": n,
        "schools_invited": 30,
        "bar": [
            {"key": "evaluated", "width": 100, "inner": 100},
            {"key": "approved", "width": 0, "inner": 0},
            {"key": "pending", "width": 0, "inner": 0},
        ],
        "bar_width": 100,
    }
    name = {"nation": "Latvija", "municipality": "Liepājas valstspilsēta"}[level]
    return {
        "level": level,
        "page_url": "https://pumpurs.example.lv/s/abc.def" if level == "school" else None,
        "unit": SimpleNamespace(level=level, code="LV", name=name),
        "f": f,
        "plans_all": 640,
        "statuses": [{"key": "approved", "label": "apstiprināti, gaida izvērtējumu", "plans": 12}],
        "subjects": [
            {"key": "mathematics", "label": "matemātika", "share": 0.3, "pupils": n, "width": 30}
        ],
        "risks": [
            {
                "key": "learning",
                "label": "mācību darba riski",
                "pupils": 400,
                "share": 0.65,
                "width": 65,
            }
        ],
        "measures": [
            {
                "key": "psychologist",
                "label": "psihologa konsultācijas",
                "planned": 300,
                "delivered": 280,
            }
        ],
        "bins": [
            {
                "key": "ge_80",
                "label": f"80{NBSP}% un vairāk",
                "plans": 450,
                "share": 0.75,
                "width": 75,
            }
        ],
        "outcomes": [{"label": "uzlabojās", "plans": 400}, {"label": "pasliktinājās", "plans": 9}],
        "changes": [
            {
                "key": "pupils",
                "label": "Skolēni ar atbalsta plānu",
                "now": "611",
                "before": "590",
                "change": f"+21 (+4{NBSP}%)",
            }
        ],
        "children": [child],
        "groups": [
            {"key": "evaluated", "label": "izvērtēti"},
            {"key": "approved", "label": "apstiprināti, gaida izvērtējumu"},
            {"key": "pending", "label": "vēl nav apstiprināti"},
        ],
        "participation": {
            "with_plans": n,
            "invited": 30,
            "without": 30 - n,
            "missing": ["Liepājas Liedaga vidusskola"] if level == "municipality" else [],
            "by_region": [{"name": "Kurzemes reģions", "without": n, "invited": 30}]
            if level == "nation"
            else [],
        },
        "pupil_schools": n,
        "largest": [
            {
                "name": "Liepājas Raiņa 6. vidusskola",
                "pupils": 120,
                "line": "Liepājas Raiņa 6. vidusskola (120)",
            }
        ],
        "threshold": 0.8,
        "monthly_cap": 300,
        "semester": SEMESTER,
        "prepared_on": dt.date(2027, 1, 20),
        "previous_code": "2025/2026-2",
        "provisional": provisional,
        "workbook": "raditaji_LV_2026-2027-1.xlsx",
    }


def municipality_summary(n: int) -> dict[str, Any]:
    return summary(n, "municipality", provisional=True)


def fresh_digest(n: int) -> dict[str, Any]:
    return {**digest(n), "fresh": True}


def _more_plans(n: int) -> list[str]:
    return [f"Vēl plāni, kas šajā vēstulē nav uzskaitīti: {n}."] if n else []


def _waiting(n: int) -> list[str]:
    return [f"gaida {n} {lv(n, 'dienu', 'dienas')}"]


def _escalated(n: int) -> list[str]:
    days = lv(n, "dienu", "dienas")
    return [
        f"plāni gaida lēmumu {n} {days} vai ilgāk (1)",
        f"gaida apstiprinātāja lēmumu {n} {days} vai ilgāk",
        f"gaida {n} {lv(n, 'plāns', 'plāni')}, no tiem {n} {days} vai ilgāk: {n}; "
        f"vecākais gaida kopš 15.09.2026. ({n} {lv(n, 'diena', 'dienas')})",
    ]


def _missing(n: int) -> list[str]:
    return [f"nav saņemts izvērtējums {n} atbalsta {lv(n, 'plānam', 'plāniem')}"]


def _file_line(n: int) -> str:
    return (
        f"plani.csv: {n} {lv(n, 'rinda', 'rindas')}, {lv(n, 'pieņemta', 'pieņemtas')} {n}, "
        f"{lv(n, 'noraidīta', 'noraidītas')} {n}"
    )


def _plans_report(n: int) -> list[str]:
    new, revised = lv(n, "jauns", "jauni"), lv(n, "atjaunots", "atjaunoti")
    lines = [_file_line(n), f"Plāni: {new} {n}, {revised} {n}, bez izmaiņām {n}."]
    return lines + ([f"… un vēl {n} {lv(n, 'kļūda', 'kļūdas')} pielikumā."] if n else [])


def _evaluation_report(n: int) -> list[str]:
    plans = lv(n, "apstiprinātam plānam", "apstiprinātiem plāniem")
    return [_file_line(n)] + ([f"Vēl nav saņemts izvērtējums {n} {plans}."] if n else [])


def _invited(n: int) -> list[str]:
    lines = [f"viena pasākuma stundas — {n} {lv(n, 'stunda', 'stundas')} mēnesī"]
    if n:
        listed, pupils = lv(n, "ierakstīts", "ierakstīti"), lv(n, "skolēns", "skolēni")
        lines.append(f"Veidnē jau {listed} {n} {pupils}, {lv(n, 'kura plāns', 'kuru plāni')}")
    return lines


def _summarised(n: int) -> list[str]:
    pupils, plans = lv(n, "skolēns", "skolēni"), lv(n, "apstiprināts plāns", "apstiprināti plāni")
    return [
        f"EUR skolēnam mēnesī, {n} {lv(n, 'mēnesis', 'mēneši')}",
        f"- matemātika: 30{NBSP}% ({n} {pupils})",
        f"- Kurzeme: {n} {pupils}, {n} {plans}, {lv(n, 'izvērtēts', 'izvērtēti')} {n}, "
        f"vidējā izpilde 90{NBSP}%",
        f"Atbalsta pasākumi: {lv(n, 'plānots', 'plānoti')} {n}, {lv(n, 'sniegts', 'sniegti')} {n}",
        f"Skolas, kas iesniedza plānus: {n} {lv(n, 'skola', 'skolas')} no 30",
        f"- Plānus neiesniedza, Kurzemes reģions: {n} {lv(n, 'skola', 'skolas')} no 30",
        f"611 skolēni ar atbalsta plānu no {n} {lv(n, 'skolas', 'skolām')}.",
        f"{n} {lv(n, 'plāns', 'plāni')}:" + (f" izvērtēti {n}" if n else ""),  # parts above 0
        f"plānus iesniedza {n} {lv(n, 'skola', 'skolas')} no 30",
    ]


def _summarised_municipality(n: int) -> list[str]:
    return [
        "[Provizorisks] PuMPuRS 2026/2027-1: semestra kopsavilkums",
        "PROVIZORISKS. Izvērtējumu iesniegšanas termiņš ir 05.01.2027.",
        "Plānus neiesniedza: Liepājas Liedaga vidusskola.",
        "Visvairāk skolēnu ar plānu: Liepājas Raiņa 6. vidusskola (120).",
        f"Skolas, kas iesniedza plānus: {n} {lv(n, 'skola', 'skolas')} no 30",
    ]


def _fresh(n: int) -> list[str]:
    return [f"Gaida jūsu lēmumu: {n + 1}.", "katrs ar jaunu saiti"]


EMAILS = [
    Email("approval_digest", digest, _more_plans),
    Email("approval_reminder", digest, _waiting),
    Email("escalation", escalation, _escalated),
    Email("evaluation_reminder", evaluation_reminder, _missing),
    Email("intake_report", intake_report("plans"), _plans_report),
    Email("intake_report", intake_report("evaluation"), _evaluation_report),
    Email("invitation", invitation, _invited),
    Email("plan_returned", plan_returned, lambda n: []),
    Email("summary", summary, _summarised),
    Email("summary", municipality_summary, _summarised_municipality),
    Email("approval_digest", fresh_digest, _fresh),
]
COUNTS = (0, 1, 2, 10, 21, 22)
