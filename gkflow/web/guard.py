"""The one gate every request passes: bounds on the request line and body (no control characters, a
limited size and JSON depth), and the security headers on every response, errors and /gk/ included.

``guard_request`` is an app-wide dependency, so a refusal is an ordinary InvalidInput answered by the
app's error handlers (422, JSON under /api, a page elsewhere) before any handler or database sees the
input. Multipart bodies (uploads) are left to their handlers: files may hold any byte.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gkflow.domain.bounds import control_character, json_control_character, json_depth_exceeds
from gkflow.domain.errors import InvalidInput, TooLarge
from gkflow.web.limits import MAX_SMALL_BODY

MAX_BODY = MAX_SMALL_BODY  # JSON and form bodies (gkflow.web.limits); uploads have their own limits
MAX_PATH = 2048
MAX_QUERY = 8192
# Header values are bytes (latin-1): only C0 (but tab) and DEL; bytes 0x80-0x9F are UTF-8, not C1.
_HEADER_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")

_BASE_CSP = "base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
# Pages and the API: nothing inline, nothing from elsewhere (the pages use no JavaScript).
PAGE_CSP = f"default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'; {_BASE_CSP}"
# The published site (/gk/) is static HTML with its own <style> and inline SVG, and no scripts.
SITE_CSP = (
    f"default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; form-action 'none'; {_BASE_CSP}"
)
# /docs: Swagger UI served from this server (gkflow.web.api_docs); its one inline bootstrap script
# runs by a per-response nonce, everything else comes from 'self'.
def docs_csp(nonce: str | None = None) -> str:
    """The policy of the Swagger UI page (with its script's nonce) and of anything else under /docs."""
    scripts = f"'self' 'nonce-{nonce}'" if nonce else "'self'"
    return (f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data:; connect-src 'self'; form-action 'self'; {_BASE_CSP}")


DOCS_CSP = docs_csp()
_COMMON = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


def csp_for(path: str) -> str:
    """The Content-Security-Policy of the response to ``path``."""
    if path == "/gk" or path.startswith("/gk/"):
        return SITE_CSP
    if path in ("/docs", "/redoc") or path.startswith("/docs/"):
        return DOCS_CSP
    return PAGE_CSP


def security_headers(path: str) -> dict[str, str]:
    """Every security header of the response to ``path`` (for responses built outside the middleware)."""
    headers = {k.decode(): v.decode() for k, v in _COMMON}
    headers["Content-Security-Policy"] = csp_for(path)
    return headers


class SecurityHeaders:
    """ASGI middleware: the security headers on every HTTP response that does not set its own, and a
    413 for a declared JSON or form body over MAX_BODY before anything reads it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _declares_large_body(scope):
            await _too_large(scope, send)
            return
        extra = (*_COMMON, (b"content-security-policy", csp_for(scope.get("path", "")).encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _declares_large_body(scope: Scope) -> bool:
    length = b""
    multipart = False
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            length = value
        elif name == b"content-type":
            multipart = value.lower().startswith(b"multipart/")
    return not multipart and length.isdigit() and int(length) > MAX_BODY


async def _too_large(scope: Scope, send: Send) -> None:
    body = json.dumps({"error": {"code": TooLarge.code, "message": "请求内容过大"}},
                      ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close"), *_COMMON,
               (b"content-security-policy", csp_for(scope.get("path", "")).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _refuse(where: str, bad: str) -> InvalidInput:
    return InvalidInput(f"输入中含有不允许的控制字符（{bad}），请删除后重试。", fields=[where])


async def guard_request(request: Request) -> None:
    """Refuse (4xx) a request whose path, query, headers or JSON/form body break the input bounds."""
    path = request.url.path
    query = request.scope.get("query_string", b"")
    if len(path) > MAX_PATH or len(query) > MAX_QUERY:
        raise HTTPException(status_code=414, detail="请求地址过长")
    bad = control_character(path)
    if bad:
        raise _refuse("path", bad)
    _check_pairs(request.query_params.multi_items(), "query")
    for name, value in request.scope.get("headers", []):
        if _HEADER_CONTROL.search(value):
            raise _refuse(f"header {name.decode('latin-1')}", "U+0000–U+001F")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method in ("GET", "HEAD", "OPTIONS") or content_type.startswith("multipart/"):
        return
    body = await _bounded_body(request)
    if not body:
        return
    if content_type == "application/x-www-form-urlencoded":
        _check_pairs(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True), "form")
    else:  # JSON whatever the declared type: signed endpoints (12345 intake, receipts) parse raw bodies
        _check_json(body)


def _check_pairs(pairs: list[tuple[str, str]], what: str) -> None:
    for key, value in pairs:
        for text in (key, value):
            bad = control_character(text)
            if bad:
                raise _refuse(f"{what}", bad)


def _check_json(body: bytes) -> None:
    try:
        data: Any = json.loads(body)
    except RecursionError:
        raise InvalidInput("JSON 嵌套层数过多", fields=["body"]) from None
    except ValueError:
        return  # not JSON at all: the handler's own parser says so, in its own words
    if json_depth_exceeds(data):
        raise InvalidInput("JSON 嵌套层数过多", fields=["body"])
    found = json_control_character(data)
    if found:
        raise _refuse(*found)


async def _bounded_body(request: Request) -> bytes:
    """The body, read at most once and never beyond MAX_BODY (413 past it)."""
    length = request.headers.get("content-length")
    if length is not None and not length.isdigit():
        raise InvalidInput("Content-Length 不是数字", fields=["content-length"])
    if length is not None and int(length) > MAX_BODY:
        raise TooLarge("请求内容过大", fields=["body"])
    if length is not None:
        return await request.body()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise TooLarge("请求内容过大", fields=["body"])
        chunks.append(chunk)
    body = b"".join(chunks)
    # Starlette keeps a body read through request.body() here; the handlers read it from there.
    request._body = body  # noqa: SLF001
    return body
