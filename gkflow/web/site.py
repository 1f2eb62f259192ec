"""Serves the published static site folder under /gk/ (the website column, open-data files)."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

router = APIRouter(include_in_schema=False)

_TYPES = {".csv": "text/csv; charset=utf-8", ".json": "application/json",
          ".html": "text/html; charset=utf-8"}


def resolve(root: Path, path: str) -> Path | None:
    """The file for ``path``, following each period's ``current`` link; None if outside or absent."""
    root = root.resolve()
    target = root
    for part in [p for p in path.split("/") if p]:
        if part in ("..", ".") or part.startswith("."):
            return None
        if not (target / part).exists() and (target / "current").is_dir():
            target = target / "current"
        target = target / part
    if target.is_dir():
        if not (target / "index.html").exists() and (target / "current").is_dir():
            target = target / "current"
        target = target / "index.html"
    real = target.resolve()
    if not real.is_file() or not real.is_relative_to(root):
        return None
    return real


@router.get("/gk")
def site_root_redirect() -> Response:
    return RedirectResponse("/gk/")


@router.get("/gk/{path:path}")
def site_file(request: Request, path: str) -> Response:
    if path and not path.endswith("/") and "." not in path.rsplit("/", 1)[-1]:
        return RedirectResponse(f"/gk/{path}/")  # so relative links in the page resolve
    # Resolved once at start-up (gkflow.web.app): parsing publication.yaml cost ≈ 5 ms a request.
    site_root: Path = request.app.state.site_root
    found = resolve(site_root, path)
    if found is None:
        raise HTTPException(status_code=404, detail="not published")
    media = _TYPES.get(found.suffix) or mimetypes.guess_type(found.name)[0] or "application/octet-stream"
    return FileResponse(found, media_type=media, headers={"Cache-Control": "no-cache"})
