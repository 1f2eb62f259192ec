"""A Hypothesis run over every route (API, pages, forms, the published site) whose inputs include NUL
and other control characters, 1 MB strings, numbers beyond every integer type, impossible dates and
deeply nested JSON, as an anonymous visitor, a logged-in clerk and an administrator, with and without
valid signatures: no answer is a server error, on SQLite and on PostgreSQL.

(tests/web/test_api_schema.py drives schemathesis' own strategies over /openapi.json; this one adds
the pages, which are not in the schema, and the hostile values schemathesis does not generate.)"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gkflow.runtime import Runtime
from gkflow.services.sessions import issue_token
from gkflow.web.app import create_app
from notifications.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.helpers import with_settings
from tests.security.conftest import HOTLINE_SECRET, RECEIPT_SECRET
from tests.web.conftest import csrf_of, submit_gov

MEGABYTE = 1024 * 1024
FORM_KEYS = ["code", "comment", "email", "expected_version", "id_number", "item", "level", "name", "next",
             "password", "phone", "resolution", "username", "f_requested_information", "f_outcome"]
ERROR_CODES = {"not_found", "transition_not_allowed", "forbidden", "conflict", "invalid_input",
               "calendar_unknown_year", "invalid_config", "rate_limited", "too_large", "phone_unverified"}


def _nested(depth: int) -> str:
    """JSON text nested ``depth`` deep (written directly: json.dumps itself would recurse)."""
    return '{"a": [' * depth + '"x"' + "]}" * depth


TEXT = st.one_of(
    st.text(max_size=30),
    st.text(max_size=10).map(lambda s: s[: len(s) // 2] + "\x00" + s[len(s) // 2:]),
    st.sampled_from(["\x00", "\x01\x02", "\x1b[2J", "\x7f", "\u0085", "\ufffe", "\t\r\n", "%00", "../..",
                     "99999999999999999999", str(2**31), str(2**63), "-1", "0", "1e309", "NaN",
                     "0001-01-01T00:00:00", "9999-12-31T23:59:59Z", "2026-02-30", "GK20260302-AAAAAA",
                     "gov-info-request", "clerk", "'; DROP TABLE cases; --", "<script>alert(1)</script>",
                     "=HYPERLINK(\"http://x\")"]),
    st.sampled_from(["A" * MEGABYTE, "张" * (MEGABYTE // 3), "\x00" * 1000]),
)
# httpx itself refuses a URL over 64 KiB: in paths and queries "long" means thousands of characters.
URL_TEXT = st.one_of(TEXT.filter(lambda s: len(s) < 4096 and not re.search("[\ud800-\udfff]", s)),
                     st.sampled_from(["A" * 12_000, "张" * 2000]))
JSON_BODY = st.one_of(
    st.recursive(
        st.one_of(TEXT, st.integers(), st.integers(min_value=2**63, max_value=2**70), st.booleans(),
                  st.none(), st.floats(allow_nan=False, allow_infinity=False)),
        lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
        max_leaves=6,
    ).map(json.dumps),
    st.integers(min_value=17, max_value=50_000).map(_nested),
)


def _routes(app) -> list[tuple[str, str, list[str]]]:
    found = []
    for entry in app.routes:
        for route in getattr(getattr(entry, "original_router", None), "routes", [entry]):
            if isinstance(route, APIRoute):
                for method in sorted(route.methods):
                    found.append((method, route.path, [p.name for p in route.dependant.query_params]))
    return found


@pytest.fixture
def clients(rt: Runtime):
    app = create_app(with_settings(rt, hotline_secret=HOTLINE_SECRET))
    anonymous = TestClient(app, raise_server_exceptions=False, follow_redirects=False,
                           client=("203.0.113.9", 40000))
    staff = {}
    for username in ("clerk", "admin"):
        client = TestClient(app, raise_server_exceptions=False, follow_redirects=False,
                            client=("127.0.0.1", 40000))
        page = client.get("/staff/login")
        client.post("/staff/login", data={"username": username, "password": "gkflow-demo",
                                          "csrf_token": csrf_of(page.text)})
        staff[username] = (client, csrf_of(client.get("/staff/rectifications").text),
                           issue_token(rt, username))
    case = submit_gov(anonymous)
    return app, anonymous, staff, case


def test_no_hostile_request_is_a_server_error(clients, rt, monkeypatch):
    monkeypatch.setenv("GKFLOW_SMS_RECEIPT_SECRET", RECEIPT_SECRET)
    app, anonymous, staff, case = clients
    routes = _routes(app)
    assert len(routes) >= 30

    @given(data=st.data())
    @settings(max_examples=250, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    def hostile(data: st.DataObject) -> None:
        method, path, query_names = data.draw(st.sampled_from(routes), label="route")
        who = data.draw(st.sampled_from(["anonymous", "clerk", "admin"]), label="who")
        client, csrf, token = (anonymous, "", "") if who == "anonymous" else staff[who]

        def fill(match: re.Match[str]) -> str:
            if data.draw(st.booleans()):
                return quote(case["case_no"] if "case" in match.group(1) else "1", safe="")
            return quote(data.draw(URL_TEXT, label=match.group(1)), safe="")

        url = re.sub(r"\{([^}:]+)(?::path)?\}", fill, path)
        params = {name: data.draw(URL_TEXT, label=name) for name in query_names
                  if data.draw(st.booleans())}
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        kwargs: dict[str, Any] = {"params": params, "headers": headers}
        if method == "POST":
            kind = data.draw(st.sampled_from(["json", "form", "raw"]), label="body")
            if kind == "json":
                body = data.draw(JSON_BODY, label="json").encode()
                headers["Content-Type"] = "application/json"
            elif kind == "form":
                form = {k: data.draw(TEXT, label=k) for k in FORM_KEYS if data.draw(st.booleans())}
                form["csrf_token"] = csrf or data.draw(TEXT)
                body = "&".join(f"{quote(k, safe='')}={quote(v, safe='', errors='replace')}"
                                for k, v in form.items()).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            else:  # no declared type: the signed endpoints parse JSON whatever the header says
                body = data.draw(st.one_of(TEXT, JSON_BODY), label="raw").encode("utf-8", "replace")
            if path.startswith(("/api/intake", "/api/receipts")) and data.draw(st.booleans()):
                stamp = int(rt.now().timestamp())
                secret = HOTLINE_SECRET if "intake" in path else RECEIPT_SECRET
                headers.update({TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(secret, stamp, body)})
            kwargs["content"] = body
        response = client.request(method, url, **kwargs)
        assert response.status_code < 500, f"{method} {url[:200]}: {response.text[:300]!r}"
        if response.headers.get("content-type", "").startswith("application/json") and \
                response.status_code >= 400:
            assert response.json()["error"]["code"] in ERROR_CODES, response.text[:300]

    hostile()
