"""School page links: a random nonce kept server side, carried in the URL signed with the app key.

The same habit as the approval links (`pumpurs.approvals.tokens`): the URL holds only a signed
nonce, so a changed character is refused as forged and a link of another installation as
unknown. A link is bound to one school and one semester and works until the end of the
semester's evaluation deadline (in Latvia). Re-issuing it (`pumpurs school-link`) makes the old
one dead. Opening the page changes nothing; uploads are POSTs with a CSRF token.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from pumpurs.clock import day_end, utcnow
from pumpurs.settings import Settings
from pumpurs.signing import canonical_signature
from pumpurs.store.models import SchoolLink
from pumpurs.store.reference import StoredSemester

SCHOOL_SALT = "pumpurs.school-page"
_SHAPE = re.compile(r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+$")
_MAX_LENGTH = 256


class SchoolLinkProblem(StrEnum):
    MALFORMED = "malformed"  # not a link of ours at all, e.g. cut short by a mail program
    FORGED = "forged"  # the signature does not match: made up or altered
    UNKNOWN = "unknown"  # signed by us, but not in this database
    REPLACED = "replaced"  # a newer link was issued for the school
    EXPIRED = "school_expired"  # the semester's evaluation deadline is over


HTTP_STATUS = {
    SchoolLinkProblem.MALFORMED: 400,
    SchoolLinkProblem.FORGED: 403,
    SchoolLinkProblem.UNKNOWN: 404,
    SchoolLinkProblem.REPLACED: 410,
    SchoolLinkProblem.EXPIRED: 410,
}


class SchoolLinkRefused(Exception):
    """A school page link cannot be used; `problem` says why."""

    def __init__(self, problem: SchoolLinkProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem

    @property
    def status(self) -> int:
        """Return the HTTP status this refusal is shown with."""
        return HTTP_STATUS[self.problem]


@dataclass(frozen=True)
class LiveLink:
    id: int
    nonce: str
    school_code: str
    semester_code: str
    expires_at: dt.datetime


def _signer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.signing_key(), salt=SCHOOL_SALT)


def school_url(settings: Settings, nonce: str) -> str:
    """Return the address of the school's page this nonce opens."""
    return f"{settings.base_url.rstrip('/')}/s/{_signer(settings).dumps(nonce)}"


def link_expiry(evaluation_deadline: dt.date) -> dt.datetime:
    """Return when a semester's school links expire: the end of its evaluation deadline day."""
    return day_end(evaluation_deadline)


def issue_link(session: Session, semester: StoredSemester, school_code: str) -> str:
    """Issue a new link of the school for the semester, ending any earlier one; return its nonce."""
    now = utcnow()
    code = semester.code.code
    version = session.scalar(
        select(func.max(SchoolLink.version)).where(
            SchoolLink.school_code == school_code, SchoolLink.semester_code == code
        )
    )
    session.execute(
        update(SchoolLink)
        .where(
            SchoolLink.school_code == school_code,
            SchoolLink.semester_code == code,
            SchoolLink.replaced_at.is_(None),
        )
        .values(replaced_at=now)
    )
    nonce = secrets.token_urlsafe(24)
    session.add(
        SchoolLink(
            nonce=nonce,
            school_code=school_code,
            semester_code=code,
            version=(version or 0) + 1,
            issued_at=now,
            expires_at=link_expiry(semester.evaluation_deadline),
        )
    )
    session.flush()
    return nonce


def school_links(
    session: Session, semester: StoredSemester, school_codes: Iterable[str]
) -> dict[str, str]:
    """Return the live link nonce of each school, issuing one for a school that has none."""
    wanted = sorted(set(school_codes))
    if not wanted:
        return {}
    rows = session.execute(
        select(SchoolLink.school_code, SchoolLink.nonce)
        .where(
            SchoolLink.semester_code == semester.code.code,
            SchoolLink.school_code.in_(wanted),
            SchoolLink.replaced_at.is_(None),
        )
        .order_by(SchoolLink.id)
    ).all()
    found = {str(school): str(nonce) for school, nonce in rows}
    missing = [school for school in wanted if school not in found]
    if not missing:
        return found
    # Schools without a live link (an open run's hundreds at once): their earlier versions in
    # one query, the new links in one insert.
    code = semester.code.code
    versions = dict(
        session.execute(
            select(SchoolLink.school_code, func.max(SchoolLink.version))
            .where(SchoolLink.semester_code == code, SchoolLink.school_code.in_(missing))
            .group_by(SchoolLink.school_code)
        )
        .tuples()
        .all()
    )
    now, expires_at = utcnow(), link_expiry(semester.evaluation_deadline)
    issued = {school: secrets.token_urlsafe(24) for school in missing}
    session.add_all(
        SchoolLink(
            nonce=nonce,
            school_code=school,
            semester_code=code,
            version=(versions.get(school) or 0) + 1,
            issued_at=now,
            expires_at=expires_at,
        )
        for school, nonce in issued.items()
    )
    session.flush()
    return found | issued


def school_page_urls(
    session: Session, settings: Settings, semester: StoredSemester, school_codes: Iterable[str]
) -> dict[str, str]:
    """Return the page address of each school for the semester (issuing missing links)."""
    nonces = school_links(session, semester, school_codes)
    return {school: school_url(settings, nonce) for school, nonce in nonces.items()}


def read_school_link(settings: Settings, value: str) -> str:
    """Return the nonce a school page link carries, or raise SchoolLinkRefused."""
    if len(value) > _MAX_LENGTH or not _SHAPE.match(value):
        raise SchoolLinkRefused(SchoolLinkProblem.MALFORMED)
    if not canonical_signature(value):
        raise SchoolLinkRefused(SchoolLinkProblem.FORGED)
    try:
        nonce: Any = _signer(settings).loads(value)
    except BadSignature:
        raise SchoolLinkRefused(SchoolLinkProblem.FORGED) from None
    if not isinstance(nonce, str):
        raise SchoolLinkRefused(SchoolLinkProblem.FORGED)
    return nonce


def verify_school_link(session: Session, nonce: str) -> LiveLink:
    """Return the link's school and semester, or raise SchoolLinkRefused saying why not."""
    row = session.scalars(select(SchoolLink).where(SchoolLink.nonce == nonce)).one_or_none()
    if row is None:
        raise SchoolLinkRefused(SchoolLinkProblem.UNKNOWN)
    if row.replaced_at is not None:
        raise SchoolLinkRefused(SchoolLinkProblem.REPLACED)
    if row.expires_at <= utcnow():
        raise SchoolLinkRefused(SchoolLinkProblem.EXPIRED)
    return LiveLink(row.id, row.nonce, row.school_code, row.semester_code, row.expires_at)
