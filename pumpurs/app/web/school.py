"""A school's own page, opened from the link in its emails: GET shows, only a POST uploads.

The page shows the school, the semester, the deadline and days left, the pre-filled template,
the upload forms, its plans with their status and its earlier files. An upload is streamed to
disk under the size cap (refused while streaming), checked by collect's own code and kept in
the inbox (`pumpurs.intake.upload`); the answer lists every rejected row at once. The web
process stores no plan: the collect or evaluate run the upload's event starts does.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from pumpurs.app.web import csrf
from pumpurs.app.web.access import record_view
from pumpurs.app.web.effects import after_upload
from pumpurs.app.web.pages import Web, error_page, last_day, page, web, when
from pumpurs.clock import today_riga
from pumpurs.i18n.formats import fmt_day
from pumpurs.intake import upload as core
from pumpurs.opening.invitations import XLSX, school_template_rows
from pumpurs.opening.links import (
    LiveLink,
    SchoolLinkRefused,
    read_school_link,
    verify_school_link,
)
from pumpurs.opening.template import build_plan_template, template_filename
from pumpurs.semester import SemesterCode
from pumpurs.status.school_page import school_plans, school_uploads, upload_of
from pumpurs.store.access import Page
from pumpurs.store.reference import StoredSemester, stored_semester

router = APIRouter()
PURPOSE = "upload"
_FORM_OVERHEAD = 64 * 1024  # the multipart headers and the CSRF field around the file


def _open(w: Web, token: str) -> tuple[LiveLink, StoredSemester]:
    nonce = read_school_link(w.settings, token)
    with w.read_sessions() as session:
        link = verify_school_link(session, nonce)
        semester = stored_semester(session, SemesterCode.parse(link.semester_code))
    return link, semester


def _school_page(
    w: Web,
    request: Request,
    token: str,
    link: LiveLink,
    semester: StoredSemester,
    *,
    checked: core.Checked | None = None,
    upload_id: int | None = None,
    status: int = 200,
) -> HTMLResponse:
    config = w.config
    school = config.school(link.school_code)
    today = today_riga()
    with w.read_sessions() as session:
        plans = school_plans(session, semester.id, link.school_code, w.language)
        uploads = school_uploads(session, link.school_code, link.semester_code, w.language)
    opens = core.evaluation_opens(semester)
    response = page(
        w,
        "school",
        status,
        school=school,
        school_code=link.school_code,
        semester=semester,
        token=token,
        deadline=semester.submission_deadline,
        days_left=(semester.submission_deadline - today).days,
        evaluation_open=today >= opens,
        evaluation_opens=fmt_day(opens, w.language),
        evaluation_deadline=semester.evaluation_deadline,
        evaluation_days_left=(semester.evaluation_deadline - today).days,
        template_name=template_filename(link.school_code, semester.code, w.language),
        plans=plans,
        uploads=[{"line": u, "when": when(u.at, w.language)} for u in uploads],
        valid_until=last_day(link.expires_at, w.language),
        csrf=csrf.issue(w.settings, link.nonce, PURPOSE),
        checked=checked,
        upload_id=upload_id,
        shared_folder=f"{semester.code.folder}/{link.school_code}/plans/"
        if w.settings.schools_shared_folder
        else None,
    )
    record_view(w, request, Page.SCHOOL, [p.plan_id for p in plans], f"school:{link.school_code}")
    return response


@router.api_route("/s/{token}", methods=["GET", "HEAD"], response_class=HTMLResponse)
def show(token: str, request: Request) -> HTMLResponse:
    """Show the school's page; opening it changes nothing but the access audit."""
    w = web(request)
    link, semester = _open(w, token)
    return _school_page(w, request, token, link, semester)


