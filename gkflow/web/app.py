"""The FastAPI application: JSON under /api, pages elsewhere (DESIGN.md section 6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from gkflow.delivery.config import load_channels_config
from gkflow.domain.errors import GkflowError
from gkflow.publication.config import site_dir
from gkflow.runtime import Runtime
from gkflow.services.health import database_answers
from gkflow.web import (
    admin_pages,
    api,
    api_docs,
    console_pages,
    intake,
    public_pages,
    receipts,
    registration_pages,
    site,
    staff_pages,
    worklist_pages,
)
from gkflow.web.deps import LoginRequired, RuntimeDep, page_session
from gkflow.web.errors import http_status
from gkflow.web.templating import make_environment, render

_HTTP_CODES = {401: "forbidden", 403: "forbidden", 404: "not_found", 409: "conflict"}


class Health(BaseModel):
    ok: bool


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api") or request.url.path == "/healthz"


def _error_response(
    request: Request, status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> Response:
    if _wants_json(request):
        body: dict[str, Any] = {"code": code, "message": message}
        if details:
            body["details"] = details
        return JSONResponse({"error": body}, status_code=status)
    session = page_session(request) if request.url.path.startswith(("/staff", "/admin")) else None
    return render(
        request,
        "error.html",
        {"status": status, "code": code, "message": message},
        status_code=status,
        session=session,
    )


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[-1] if loc else "request")


async def _gkflow_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GkflowError)
    return _error_response(request, http_status(exc), exc.code, exc.message, exc.details or None)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [f"{_field_name(tuple(e.get('loc', ())))}: {e.get('msg', 'invalid')}" for e in exc.errors()]
    fields = sorted({_field_name(tuple(e.get("loc", ()))) for e in exc.errors()})
    return _error_response(
        request, 422, "invalid_input", "invalid input — " + "; ".join(problems), {"fields": fields}
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "invalid_input")
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404:
        message = f"no such page or endpoint: {request.url.path}"
    return _error_response(request, exc.status_code, code, message)


async def _login_required(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(f"/staff/login?next={quote(exc.next_url, safe='')}", status_code=303)


def healthz(rt: RuntimeDep) -> Health:
    """The database answers."""
    return Health(ok=database_answers(rt))


def create_app(rt: Runtime) -> FastAPI:
    """The web app over ``rt``; configuration read once here, not per request."""
    app = FastAPI(title="gkflow", version="0.1.0", description="最多跑一次 case engine: JSON API",
                  docs_url=None, redoc_url=None)  # /docs is served offline by api_docs
    app.state.rt = rt
    app.state.templates = make_environment(rt)
    app.state.channels_config = load_channels_config(rt.settings)
    app.state.site_root = site_dir(rt.settings)

    app.add_exception_handler(GkflowError, _gkflow_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(LoginRequired, _login_required)

    app.add_api_route("/healthz", healthz, methods=["GET"], response_model=Health)
    for router in (api.router, intake.router, receipts.router, public_pages.router, staff_pages.router,
                   worklist_pages.router, registration_pages.router,
                   admin_pages.router, admin_pages.api_router, console_pages.router, site.router):
        app.include_router(router)
    api_docs.mount(app)  # before /static, so /static/swagger is not shadowed
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    return app
