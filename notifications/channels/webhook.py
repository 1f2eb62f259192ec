"""Signed JSON POST to a receiver such as the 12345 platform, and the receiver's verification.

Wire format: body ``{"notice", "recipient", "idempotency_key", "data": <the rendered JSON>}``;
headers ``X-Gkflow-Timestamp`` (unix seconds), ``X-Gkflow-Signature: sha256=<hex>`` where the
hex is HMAC-SHA256(secret, f"{timestamp}.{body}"), and ``Idempotency-Key``. A receiver rejects
stale timestamps (replay) with verify_signature and deduplicates on the Idempotency-Key within
the tolerance window.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from datetime import datetime

import requests

from notifications.channels import _http
from notifications.channels.base import check_message
from notifications.errors import TechnicalFailure
from notifications.message import RenderedMessage, SendReceipt
from notifications.policy import Status

TIMESTAMP_HEADER = "X-Gkflow-Timestamp"
SIGNATURE_HEADER = "X-Gkflow-Signature"


def _bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def sign(secret: str | bytes, timestamp: int | str, body: str | bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, "{timestamp}.{body}")."""
    signed = f"{timestamp}.".encode("ascii") + _bytes(body)
    return "sha256=" + hmac.new(_bytes(secret), signed, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str | bytes,
    timestamp: str | int | None,
    body: str | bytes,
    signature: str | None,
    now: datetime | float,
    tolerance_s: float = 300,
) -> bool:
    """True only for a genuine signature over ``body`` made within ``tolerance_s`` of ``now``."""
    if timestamp is None or signature is None:
        return False
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    now_s = now.timestamp() if isinstance(now, datetime) else float(now)
    if abs(now_s - sent_at) > tolerance_s:
        return False
    expected = sign(secret, sent_at, body)
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8"))


class WebhookChannel:
    name = "webhook"

    def __init__(
        self,
        url: str,
        secret: str,
        timeout: _http.Timeout = _http.DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise TechnicalFailure("webhook secret must not be empty")
        self.url = url
        self.timeout = timeout
        self._secret = secret
        self._session = session or _http.new_session(url)
        self._clock = clock

    def send(self, message: RenderedMessage, recipient: str, idempotency_key: str) -> SendReceipt:
        check_message(self.name, message, idempotency_key)
        if message.fields is None:
            raise TechnicalFailure(f"webhook message {message.notice} has no JSON body")
        body = _http.dumps(
            {
                "notice": message.notice,
                "recipient": recipient,
                "idempotency_key": idempotency_key,
                "data": message.fields,
            }
        )
        timestamp = int(self._clock())
        response = _http.post(
            self._session,
            self.url,
            body=body,
            headers={
                TIMESTAMP_HEADER: str(timestamp),
                SIGNATURE_HEADER: sign(self._secret, timestamp, body),
                "Idempotency-Key": idempotency_key,
            },
            timeout=self.timeout,
            secrets=(self._secret,),
        )
        ref = _http.json_object(response).get("id")
        return SendReceipt(provider_ref=str(ref) if ref else None, status=Status.DELIVERED)

    def close(self) -> None:
        self._session.close()