@router.get("/s/{token}/template.xlsx")
def template(token: str, request: Request) -> Response:
    """Return the school's template: its continuing pupils and returned plans pre-filled."""
    w = web(request)
    link, semester = _open(w, token)
    with w.read_sessions() as session:
        rows = school_template_rows(session, semester.id, link.school_code)
    workbook = build_plan_template(
        w.config, link.school_code, semester.code, rows, w.language, semester.submission_deadline
    )
    name = template_filename(link.school_code, semester.code, w.language)
    return Response(
        workbook,
        media_type=XLSX,
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


@router.get("/s/{token}/uploads/{upload_id}/rejected.csv")
def rejected(token: str, upload_id: int, request: Request) -> Response:
    """Return an upload's rejected rows as the same CSV the report email carries."""
    w = web(request)
    link, semester = _open(w, token)
    with w.read_sessions() as session:
        found = upload_of(session, upload_id, link.school_code, link.semester_code)
    if found is None or found.kept_name is None:
        return error_page(w, 404, "not_found")
    folder = core.inbox_folder(
        w.settings.effective_inbox_dir, semester, link.school_code, found.kind
    )
    path = folder / found.kept_name
    if not path.is_file():
        return error_page(w, 404, "not_found")
    content = core.rejected_rows_csv(path, found.kind, link.school_code, w.config, w.language)
    if content is None:
        return error_page(w, 404, "not_found")
    name = core.csv_name(found.kind, link.school_code, semester, w.language)
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


async def _capped(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    """Yield the request body, raising TooLarge once it passes `limit` bytes."""
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise core.TooLarge(size, limit)
        yield chunk


@router.post("/s/{token}/upload", response_class=HTMLResponse)
async def upload(token: str, request: Request, background: BackgroundTasks) -> HTMLResponse:
    """Receive one file (plan drafts or evaluations), check it, keep it, and answer at once."""
    w = web(request)
    link, semester = _open(w, token)
    config = w.config
    limit = core.max_bytes(config)
    try:
        form = await MultiPartParser(
            request.headers, _capped(request, limit + _FORM_OVERHEAD), max_files=1, max_fields=4
        ).parse()
    except core.TooLarge as refused:
        checked = core.too_large("plans", "", refused.received, config, w.language)
        return _answer(w, request, token, link, semester, checked)
    except MultiPartException:
        return error_page(w, 400, "bad_request")
    fields: dict[str, Any] = dict(form)
    if not csrf.is_valid(w.settings, str(fields.get("csrf", "")), link.nonce, PURPOSE):
        return error_page(w, 403, "csrf_upload")
    kind = str(fields.get("kind", "plans"))
    sent = fields.get("file")
    if kind not in core.KINDS or not isinstance(sent, UploadFile):
        return error_page(w, 400, "bad_request")
    original = sent.filename or ""
    folder = core.inbox_folder(w.settings.effective_inbox_dir, semester, link.school_code, kind)
    try:
        received = await run_in_threadpool(core.receive, _chunks(sent), folder, limit)
    except core.TooLarge as refused:
        checked = core.too_large(kind, original, refused.received, config, w.language)
        return _answer(w, request, token, link, semester, checked)
    finally:
        await sent.close()

    def take() -> core.Checked:
        with w.sessions.begin() as session:
            return core.take_upload(
                session,
                received,
                inbox=w.settings.effective_inbox_dir,
                original_name=original,
                kind=kind,
                school_code=link.school_code,
                semester=semester,
                config=config,
                language=w.language,
                today=today_riga(),
            )

    checked = await run_in_threadpool(take)
    response = _answer(w, request, token, link, semester, checked)
    if checked.outcome == "kept":
        after_upload(background, semester.code.code, link.school_code, kind)
    return response


def _chunks(sent: UploadFile) -> Iterator[bytes]:
    """Yield the spooled upload in chunks (never the whole file at once)."""
    handle = sent.file
    handle.seek(0)
    while chunk := handle.read(1 << 16):
        yield chunk


def _answer(
    w: Web,
    request: Request,
    token: str,
    link: LiveLink,
    semester: StoredSemester,
    checked: core.Checked,
) -> HTMLResponse:
    """Record the upload in the audit, then show the page with its answer."""
    with w.sessions.begin() as session:
        upload_id = core.record_upload(
            session,
            link.id,
            checked,
            ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
        )
    status = 200 if checked.kept else 422
    return _school_page(
        w, request, token, link, semester, checked=checked, upload_id=upload_id, status=status
    )


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SchoolLinkRefused)
    return error_page(web(request), exc.status, exc.problem.value)


def install(app: Any) -> None:
    """Register the school page's routes and its refusal page on the app."""
    app.include_router(router)
    app.add_exception_handler(SchoolLinkRefused, _refused)
