"""Shared plumbing of the web app: templates, forms, sessions, CSRF, bearer tokens, rate limits."""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gkflow.auth import Account, Session, account_for_token, load_session
from gkflow.db.web_models import LookupFailureRow
from gkflow.domain.errors import Forbidden, GkflowError, InvalidInput
from gkflow.runtime import Runtime
from gkflow.services.cases import write_connection

TEMPLATES_DIR = Path(__file__).parent / "templates"
SESSION_COOKIE = "gkflow_session"
CSRF_COOKIE = "gkflow_csrf"
CSRF_FIELD = "csrf_token"
MAX_FORM_BYTES = 64 * 1024

# Public look-ups: at most this many failures per client per window, then 429 until it ends.
LOOKUP_WINDOW = timedelta(minutes=10)
LOOKUP_MAX_FAILURES = 10

lookup_failures_t = LookupFailureRow.__table__


class Unauthenticated(Forbidden):
    http_status = 401


class RateLimited(GkflowError):
    code = "rate_limited"
    http_status = 429


class LoginRequired(Exception):
    """A page needs a logged-in member of staff: redirect to the login page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def rt_of(request: Request) -> Runtime:
    return request.app.state.rt


# -- templates ------------------------------------------------------------------------------------


def _local_dt(value: datetime | str | None, rt: Runtime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(rt.settings.tz).strftime(fmt)


def make_environment(rt: Runtime) -> Environment:
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
    return env


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    session: Session | None = None,
) -> HTMLResponse:
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
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    )
    response.headers["Cache-Control"] = "no-store"
    new_cookie = getattr(request.state, "new_csrf_cookie", None)
    if new_cookie:
        set_cookie(request, response, CSRF_COOKIE, new_cookie, max_age=None)
    return response


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        path="/",
        secure=request.url.scheme == "https" or rt_of(request).settings.public_base_url.startswith("https"),
    )


# -- forms and CSRF -------------------------------------------------------------------------------


async def read_form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (the only kind these pages send)."""
    body = await request.body()
    if not body:
        return {}
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise InvalidInput("expected a form (application/x-www-form-urlencoded)")
    if len(body) > MAX_FORM_BYTES:
        raise InvalidInput("the form is too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise InvalidInput("the form is not UTF-8") from None
    return dict(pairs)


# Form handlers are plain `def` endpoints taking this: the body is read on the event loop, and the
# handler's blocking work (Argon2, database writes) runs in FastAPI's thread pool instead of
# stalling every other request on the loop.
FormData = Annotated[dict[str, str], Depends(read_form)]


async def _raw_body(request: Request) -> bytes:
    return await request.body()


# The same for endpoints that verify a signature over the raw body.
RawBody = Annotated[bytes, Depends(_raw_body)]


def anon_csrf_token(request: Request) -> str:
    """Double-submit token for forms shown before login (login, rating)."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf_cookie", None)
    if not token:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf_cookie = token
    return token


def check_csrf(request: Request, form: dict[str, str], session: Session | None) -> None:
    expected = session.csrf_token if session else request.cookies.get(CSRF_COOKIE)
    given = form.get(CSRF_FIELD, "")
    if not expected or not given or not hmac.compare_digest(expected, given):
        raise Forbidden("表单已失效，请刷新页面后重试 (missing or wrong CSRF token)")


# -- staff identity -------------------------------------------------------------------------------


def page_session(request: Request) -> Session | None:
    return load_session(rt_of(request), request.cookies.get(SESSION_COOKIE))


def require_session(request: Request, *, admin: bool = False) -> Session:
    session = page_session(request)
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    if admin and not session.account.is_admin:
        raise Forbidden("此页面仅限管理员 (administrators only)")
    return session


def api_account(request: Request) -> Account:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("a bearer token is required (Authorization: Bearer <token>)")
    account = account_for_token(rt_of(request), token.strip())
    if account is None:
        raise Unauthenticated("the bearer token is unknown or revoked")
    return account


def may_see_case(account: Account, department: str, assigned_department: str | None = None) -> bool:
    """Administrators see every case; staff those of their department or assigned to it (承办)."""
    return account.is_admin or (
        account.department is not None and account.department in (department, assigned_department)
    )


# -- public look-up rate limit ----------------------------------------------------------------


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _window_start(now: datetime) -> datetime:
    seconds = int(LOOKUP_WINDOW.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def check_lookup_allowed(rt: Runtime, client: str) -> None:
    start = _window_start(rt.now())
    with rt.engine.connect() as conn:
        failures = conn.execute(
            select(lookup_failures_t.c.failures).where(
                lookup_failures_t.c.client == client, lookup_failures_t.c.window_start == start
            )
        ).scalar()
    if failures is not None and failures >= LOOKUP_MAX_FAILURES:
        raise RateLimited("查询失败次数过多，请10分钟后再试 (too many failed look-ups; try again later)")


def record_lookup_failure(rt: Runtime, client: str) -> None:
    now = rt.now()
    start = _window_start(now)
    with write_connection(rt) as conn, conn.begin():
        updated = conn.execute(
            lookup_failures_t.update()
            .where(
                lookup_failures_t.c.client == client,
                lookup_failures_t.c.window_start == start,
            )
            .values(failures=lookup_failures_t.c.failures + 1)
        ).rowcount
        if not updated:
            conn.execute(lookup_failures_t.delete().where(lookup_failures_t.c.window_start < start))
            try:
                with conn.begin_nested():
                    conn.execute(
                        lookup_failures_t.insert().values(client=client, window_start=start, failures=1)
                    )
            except IntegrityError:  # another process inserted the row first
                conn.execute(
                    lookup_failures_t.update()
                    .where(
                        lookup_failures_t.c.client == client,
                        lookup_failures_t.c.window_start == start,
                    )
                    .values(failures=lookup_failures_t.c.failures + 1)
                )
