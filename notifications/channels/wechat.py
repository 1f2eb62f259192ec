"""WeChat template messages: POST {touser, template_id, data: {field: {value}}, url?}.

The API answers HTTP 200 with ``errcode``; a non-zero code is classified below. The
"url" field of a rendered wechat message becomes the tap-through link, not a template field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import requests

from notifications.channels import _http
from notifications.channels.base import check_message
from notifications.errors import (
    DeliveryError,
    PermanentFailure,
    TechnicalFailure,
    TemporaryFailure,
)
from notifications.masking import mask_recipient
from notifications.message import RenderedMessage, SendReceipt
from notifications.policy import Status

# -1 busy, 45009 rate limit; 40001/40014/42001: the access token is stale, and a refresh
# (by whoever manages it) makes the retry succeed.
TEMPORARY_ERRCODES = frozenset({-1, 45009, 40001, 40014, 42001})
# Our configuration or payload: 41001 no token, 40037 bad template id, 47001 malformed data.
TECHNICAL_ERRCODES = frozenset({41001, 40037, 47001})
# Anything else (40003 invalid openid, 43004 not subscribed, 43101 user refused, ...) is the
# platform refusing this message for good.

_OPENID = re.compile(r"[A-Za-z0-9_-]{6,64}")


def classify_errcode(errcode: int, errmsg: str) -> DeliveryError:
    reason = f"WeChat errcode {errcode}: {errmsg[:200]}"
    if errcode in TEMPORARY_ERRCODES:
        return TemporaryFailure(reason)
    if errcode in TECHNICAL_ERRCODES:
        return TechnicalFailure(reason)
    return PermanentFailure(reason)


class WechatChannel:
    name = "wechat"

    def __init__(
        self,
        api_url: str,
        app_token: str,
        template_ids: Mapping[str, str],
        timeout: _http.Timeout = _http.DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        self.api_url = api_url
        self.template_ids = dict(template_ids)
        self.timeout = timeout
        self._app_token = app_token
        self._session = session or _http.new_session(api_url)

    def send(self, message: RenderedMessage, recipient: str, idempotency_key: str) -> SendReceipt:
        check_message(self.name, message, idempotency_key)
        template_id = self.template_ids.get(message.notice)
        if not template_id:
            raise TechnicalFailure(f"no WeChat template id configured for {message.notice!r}")
        if message.fields is None:
            raise TechnicalFailure(f"wechat message {message.notice} has no fields")
        openid = recipient.strip()
        if not _OPENID.fullmatch(openid):
            raise PermanentFailure(f"invalid recipient {mask_recipient(recipient)}: not an openid")
        fields = dict(message.fields)
        url = fields.pop("url", None)
        payload: dict[str, object] = {
            "touser": openid,
            "template_id": template_id,
            "data": {key: {"value": value} for key, value in fields.items()},
        }
        if url:
            payload["url"] = url
        response = _http.post(
            self._session,
            self.api_url,
            body=_http.dumps(payload),
            headers={"Idempotency-Key": idempotency_key},
            params={"access_token": self._app_token},
            timeout=self.timeout,
            secrets=(self._app_token,),
        )
        answer = _http.json_object(response)
        if "errcode" not in answer and "msgid" not in answer:
            # At-least-once: an unreadable answer is retried rather than assumed delivered.
            raise TemporaryFailure("WeChat answered without errcode or msgid")
        errcode = answer.get("errcode", 0)
        if errcode != 0:
            raise classify_errcode(int(errcode), str(answer.get("errmsg", "")))
        msgid = answer.get("msgid")
        return SendReceipt(provider_ref=str(msgid) if msgid else None, status=Status.SENDING)

    def close(self) -> None:
        self._session.close()
