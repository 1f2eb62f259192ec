"""POST JSON with requests and translate every outcome into a receipt or a DeliveryError."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

import requests

from notifications.errors import PermanentFailure, TechnicalFailure, TemporaryFailure
from notifications.masking import redact

Timeout = float | tuple[float, float]
# Connect timeout just above a TCP retransmission window (3 s); read timeout for slow gateways.
DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 10.0)

_CONFIG_ERRORS = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
    requests.exceptions.URLRequired,
)


def new_session(url: str) -> requests.Session:
    """A session for one endpoint that reads proxy and CA settings from the environment once.

    requests' default (``trust_env``) walks the whole environment on every request to find them,
    about 7 % of a loopback POST; the endpoint is fixed, so its answer is too. NO_PROXY is honoured.
    """
    session = requests.Session()
    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(url))
    ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if ca_bundle:
        session.verify = ca_bundle
    return session


def dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def post(
    session: requests.Session,
    url: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    timeout: Timeout,
    params: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
) -> requests.Response:
    """POST ``body``; return a 2xx response or raise the matching DeliveryError.

    Exceptions are raised ``from None``: requests' messages carry the URL, and a URL may carry a
    token (WeChat); the reason keeps a redacted copy of the message instead.
    """
    secrets = tuple(secrets)
    all_headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
    all_headers.update(headers)
    try:
        response = session.post(
            url,
            data=body,
            headers=all_headers,
            params=params,
            timeout=timeout,
            # A redirect would turn the POST into a GET; a moved endpoint is a config error.
            allow_redirects=False,
        )
    except _CONFIG_ERRORS as exc:
        raise TechnicalFailure(f"bad endpoint: {_describe(exc, secrets)}") from None
    except requests.exceptions.SSLError as exc:
        raise TechnicalFailure(f"TLS failure: {_describe(exc, secrets)}") from None
    except requests.Timeout as exc:
        raise TemporaryFailure(f"timeout: {_describe(exc, secrets)}") from None
    except requests.RequestException as exc:
        raise TemporaryFailure(f"connection failed: {_describe(exc, secrets)}") from None
    raise_for_status(response, secrets)
    return response


def raise_for_status(response: requests.Response, secrets: Iterable[str] = ()) -> None:
    code = response.status_code
    if 200 <= code < 300:
        return
    reason = f"HTTP {code}: {redact(response.text[:200], secrets)}".rstrip(": ")
    if code in (408, 429) or code >= 500:
        raise TemporaryFailure(reason, retry_after=_retry_after(response))
    if 400 <= code < 500:
        raise PermanentFailure(reason)
    raise TechnicalFailure(f"unexpected answer, {reason}")


def json_object(response: requests.Response) -> dict[str, Any]:
    """The response body as a JSON object, or {} when it is empty or not a JSON object."""
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    # The HTTP-date form would need "now"; providers send seconds in practice.
    return float(value) if value.isdigit() else None


def _describe(exc: Exception, secrets: Iterable[str]) -> str:
    return redact(f"{type(exc).__name__}: {exc}", secrets)[:300]
