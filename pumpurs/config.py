"""Programme configuration from YAML files in the config directory, checked with pydantic."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pumpurs.errors import ConfigError
from pumpurs.semester import SemesterCode, first_weekday_on_or_after

Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]
MonthDay = Annotated[str, Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")]


_M = TypeVar("_M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Unit(StrEnum):
    HOURS = "hours"
    EUR = "eur"


class Role(StrEnum):
    SCHOOL_DIRECTOR = "school_director"
    MUNICIPAL_COORDINATOR = "municipal_coordinator"
    REGIONAL_COORDINATOR = "regional_coordinator"


class Label(_Strict):
    lv: str
    en: str


class Measure(Label):
    unit: Unit
    needs_subject: bool = False


class Catalogue(_Strict):
    measures: dict[str, Measure]
    subjects: dict[str, Label]
    risk_categories: dict[str, Label]

    @field_validator("measures", "subjects", "risk_categories")
    @classmethod
    def _keys_are_lowercase(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if key != key.strip().lower():
                raise ValueError(f"key {key!r} must be lowercase without spaces")
        if not value:
            raise ValueError("must not be empty")
        return value


class Person(_Strict):
    name: str
    email: Email


class Substitute(_Strict):
    """Who stands in for an approver from one day to another (both included, in Latvia)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str
    email: Email
    starts_on: dt.date = Field(alias="from")
    ends_on: dt.date = Field(alias="to")

    @model_validator(mode="after")
    def _range(self) -> Substitute:
        if self.ends_on < self.starts_on:
            raise ValueError("`to` must not be before `from`")
        return self

    def stands_in_on(self, day: dt.date) -> bool:
        """Return whether the substitute has the approver's desk on this day."""
        return self.starts_on <= day <= self.ends_on


class Approver(Person):
    """A person who decides plans: may name a substitute for a time."""

    substitute: Substitute | None = None

    @model_validator(mode="after")
    def _not_self(self) -> Approver:
        if self.substitute is not None and self.substitute.email.lower() == self.email.lower():
            raise ValueError("the substitute must be someone else")
        return self


class Municipality(_Strict):
    code: str
    name: str
    coordinator: Approver | None = None


class Region(_Strict):
    code: str
    name: str
    coordinator: Approver
    escalation: Person
    municipalities: list[Municipality]


class School(_Strict):
    code: str
    name: str
    municipality: str
    coordinator: Person
    director: Approver | None = None
    vocational: bool = False


class TermCalendar(_Strict):
    start: MonthDay
    end: MonthDay
    submission_days: int = Field(ge=1, le=120)
    evaluation_days: int = Field(ge=1, le=120)


class Calendar(_Strict):
    term1: TermCalendar
    term2: TermCalendar


class Programme(_Strict):
    grade_min: int = Field(ge=1, le=12)
    grade_max: int = Field(ge=1, le=12)
    monthly_cap_eur: float = Field(gt=0)
    max_hours_per_month: float = Field(gt=0)
    reminder_days: int = Field(ge=1)
    escalation_days: int = Field(ge=1)
    token_lifetime_days: int = Field(ge=1, le=365)
    partial_acceptance: bool = False
    max_file_mb: float = Field(gt=0)
    fidelity_threshold: float = Field(gt=0, le=1)
    approval_chain: list[Role] = Field(min_length=1)
    calendar: Calendar
    summary_recipients: list[Person] = Field(default_factory=list)  # the national summary
    # Pupil data of a semester is kept until 31 December of the year of its evaluation
    # deadline, this many years on, then erased (README, "Data protection").
    retention_years: int = Field(default=5, ge=1, le=30)
    # A file a school uploads on its page after the deadline (the submission deadline for plans,
    # the evaluation deadline for evaluations): `accept` keeps it and marks it late, `refuse`
    # turns it away with a message.
    late_uploads: Literal["accept", "refuse"] = "accept"
    # An XLSX (a zip) whose members unpack to more than this many times its size is refused
    # unread (a "zip bomb"), as is one that unpacks to more than 10 × max_file_mb.
    max_unzip_ratio: float = Field(default=100, gt=1)

    @model_validator(mode="after")
    def _ranges(self) -> Programme:
        if self.grade_min > self.grade_max:
            raise ValueError("grade_min must not be above grade_max")
        if self.escalation_days <= self.reminder_days:
            raise ValueError("escalation_days must be more than reminder_days")
        if len(set(self.approval_chain)) != len(self.approval_chain):
            raise ValueError("approval_chain names a role twice")
        return self


class SemesterDates(BaseModel):
    code: str
    starts_on: dt.date
    submission_deadline: dt.date
    ends_on: dt.date
    evaluation_deadline: dt.date


