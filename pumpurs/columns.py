"""The columns of plan-draft and evaluation files (DESIGN.md §5) with their template labels.

Files may use the English key or the Latvian label as the header; both are matched ignoring
case and surrounding spaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

_CAP = "{cap}"


@dataclass(frozen=True)
class Column:
    key: str
    lv: str
    en: str
    note_lv: str  # may hold {cap}: the programme's monthly EUR cap
    note_en: str

    def note(self, language: str, cap: str) -> str:
        """Return the template's note for this column, with the monthly cap filled in."""
        return (self.note_en if language == "en" else self.note_lv).replace(_CAP, cap)

    @cached_property
    def note_pattern(self) -> re.Pattern[str]:
        """Match this column's note in either language, written under any cap (normalised)."""
        spellings = (normalise_header(self.note_lv), normalise_header(self.note_en))
        parts = [
            re.escape(text).replace(re.escape(_CAP), r"[\d\s.,\u00a0\u202f]+") for text in spellings
        ]
        return re.compile("|".join(f"(?:{part})" for part in parts))


PLAN_COLUMNS: tuple[Column, ...] = (
    Column(
        "school_code",
        "Izglītības iestādes kods",
        "School code",
        "Skolas kods no uzaicinājuma",
        "The school's code from the invitation",
    ),
    Column(
        "pupil_ref",
        "Skolēna identifikators",
        "Pupil reference",
        "Skolas piešķirts pseidonīms, 3–32 zīmes; nekad personas kods",
        "A pseudonym chosen by the school, 3–32 characters; never a personal code",
    ),
    Column(
        "grade",
        "Klase",
        "Grade",
        "Klase skaitlis, piem. 7",
        "Grade as a number, e.g. 7",
    ),
    Column(
        "risk_categories",
        "Riska grupas",
        "Risk categories",
        "Viena vai vairākas, atdalītas ar ;",
        "One or more, separated by ;",
    ),
    Column(
        "goal",
        "Plāna mērķis",
        "Goal",
        "Ko plāns vēlas sasniegt",
        "What the plan aims at",
    ),
    Column(
        "measure",
        "Atbalsta pasākums",
        "Measure",
        "Izvēlieties no saraksta",
        "Choose from the list",
    ),
    Column(
        "subject",
        "Mācību priekšmets",
        "Subject",
        "Tikai individuālajām konsultācijām",
        "Only for subject consultations",
    ),
    Column(
        "provider_ref",
        "Pedagoga/speciālista identifikators",
        "Provider reference",
        "Kas sniedz atbalstu (stundu pasākumiem)",
        "Who delivers it (hour-based measures)",
    ),
    Column(
        "hours_per_month",
        "Stundas mēnesī",
        "Hours per month",
        "Stundu pasākumiem, > 0",
        "For hour-based measures, > 0",
    ),
    Column(
        "eur_per_month",
        "EUR mēnesī",
        "EUR per month",
        "Kompensācijām; kopā ≤ {cap} EUR mēnesī",
        "For compensations; total ≤ {cap} EUR a month",
    ),
)

EVALUATION_COLUMNS: tuple[Column, ...] = (
    PLAN_COLUMNS[0],
    PLAN_COLUMNS[1],
    PLAN_COLUMNS[5],
    PLAN_COLUMNS[6],
    Column(
        "delivered_hours",
        "Sniegtās stundas",
        "Delivered hours",
        "Semestrī faktiski sniegtās stundas",
        "Hours actually delivered in the semester",
    ),
    Column(
        "spent_eur",
        "Izlietotie EUR",
        "Spent EUR",
        "Semestrī faktiski izlietotie EUR",
        "EUR actually spent in the semester",
    ),
    Column(
        "outcome",
        "Rezultāts",
        "Outcome",
        "improved, no_change vai worse",
        "improved, no_change or worse",
    ),
    Column("continue", "Turpināt", "Continue", "yes vai no", "yes or no"),
    Column("comment", "Komentārs", "Comment", "Brīvs teksts", "Free text"),
)


def header_aliases(columns: tuple[Column, ...]) -> dict[str, str]:
    """Return every accepted header spelling, normalised, mapped to its column key."""
    aliases: dict[str, str] = {}
    for column in columns:
        for spelling in (column.key, column.lv, column.en):
            aliases[normalise_header(spelling)] = column.key
    return aliases


def normalise_header(text: str) -> str:
    """Return a header in the form used for matching: trimmed, lowercase, single spaces."""
    return " ".join(str(text).replace("\ufeff", "").split()).lower()
