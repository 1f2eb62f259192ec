"""The FastAPI application: JSON under /api, pages elsewhere (DESIGN.md section 6)."""

from __future__ import annotations

import importlib
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gkflow.domain.errors import GkflowError
from gkflow.runtime import Runtime


class CaseSubmission(BaseModel):
    item: str = Field(min_length=1)
    name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=32)
    id_number: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=200)
    fields: dict[str, str] | None = None


def create_app(rt: Runtime) -> FastAPI:
    app = FastAPI(title="gkflow", version="0.1.0")
    app.state.rt = rt

    @app.exception_handler(GkflowError)
    async def _gkflow_error(_request: Request, exc: GkflowError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=exc.http_status)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        from sqlalchemy import text

        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"ok": True}

    @app.get("/api/items")
    def list_items() -> list[dict[str, Any]]:
        from gkflow.cli import item_summary

        catalogue = rt.catalogue
        return [item_summary(catalogue.latest(code)) for code in catalogue.codes()]

    @app.get("/api/items/{code}")
    def get_item(code: str) -> dict[str, Any]:
        from gkflow.cli import item_detail

        return item_detail(rt.catalogue.latest(code))

    @app.post("/api/cases", status_code=201)
    def submit(body: CaseSubmission) -> dict[str, Any]:
        from gkflow.services.cases import Applicant, submit_case
        from gkflow.services.views import public_case

        submitted = submit_case(
            rt, body.item, Applicant(body.name, body.phone, body.id_number, body.email),
            intake_channel="online", fields=body.fields,
        )
        view = public_case(rt, submitted.case_no, submitted.query_code)
        view["query_code"] = submitted.query_code
        return view

    @app.get("/api/cases/{case_no}")
    def lookup(case_no: str, code: str = "") -> dict[str, Any]:
        from gkflow.services.views import public_case

        return public_case(rt, case_no, code)

    # Routers owned by other parts (delivery receipts, published site, pages) mount here.
    for module in WEB_EXTENSION_MODULES:
        importlib.import_module(module).mount(app, rt)

    return app


WEB_EXTENSION_MODULES: list[str] = []
