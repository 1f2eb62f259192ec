"""The FastAPI application: JSON under /api, pages elsewhere (DESIGN.md section 6)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from gkflow.delivery.config import load_channels_config
from gkflow.domain.errors import GkflowError
from gkflow.publication.config import site_dir
from gkflow.runtime import Runtime
from gkflow.services.health import health
from gkflow.services.read_models import HealthReport
from gkflow.web import (
    admin_pages,
    api,
    api_docs,
    api_door,
    apply_pages,
    console_pages,
    directory_pages,
    intake,
    openness_staff,
    public_pages,
    receipts,
    recover_pages,
    registration_pages,
    scorecard_pages,
    site,
    staff_files,
    staff_pages,
    worklist_pages,
)
from gkflow.web.deps import LoginRequired, RuntimeDep, page_session
from gkflow.web.errors import error_headers, http_status
from gkflow.web.guard import SecurityHeaders, guard_request, security_headers
from gkflow.web.limits import BodyLimit
from gkflow.web.log_filters import install_log_filters
from gkflow.web.templating import make_environment, render

_HTTP_CODES = {401: "forbidden", 403: "forbidden", 404: "not_found", 409: "conflict", 429: "rate_limited"}
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api") or request.url.path == "/healthz"


def _error_response(
    request: Request, status: int, code: str, message: str, details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    if _wants_json(request):
        body: dict[str, Any] = {"code": code, "message": message}
        if details:
            body["details"] = details
        return JSONResponse({"error": body}, status_code=status, headers=headers)
    # A session is looked up only on staff pages, and never for a refused input (it may be the cookie).
    session = (page_session(request)
               if request.url.path.startswith(("/staff", "/admin")) and status not in (413, 414, 422)
               else None)
    response = render(
        request,
        "error.html",
        {"status": status, "code": code, "message": message},
        status_code=status,
        session=session,
    )
    response.headers.update(headers or {})
    return response


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[-1] if loc else "request")


async def _gkflow_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GkflowError)
    return _error_response(request, http_status(exc), exc.code, exc.message, exc.details or None,
                           error_headers(exc))


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


async def _server_error(request: Request, exc: Exception) -> Response:
    # Answered by Starlette's outermost middleware, outside SecurityHeaders: the headers are set here.
    # The server logs the exception itself, personal data masked (gkflow.runtime.install_log_masking).
    try:
        response = _error_response(request, 500, "internal_error", "系统出错，请稍后再试")
    except Exception:  # noqa: BLE001 - the error page itself failed: answer plainly
        response = JSONResponse({"error": {"code": "internal_error", "message": "系统出错，请稍后再试"}},
                                status_code=500)
    response.headers.update(security_headers(request.url.path))
    return response


async def _login_required(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(f"/staff/login?next={quote(exc.next_url, safe='')}", status_code=303)


def healthz(rt: RuntimeDep, request: Request) -> Response:
    """Database, scheduler leader and outbox lag; 503 when the database does not answer."""
    election = request.app.state.election
    report = health(rt, embedded_scheduler=election is not None,
                    leads=bool(election is not None and election.leads))
    return JSONResponse(report.model_dump(mode="json"), status_code=200 if report.ok else 503)


def create_app(rt: Runtime, *, lifespan: Lifespan | None = None) -> FastAPI:
    """The web app over ``rt``; configuration read once here, not per request."""
    app = FastAPI(title="gkflow", version="0.1.0", description="最多跑一次 case engine: JSON API",
                  dependencies=[Depends(guard_request)], lifespan=lifespan,
                  docs_url=None, redoc_url=None)  # /docs is served offline by api_docs
    app.add_middleware(SecurityHeaders)
    app.state.rt = rt
    app.state.election = None  # gkflow.web.server sets the process's scheduler election
    app.state.templates = make_environment(rt)
    app.state.channels_config = load_channels_config(rt.settings)
    app.state.site_root = site_dir(rt.settings)

    app.add_exception_handler(GkflowError, _gkflow_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(Exception, _server_error)

    app.add_api_route("/healthz", healthz, methods=["GET"], response_model=HealthReport,
                      responses={503: {"model": HealthReport, "description": "the database does not answer"}})
    app.add_middleware(BodyLimit)
    install_log_filters()
    # recover_pages before public_pages: /status/recover is not a case number; the site's /gk/
    # catch-all comes last.
    for router in (api.router, api_door.router, intake.router, receipts.router, recover_pages.router,
                   public_pages.router, apply_pages.router, staff_pages.router, staff_files.router,
                   worklist_pages.router, registration_pages.router, admin_pages.router,
                   admin_pages.api_router, console_pages.router, directory_pages.router,
                   openness_staff.router, scorecard_pages.router, scorecard_pages.api_router, site.router):
        app.include_router(router)
    api_docs.mount(app)  # before /static, so /static/swagger is not shadowed
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")
    return app
