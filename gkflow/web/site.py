"""Serves the published static site folder under /gk/ (the website column, open-data files)."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, RedirectResponse, Response

from gkflow.runtime import Runtime

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


def mount(app: FastAPI, rt: Runtime) -> None:
    from gkflow.publication.config import load_publication_config

    # Resolved once: parsing publication.yaml cost ≈ 5 ms on every /gk/ request.
    site_root = load_publication_config(rt.settings).site_dir

    @app.get("/gk", include_in_schema=False)
    def site_root_redirect() -> Response:
        return RedirectResponse("/gk/")

    @app.get("/gk/{path:path}", include_in_schema=False)
    def site_file(path: str) -> Response:
        if path and not path.endswith("/") and "." not in path.rsplit("/", 1)[-1]:
            return RedirectResponse(f"/gk/{path}/")  # so relative links in the page resolve
        found = resolve(site_root, path)
        if found is None:
            raise HTTPException(status_code=404, detail="not published")
        media = _TYPES.get(found.suffix) or mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        return FileResponse(found, media_type=media, headers={"Cache-Control": "no-cache"})
