"""Pages: the Jinja2 environment, rendering (uncached), cookies."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from gkflow.runtime import Runtime
from gkflow.services.sessions import Session

TEMPLATES_DIR = Path(__file__).parent / "templates"
CSRF_COOKIE = "gkflow_csrf"
ROLE_LABELS = {
    "window_clerk": "窗口工作人员", "handler": "承办人", "department_head": "部门负责人",
    "dispatcher": "12345派单员", "applicant": "申请人", "system": "系统", "admin": "管理员",
}

# The security headers (CSP, nosniff, frame-ancestors, Referrer-Policy) are added to every response by
# gkflow.web.guard.SecurityHeaders; pages also stay out of caches (they may show personal data).
PAGE_HEADERS = {"Cache-Control": "no-store"}


def _local_dt(value: datetime | str | None, rt: Runtime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(rt.settings.tz).strftime(fmt)


def _file_size(size: int) -> str:
    if size < 1024:
        return f"{size} 字节"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def make_environment(rt: Runtime) -> Environment:
    """The pages' Jinja2 environment: autoescaped, StrictUndefined, Asia/Shanghai time filters."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(("html", "svg", "xml"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["local"] = lambda v, fmt="%Y-%m-%d %H:%M": _local_dt(v, rt, fmt)
    env.filters["day"] = lambda v: v.isoformat() if isinstance(v, date) else (v or "")
    env.filters["pct"] = lambda v: "—" if v is None else f"{v * 100:.1f}%"
    env.filters["urlq"] = lambda v: quote(str(v), safe="")
    env.filters["filesize"] = _file_size
    env.filters["role"] = lambda v: ROLE_LABELS.get(str(v), str(v))
    return env


def anon_csrf_token(request: Request) -> str:
    """Double-submit token for forms shown before login (login, rating)."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf_cookie", None)
    if not token:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf_cookie = token
    return str(token)


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    session: Session | None = None,
) -> HTMLResponse:
    """A page from ``templates/`` with the session, its CSRF token and the security headers."""
    env: Environment = request.app.state.templates
    csrf = session.csrf_token if session else anon_csrf_token(request)
    html = env.get_template(name).render(
        request_path=request.url.path,
        session=session,
        csrf_token=csrf,
        account=session.account if session else None,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    response.headers.update(PAGE_HEADERS)
    new_cookie = getattr(request.state, "new_csrf_cookie", None)
    if new_cookie:
        set_cookie(request, response, CSRF_COOKIE, new_cookie, max_age=None)
    return response


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None) -> None:
    """An HttpOnly, SameSite=Lax cookie; Secure when the site is served over HTTPS."""
    rt: Runtime = request.app.state.rt
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        path="/",
        secure=request.url.scheme == "https" or rt.settings.public_base_url.startswith("https"),
    )
