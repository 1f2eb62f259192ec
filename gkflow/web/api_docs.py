"""`/docs` without the internet: Swagger UI served from the installed `swagger-ui-bundle-v2`
package (a 政务外网 often has no route to a CDN), its one inline script allowed by a per-response
CSP nonce."""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from gkflow.web.guard import docs_csp

router = APIRouter(include_in_schema=False)
ASSETS = "/static/swagger"

PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gkflow · JSON 接口文档</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script nonce="{nonce}">
window.ui = SwaggerUIBundle({{url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
  layout: "BaseLayout", presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]}});
</script>
</body>
</html>
"""


@router.get("/docs", response_class=HTMLResponse)
def docs() -> HTMLResponse:
    """Swagger UI over /openapi.json, every asset from this server."""
    nonce = secrets.token_urlsafe(16)
    return HTMLResponse(PAGE.format(assets=ASSETS, nonce=nonce),
                        headers={"Content-Security-Policy": docs_csp(nonce), "Referrer-Policy": "no-referrer",
                                 "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


def mount(app: FastAPI) -> None:
    """Serve the docs page and Swagger UI's files."""
    app.include_router(router)
    app.mount(ASSETS, StaticFiles(directory=str(Path(str(swagger_ui_path)))), name="swagger-ui")
