"""Who gets which summary, under which dedupe key, and whether the figures are final yet.

A summary goes to the people of each unit with plans: a school's coordinator, a municipality's
coordinator (where one is configured), a region's coordinator, and the managers of
`summary_recipients` for the nation. It is queued once per recipient, unit and semester; a
provisional one (before the evaluation deadline) has keys of its own, one per day, so the
final send after the deadline still goes to everybody once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from pumpurs.config import Config, Person
from pumpurs.errors import UserError
from pumpurs.i18n.catalogue import N_
from pumpurs.i18n.formats import fmt_day
from pumpurs.semester import SemesterCode
from pumpurs.store.reference import StoredSemester
from pumpurs.summaries.content import Figures, Unit, total_plans, unit_names
from pumpurs.summaries.figures import NATION

KIND = "summary"
LEVELS = ("school", "municipality", "region", "nation")
MAX_KEY = 255


@dataclass(frozen=True)
class SummaryRun:
    """What a run sends: every summary or one party's, final or provisional, new or again.

    `again` is the run's own suffix: with `to` unset every summary goes once more under it
    (force); with `to` set, only that party's, and only those it had before.
    """

    provisional: bool = False
    again: str | None = None
    to: str | None = None


def summary_key(code: SemesterCode, unit: Unit, email: str, suffix: str | None = None) -> str:
    """Return the dedupe key of one recipient's summary of one unit (`summary:…:school:X:a@b`)."""
    key = f"{KIND}:{code.code}:{unit.level}:{unit.code}:{email.lower()}"
    key += f":{suffix}" if suffix else ""
    if len(key) <= MAX_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"{key[: MAX_KEY - 25]}#{digest}"


def provisional_suffix(today: dt.date) -> str:
    """Return the key suffix of a provisional summary made today."""
    return f"provisional-{today.isoformat()}"


def check_timing(
    semester: StoredSemester, today: dt.date, provisional: bool, language: str
) -> None:
    """Raise a UserError if the summaries cannot be sent as asked today: final ones before the
    evaluation deadline has passed, or provisional ones after it."""
    deadline = semester.evaluation_deadline
    params = {"code": semester.code.code, "day": fmt_day(deadline, language)}
    if not provisional and today <= deadline:
        raise UserError(
            N_(
                "The evaluation deadline of semester %(code)s is %(day)s: evaluations may still "
                "arrive, so its summaries would not be final. Send them after the deadline, or "
                "now as provisional ones: pumpurs summaries %(code)s --provisional"
            ),
            **params,
        )
    if provisional and today > deadline:
        raise UserError(
            N_(
                "The evaluation deadline of semester %(code)s has passed (%(day)s): its "
                "summaries are final. Send them without --provisional."
            ),
            **params,
        )


def units_with_plans(config: Config, figures: Figures, language: str) -> list[Unit]:
    """Return the schools, municipalities, regions and the nation with at least one plan."""
    names = unit_names(config, language)
    return [
        Unit(level, code, names.get((level, code), code))
        for level in LEVELS
        for lvl, code in sorted(figures)
        if lvl == level and total_plans(figures[(lvl, code)])
    ]


def people(config: Config, unit: Unit) -> list[Person]:
    """Return who receives the unit's summary (nobody: a municipality without a coordinator)."""
    if unit.level == "school":
        school = config.school(unit.code)
        return [school.coordinator] if school is not None else []
    if unit.level == "municipality":
        municipality = config.municipalities().get(unit.code)
        coordinator = municipality.coordinator if municipality is not None else None
        return [coordinator] if coordinator is not None else []
    if unit.level == "region":
        return [r.coordinator for r in config.regions if r.code == unit.code]
    return list(config.programme.summary_recipients)


def recipients(config: Config, figures: Figures, language: str) -> list[tuple[Unit, Person]]:
    """Return who gets which summary: each unit with plans and its people."""
    return [
        (unit, person)
        for unit in units_with_plans(config, figures, language)
        for person in people(config, unit)
    ]


def for_party(
    chosen: list[tuple[Unit, Person]], config: Config, party: str, code: SemesterCode
) -> list[tuple[Unit, Person]]:
    """Return the summaries of one party: a unit's (`LV-LIE-006`, `liepaja`, `kurzeme`, `LV`,
    or `municipality:riga` where a code names two levels) or one recipient's (an address).

    Raise a UserError naming the problem when nothing of this semester is for the party.
    """
    wanted = party.strip().lower()
    if "@" in wanted:
        found = [(u, p) for u, p in chosen if p.email.lower() == wanted]
        if not found:
            raise UserError(
                N_("Nobody with the address %(party)s gets a summary of semester %(code)s."),
                party=party.strip(),
                code=code.code,
            )
        return found
    level, _, unit_code = wanted.rpartition(":")
    levels = [lvl for lvl, code_ in _known_units(config) if code_ == unit_code]
    if level:
        levels = [lvl for lvl in levels if lvl == level]
    if len(levels) > 1:
        raise UserError(
            N_("“%(party)s” is the code of more than one kind of unit: write one of %(examples)s."),
            party=party.strip(),
            examples=", ".join(f"{lvl}:{unit_code}" for lvl in levels),
        )
    if not levels:
        raise UserError(
            N_(
                "No school, municipality or region has the code “%(party)s”, and it is not an "
                "email address."
            ),
            party=party.strip(),
        )
    found = [(u, p) for u, p in chosen if u.level == levels[0] and u.code.lower() == unit_code]
    if not found:
        raise UserError(
            N_(
                "%(party)s gets no summary of semester %(code)s: it has no plans, or nobody is "
                "configured to receive its summary."
            ),
            party=party.strip(),
            code=code.code,
        )
    return found


def _known_units(config: Config) -> list[tuple[str, str]]:
    """Return every unit of the configuration as (level, lower-case code)."""
    units = [("nation", NATION.lower())]
    units += [("region", r.code.lower()) for r in config.regions]
    units += [("municipality", m.lower()) for m in config.municipalities()]
    units += [("school", s.code.lower()) for s in config.schools]
    return units