class Config(BaseModel):
    """The whole configuration: programme rules, catalogue, regions and schools."""

    model_config = ConfigDict(frozen=True)

    programme: Programme
    catalogue: Catalogue
    regions: list[Region]
    schools: list[School]

    def school(self, code: str) -> School | None:
        """Return the school with this code, or None."""
        return self._schools_by_code().get(code)

    def _schools_by_code(self) -> dict[str, School]:
        return {school.code: school for school in self.schools}

    def municipality_region(self) -> dict[str, Region]:
        """Return each municipality code's region."""
        return {m.code: region for region in self.regions for m in region.municipalities}

    def municipalities(self) -> dict[str, Municipality]:
        """Return every municipality by code."""
        return {m.code: m for region in self.regions for m in region.municipalities}

    def approvers(self) -> list[Approver]:
        """Return every approver of the roster (regional and municipal coordinators, directors),
        once per entry."""
        return [
            *(region.coordinator for region in self.regions),
            *(
                m.coordinator
                for region in self.regions
                for m in region.municipalities
                if m.coordinator is not None
            ),
            *(school.director for school in self.schools if school.director is not None),
        ]

    def semester_dates(self, semester: SemesterCode) -> SemesterDates:
        """Return the dates of a semester from the calendar."""
        term = (
            self.programme.calendar.term1 if semester.term == 1 else self.programme.calendar.term2
        )
        year = semester.calendar_year
        start = first_weekday_on_or_after(_on(year, term.start))
        end = _on(year, term.end)
        return SemesterDates(
            code=semester.code,
            starts_on=start,
            submission_deadline=start + dt.timedelta(days=term.submission_days),
            ends_on=end,
            evaluation_deadline=end + dt.timedelta(days=term.evaluation_days),
        )


def _on(year: int, month_day: str) -> dt.date:
    month, day = (int(part) for part in month_day.split("-"))
    return dt.date(year, month, day)


FILES: dict[str, Literal["mapping"]] = {
    "programme.yaml": "mapping",
    "catalogue.yaml": "mapping",
    "regions.yaml": "mapping",
    "schools.yaml": "mapping",
}


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(str(path), "", "file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problem = " ".join(str(exc).split())
        raise ConfigError(str(path), "", f"not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(str(path), "", "must be a mapping of keys to values")
    return data


def _first_problem(path: Path, exc: ValidationError, prefix: str = "") -> ConfigError:
    error = exc.errors()[0]
    key = ".".join(str(part) for part in (prefix, *error["loc"]) if part != "")
    return ConfigError(str(path), key, error["msg"])


def load_config(config_dir: Path) -> Config:
    """Read and check every config file; raise ConfigError naming the file, key and problem."""
    raw = {name: _read(config_dir / name) for name in FILES}
    try:
        programme = Programme.model_validate(raw["programme.yaml"])
    except ValidationError as exc:
        raise _first_problem(config_dir / "programme.yaml", exc) from None
    try:
        catalogue = Catalogue.model_validate(raw["catalogue.yaml"])
    except ValidationError as exc:
        raise _first_problem(config_dir / "catalogue.yaml", exc) from None
    regions = _section(config_dir / "regions.yaml", raw["regions.yaml"], "regions", Region)
    schools = _section(config_dir / "schools.yaml", raw["schools.yaml"], "schools", School)
    config = Config(programme=programme, catalogue=catalogue, regions=regions, schools=schools)
    _check_references(config_dir, config)
    return config


def _section(path: Path, data: dict[str, Any], key: str, model: type[_M]) -> list[_M]:
    items = data.get(key)
    if not isinstance(items, list) or not items:
        raise ConfigError(str(path), key, "must be a non-empty list")
    result = []
    for index, item in enumerate(items):
        try:
            result.append(model.model_validate(item))
        except ValidationError as exc:
            raise _first_problem(path, exc, f"{key}.{index}") from None
    return result


def _check_references(config_dir: Path, config: Config) -> None:
    regions_file, schools_file = str(config_dir / "regions.yaml"), str(config_dir / "schools.yaml")
    _unique(regions_file, "regions", [r.code for r in config.regions])
    _unique(
        regions_file, "municipalities", [m.code for r in config.regions for m in r.municipalities]
    )
    _unique(schools_file, "schools", [s.code for s in config.schools])
    _one_substitute_at_a_time(regions_file, config)
    municipalities = config.municipalities()
    chain = config.programme.approval_chain
    for index, school in enumerate(config.schools):
        key = f"schools.{index}"
        if school.municipality not in municipalities:
            raise ConfigError(
                schools_file, f"{key}.municipality", f"unknown municipality {school.municipality!r}"
            )
        if Role.SCHOOL_DIRECTOR in chain and school.director is None:
            raise ConfigError(
                schools_file,
                f"{key}.director",
                "required because approval_chain has school_director",
            )
        if (
            Role.MUNICIPAL_COORDINATOR in chain
            and municipalities[school.municipality].coordinator is None
        ):
            raise ConfigError(
                regions_file,
                f"municipalities.{school.municipality}.coordinator",
                "required because approval_chain has municipal_coordinator",
            )


def _one_substitute_at_a_time(file: str, config: Config) -> None:
    """Refuse two different substitutes of one approver on the same day (the roster may name
    one person in several roles: the substitutes must then agree)."""
    ranges: dict[str, set[Substitute]] = {}
    for approver in config.approvers():
        if approver.substitute is not None:
            ranges.setdefault(approver.email.lower(), set()).add(approver.substitute)
    for email, substitutes in ranges.items():
        ordered = sorted(substitutes, key=lambda s: (s.starts_on, s.ends_on, s.email))
        for first, second in zip(ordered, ordered[1:], strict=False):
            if second.starts_on <= first.ends_on:
                raise ConfigError(
                    file, "substitute", f"{email} has two substitutes on the same day"
                )


def _unique(file: str, key: str, codes: list[str]) -> None:
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            raise ConfigError(file, key, f"code {code!r} appears twice")
        seen.add(code)
