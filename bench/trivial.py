"""The ceiling of the decisions benchmark: a trivial FastAPI app, served like the real one.

`GET /t/{link}` returns a fixed page of about 2.7 kB carrying a form with a hidden CSRF field;
`POST /t/{link}` takes the form (`csrf`, `action`) and answers a short page. No database, no
templates, no signing: what is left is uvicorn, Starlette and FastAPI, the floor under any page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Form
from fastapi.responses import HTMLResponse

_ROWS = "".join(
    f"<tr><td>Pasākums {n}</td><td>Matemātika</td><td>{n * 2} h mēnesī</td></tr>\n"
    for n in range(1, 33)
)
PAGE = (
    '<!doctype html>\n<html lang="lv"><head><meta charset="utf-8">'
    "<title>Plāns · PuMPuRS</title></head><body>\n<h1>Individuālā atbalsta plāns</h1>\n"
    f"<table>\n{_ROWS}</table>\n"
    '<form method="post"><input type="hidden" name="csrf" value="'
    + "t" * 86
    + '">\n<button name="action" value="approve">Apstiprināt</button></form>\n</body></html>\n'
)
DONE = (
    '<!doctype html>\n<html lang="lv"><head><meta charset="utf-8"><title>Saglabāts</title>'
    "</head><body><h1>Lēmums saglabāts</h1><p>Plāns apstiprināts.</p></body></html>\n"
)


def create_app() -> FastAPI:
    """Build the trivial app."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/t/{link}", response_class=HTMLResponse)
    def show(link: str) -> HTMLResponse:
        return HTMLResponse(PAGE)

    @app.post("/t/{link}", response_class=HTMLResponse)
    def decide(
        link: str,
        csrf: Annotated[str, Form()] = "",
        action: Annotated[str, Form()] = "",
    ) -> HTMLResponse:
        status = 200 if csrf and action == "approve" else 400
        return HTMLResponse(DONE, status_code=status)

    @app.get("/healthz")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
