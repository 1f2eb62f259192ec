"""Limits at the door: request bodies are capped before a handler sees them (JSON and forms small,
uploads larger), answered 413 with a Chinese message; a chunked body is counted as it streams."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gkflow.domain.errors import TooLarge

MAX_SMALL_BODY = 64 * 1024  # JSON and forms
MAX_UPLOAD_BODY = 25 * 1024 * 1024  # multipart uploads (each file is limited again by the service)


def body_limit(content_type: str) -> int:
    """The most bytes a body of ``content_type`` may have."""
    return MAX_UPLOAD_BODY if content_type.startswith("multipart/form-data") else MAX_SMALL_BODY


def _words(limit: int) -> str:
    return f"{limit // 1024 // 1024}MB" if limit >= 1024 * 1024 else f"{limit // 1024}KB"


class BodyLimit:
    """ASGI middleware: 413 for a declared Content-Length over the limit; a streamed body over it
    raises TooLarge from ``receive`` (the app's error handler answers it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        limit = body_limit(headers.get("content-type", "").lower())
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(scope, send, limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge(f"提交的内容过大（上限{_words(limit)}）", fields=["body"])
            return message

        await self.app(scope, counted, send)


async def _refuse(scope: Scope, send: Send, limit: int) -> None:
    message = f"提交的内容过大（上限{_words(limit)}）"
    path = scope.get("path", "")
    if path.startswith("/api"):
        body = json.dumps({"error": {"code": "too_large", "message": message}}, ensure_ascii=False).encode()
        content_type = b"application/json"
    else:
        body = (f'<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>提交的内容过大</title>'
                f"<p>{message}，请压缩文件或分次提交后返回重试。</p></html>").encode()
        content_type = b"text/html; charset=utf-8"
    headers: list[Any] = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                          (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
