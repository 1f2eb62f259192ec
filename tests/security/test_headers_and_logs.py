"""Security headers on every response (pages, API, errors, the published site, static files) and
no personal data in logs: SQL parameters are hidden and every log record is masked."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gkflow.web.app import create_app
from gkflow.web.guard import DOCS_CSP, PAGE_CSP, SITE_CSP, docs_csp
from tests.helpers import served

HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options")


@pytest.mark.parametrize(("url", "csp"), [
    ("/", PAGE_CSP), ("/status", PAGE_CSP), ("/api/items", PAGE_CSP), ("/api/cases/GK1?code=X", PAGE_CSP),
    ("/no/such/page", PAGE_CSP), ("/api/no/such", PAGE_CSP), ("/static/gkflow.css", PAGE_CSP),
    ("/healthz", PAGE_CSP), ("/openapi.json", PAGE_CSP), ("/staff", PAGE_CSP),
    ("/gk/", SITE_CSP), ("/gk/no-such-task/", SITE_CSP), ("/docs", DOCS_CSP),
    ("/status/GK%00", PAGE_CSP),
])
def test_every_response_carries_the_security_headers(app_client, url, csp):
    response = app_client.get(url)
    for name in HEADERS:
        assert response.headers.get(name), f"{url} ({response.status_code}) lacks {name}"
    if url == "/docs":  # Swagger UI's page: the same policy with its bootstrap script's nonce
        nonce = re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"]).group(1)
        csp = docs_csp(nonce)
    assert response.headers["content-security-policy"] == csp
    assert "frame-ancestors 'none'" in csp and response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.fixture
def live_server(rt) -> Iterator[str]:
    """The app under a real uvicorn server on loopback (its own log records, as `gkflow serve`)."""
    app = create_app(rt)
    with served(app, log_config=None, log_level="info", lifespan="off") as base:
        yield base


def test_a_server_error_is_a_clean_page_with_the_headers_and_a_masked_log(live_server, logged, monkeypatch):
    import gkflow.web.public_pages as pages

    def broken(*_args, **_kwargs):
        raise RuntimeError("lost applicant 13912345678 / 630101199001011234 code=ABCD2345")

    monkeypatch.setattr(pages, "look_up", broken)  # the ?code= link of an old slip or notice
    response = httpx.get(f"{live_server}/status/GK20260302-AAAAAA?code=ABCD2345", timeout=10)
    assert response.status_code == 500 and "系统出错" in response.text
    assert "Traceback" not in response.text and "13912345678" not in response.text
    for name in HEADERS:
        assert response.headers.get(name)
    deadline = time.monotonic() + 5  # the server logs the exception after it has answered
    while not any(r.exc_info for r in logged.records) and time.monotonic() < deadline:
        time.sleep(0.05)
    logged_text = logged.text + "".join(r.exc_text or "" for r in logged.records)
    assert "RuntimeError" in logged_text
    for secret in ("13912345678", "630101199001011234", "ABCD2345"):
        assert secret not in logged_text


def test_sql_errors_name_no_parameter_values(rt):
    with pytest.raises(SQLAlchemyError) as caught, rt.engine.begin() as conn:
        conn.execute(text("INSERT INTO no_such_table (phone) VALUES (:phone)"), {"phone": "13912345678"})
    assert "13912345678" not in str(caught.value)


def test_every_log_record_is_masked_whatever_its_logger(logged):
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "10.0.0.1", "GET",
                                             "/status/GK1?code=ABCD2345", "1.1", 200)
    logging.getLogger("some.library").warning("applicant %s, id %s, mail %s", "13912345678",
                                              "63010119900101123X", "zhangsan@example.cn")
    try:
        raise ValueError("phone 13800001111")
    except ValueError:
        logging.getLogger("gkflow").exception("failed for 13900002222")
    output = logged.text + "".join(r.exc_text or "" for r in logged.records)
    for secret in ("ABCD2345", "13912345678", "63010119900101123X", "zhangsan@", "13800001111",
                   "13900002222"):
        assert secret not in output
    assert "code=***" in output and "139****5678" in output and "6301**********123X" in output
    # uvicorn's access formatter unpacks the arguments: they stay a tuple of the same length
    assert len(logged.records[0].args) == 5
