"""Reference data and semesters in the store. Helpers take a session and never commit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pumpurs.config import Config
from pumpurs.errors import UserError
from pumpurs.i18n.catalogue import N_
from pumpurs.semester import SemesterCode
from pumpurs.store.models import Municipality, Region, School, Semester


def sync_reference(session: Session, config: Config) -> None:
    """Upsert regions, municipalities and schools from the configuration."""
    regions = {r.code: r for r in session.scalars(select(Region))}
    for region_item in config.regions:
        region = regions.get(region_item.code) or Region(code=region_item.code)
        region.name = region_item.name
        region.coordinator_email = region_item.coordinator.email
        region.escalation_email = region_item.escalation.email
        session.add(region)
        regions[region_item.code] = region
    session.flush()
    municipalities = {m.code: m for m in session.scalars(select(Municipality))}
    for region_item in config.regions:
        for municipality_item in region_item.municipalities:
            code = municipality_item.code
            municipality = municipalities.get(code) or Municipality(code=code)
            municipality.name = municipality_item.name
            municipality.region_id = regions[region_item.code].id
            coordinator = municipality_item.coordinator
            municipality.coordinator_email = coordinator.email if coordinator else None
            session.add(municipality)
            municipalities[code] = municipality
    session.flush()
    schools = {s.code: s for s in session.scalars(select(School))}
    for school_item in config.schools:
        school = schools.get(school_item.code) or School(code=school_item.code)
        school.name = school_item.name
        school.municipality_id = municipalities[school_item.municipality].id
        school.coordinator_email = school_item.coordinator.email
        school.director_email = school_item.director.email if school_item.director else None
        school.vocational = school_item.vocational
        session.add(school)
    session.flush()


@dataclass(frozen=True)
class StoredSemester:
    """A semester that is in the store, as runs pass it on: its code, row id and dates."""

    code: SemesterCode
    id: int
    starts_on: dt.date
    submission_deadline: dt.date
    ends_on: dt.date
    evaluation_deadline: dt.date

    @classmethod
    def of(cls, row: Semester, code: SemesterCode | None = None) -> StoredSemester:
        """Return the stored semester row as a value that needs no session (`code`: the row's
        code when the caller has it parsed already)."""
        return cls(
            code=code if code is not None else SemesterCode.parse(row.code),
            id=row.id,
            starts_on=row.starts_on,
            submission_deadline=row.submission_deadline,
            ends_on=row.ends_on,
            evaluation_deadline=row.evaluation_deadline,
        )


def find_semester(session: Session, semester: SemesterCode) -> Semester | None:
    """Return the stored semester, or None if it was never opened."""
    return session.scalars(select(Semester).where(Semester.code == semester.code)).one_or_none()


def require_semester(session: Session, semester: SemesterCode) -> Semester:
    """Return the stored semester, or raise a UserError telling to open it first."""
    found = find_semester(session, semester)
    if found is None:
        message = N_(
            "Semester %(code)s has not been opened. Run first: pumpurs open-semester %(code)s"
        )
        raise UserError(message, code=semester.code)
    return found


def stored_semester(session: Session, semester: SemesterCode) -> StoredSemester:
    """Return the stored semester as a value, or raise a UserError telling to open it first."""
    return StoredSemester.of(require_semester(session, semester), semester)


def ensure_semester(
    session: Session, config: Config, semester: SemesterCode
) -> tuple[Semester, bool]:
    """Return the semester, creating it with its calendar dates; the flag says if it is new."""
    found = find_semester(session, semester)
    if found is not None:
        return found, False
    dates = config.semester_dates(semester)
    created = Semester(
        code=semester.code,
        starts_on=dates.starts_on,
        submission_deadline=dates.submission_deadline,
        ends_on=dates.ends_on,
        evaluation_deadline=dates.evaluation_deadline,
    )
    session.add(created)
    session.flush()
    return created, True
