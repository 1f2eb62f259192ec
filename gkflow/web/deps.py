"""FastAPI dependencies: the runtime, form and raw bodies, CSRF, the staff session of a page and the
account of a bearer token. Handlers declare what they need in their signature."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, Path, Request

from gkflow.domain.access import require_admin
from gkflow.domain.bounds import MAX_ID
from gkflow.domain.errors import Forbidden, InvalidInput, Unauthenticated
from gkflow.runtime import Runtime
from gkflow.services.accounts import Account
from gkflow.services.sessions import Session, account_for_token, load_session
from gkflow.web.templating import CSRF_COOKIE

# A row id in a path: bounded, so that no id reaches the database as an integer it cannot hold.
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]

SESSION_COOKIE = "gkflow_session"
CSRF_FIELD = "csrf_token"
MAX_FORM_BYTES = 64 * 1024


class LoginRequired(Exception):
    """A page needs a logged-in member of staff: redirect to the login page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def get_runtime(request: Request) -> Runtime:
    """The process's runtime (settings, database, catalogue, calendar, clock)."""
    rt: Runtime = request.app.state.rt
    return rt


async def _runtime(request: Request) -> Runtime:
    return get_runtime(request)


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency in its thread
# pool, one hand-off (and GIL round) per request for nothing (bench `sustained.postgres`).
RuntimeDep = Annotated[Runtime, Depends(_runtime)]


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


def client_key(request: Request) -> str:
    """Who is asking, for rate limits: the socket peer, or, when the peer is a proxy named in
    GKFLOW_TRUSTED_PROXIES, the nearest address in X-Forwarded-For that is not such a proxy."""
    peer = request.client.host if request.client else "unknown"
    trusted = get_runtime(request).settings.trusted_proxy_networks
    if not trusted or not _within(peer, trusted):
        return peer
    hops = [hop.strip() for header in request.headers.getlist("x-forwarded-for")
            for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a hop that is no address: count the proxy itself, never a made-up name
        if not _within(hop, trusted):
            return hop
    return hops[0] if hops else peer


_FORWARDING_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


def direct_client(request: Request) -> str | None:
    """The client as ``client_key`` names it, or None when an untrusted peer says it forwards for
    someone else (a reverse proxy on this machine that is not in GKFLOW_TRUSTED_PROXIES): such a
    request must not count as coming from this machine (the demo password works only from there)."""
    peer = request.client.host if request.client else "unknown"
    trusted = get_runtime(request).settings.trusted_proxy_networks
    if not _within(peer, trusted) and any(request.headers.get(h) for h in _FORWARDING_HEADERS):
        return None
    return client_key(request)


def _within(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


async def _client_key(request: Request) -> str:
    return client_key(request)


ClientKey = Annotated[str, Depends(_client_key)]


def check_csrf(request: Request, form: dict[str, str], session: Session | None) -> None:
    """Forbidden unless the form carries the session's (or the double-submit cookie's) CSRF token."""
    expected = session.csrf_token if session else request.cookies.get(CSRF_COOKIE)
    given = form.get(CSRF_FIELD, "")
    if not expected or not given or not hmac.compare_digest(expected, given):
        raise Forbidden("表单已失效，请刷新页面后重试 (missing or wrong CSRF token)")


# -- staff identity -------------------------------------------------------------------------------


def page_session(request: Request) -> Session | None:
    """The logged-in staff session of a page request, if any."""
    return load_session(get_runtime(request), request.cookies.get(SESSION_COOKIE))


def require_session(request: Request) -> Session:
    """The staff session; LoginRequired (a redirect to the login page) without one."""
    session = page_session(request)
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return session


def require_admin_session(request: Request) -> Session:
    """The session of an administrator; Forbidden for other staff."""
    session = require_session(request)
    require_admin(session.account)
    return session


StaffSession = Annotated[Session, Depends(require_session)]
AdminSession = Annotated[Session, Depends(require_admin_session)]


def api_account(request: Request) -> Account:
    """The account of the request's bearer token; 401 without a known one."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("a bearer token is required (Authorization: Bearer <token>)")
    account = account_for_token(get_runtime(request), token.strip())
    if account is None:
        raise Unauthenticated("the bearer token is unknown or revoked")
    return account


def api_admin(request: Request) -> Account:
    """The account of an administrator's bearer token."""
    account = api_account(request)
    if not account.is_admin:
        raise Forbidden("administrators only")
    return account


def optional_api_account(request: Request) -> Account | None:
    """The bearer token's account when the request carries one (401 if it is unknown), else None."""
    if not request.headers.get("authorization"):
        return None
    return api_account(request)


def query_code_header(request: Request) -> str:
    """The applicant's query code from ``X-Query-Code`` (or the old ``?code=``, never logged)."""
    return (request.headers.get("x-query-code") or request.query_params.get("code") or "").strip()[:64]


async def _api_account(request: Request) -> Account:
    # One indexed read (the token and its account), run on the event loop like the status look-ups:
    # a thread-pool hand-off costs more than the read.
    return api_account(request)


async def _optional_api_account(request: Request) -> Account | None:
    return optional_api_account(request)


ApiAccount = Annotated[Account, Depends(_api_account)]
OptionalApiAccount = Annotated[Account | None, Depends(_optional_api_account)]
QueryCode = Annotated[str, Depends(query_code_header)]
ApiAdmin = Annotated[Account, Depends(api_admin)]
