"""SMS through an HTTP gateway: POST {to, text, signature?, idempotency_key} with a bearer key."""

from __future__ import annotations

import re

import requests

from notifications.channels import _http
from notifications.channels.base import check_message
from notifications.errors import PermanentFailure
from notifications.masking import mask_recipient
from notifications.message import RenderedMessage, SendReceipt
from notifications.policy import Status

_MOBILE = re.compile(r"(?:\+?86)?(1[3-9]\d{9})")


def normalize_mobile(recipient: str) -> str:
    """The 11-digit mainland mobile number in ``recipient``; PermanentFailure if it is not one."""
    compact = re.sub(r"[\s-]", "", recipient)
    match = _MOBILE.fullmatch(compact)
    if not match:
        raise PermanentFailure(f"invalid recipient {mask_recipient(recipient)}: not a mainland mobile number")
    return match.group(1)


class SmsChannel:
    name = "sms"

    def __init__(
        self,
        gateway_url: str,
        api_key: str,
        signature: str,
        timeout: _http.Timeout = _http.DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        self.gateway_url = gateway_url
        self.signature = signature
        self.timeout = timeout
        self._api_key = api_key
        self._session = session or _http.new_session(gateway_url)

    def send(self, message: RenderedMessage, recipient: str, idempotency_key: str) -> SendReceipt:
        check_message(self.name, message, idempotency_key)
        body: dict[str, str] = {
            "to": normalize_mobile(recipient),
            "text": message.text,
            "idempotency_key": idempotency_key,
        }
        if self.signature:
            body["signature"] = self.signature
        response = _http.post(
            self._session,
            self.gateway_url,
            body=_http.dumps(body),
            headers={
                "Authorization": f"Bearer {self._api_key}",
                "Idempotency-Key": idempotency_key,
            },
            timeout=self.timeout,
            secrets=(self._api_key,),
        )
        answer = _http.json_object(response)
        ref = answer.get("id") or answer.get("message_id")
        # Gateways accept first and deliver later; only an explicit "delivered" is final.
        if answer.get("status") == "delivered":
            return SendReceipt(provider_ref=str(ref) if ref else None, status=Status.DELIVERED)
        return SendReceipt(provider_ref=str(ref) if ref else None, status=Status.SENDING)

    def close(self) -> None:
        self._session.close()
