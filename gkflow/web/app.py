"""The FastAPI application: JSON under /api, pages elsewhere (DESIGN.md section 6)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from gkflow.domain.errors import GkflowError
from gkflow.runtime import Runtime
from gkflow.web.common import LoginRequired, make_environment, page_session, render

_HTTP_CODES = {401: "forbidden", 403: "forbidden", 404: "not_found", 409: "conflict"}


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


def create_app(rt: Runtime) -> FastAPI:
    app = FastAPI(title="gkflow", version="0.1.0", description="最多跑一次 case engine: JSON API")
    app.state.rt = rt
    app.state.templates = make_environment(rt)

    @app.exception_handler(GkflowError)
    async def _gkflow_error(request: Request, exc: GkflowError) -> Response:
        return _error_response(request, exc.http_status, exc.code, exc.message, exc.details or None)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            f"{_field_name(tuple(e.get('loc', ())))}: {e.get('msg', 'invalid')}" for e in exc.errors()
        ]
        fields = sorted({_field_name(tuple(e.get("loc", ()))) for e in exc.errors()})
        return _error_response(
            request, 422, "invalid_input", "invalid input — " + "; ".join(problems), {"fields": fields}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, "invalid_input")
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404:
            message = f"no such page or endpoint: {request.url.path}"
        return _error_response(request, exc.status_code, code, message)

    @app.exception_handler(LoginRequired)
    async def _login_required(_request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import quote

        return RedirectResponse(f"/staff/login?next={quote(exc.next_url, safe='')}", status_code=303)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        from sqlalchemy import text

        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"ok": True}

    from gkflow.web import admin_pages, api, intake, public_pages, staff_pages

    app.include_router(api.router)
    app.include_router(intake.router)
    app.include_router(public_pages.router)
    app.include_router(staff_pages.router)
    app.include_router(admin_pages.router)
    app.include_router(admin_pages.api_router)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")

    # Routers owned by other parts (delivery receipts, published site, pages) mount here.
    for module in WEB_EXTENSION_MODULES:
        importlib.import_module(module).mount(app, rt)

    return app


WEB_EXTENSION_MODULES: list[str] = ["gkflow.web.site", "gkflow.web.receipts"]
