"""Fixtures of the web tests: an app over a real database, bearer tokens, logged-in page clients."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gkflow.runtime import Runtime
from gkflow.services.sessions import issue_token
from gkflow.web.app import create_app
from tests.helpers import GOV

GOV_DEPT = "格尔木市人民政府办公室"
DEMO_PASSWORD = "gkflow-demo"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


@pytest.fixture
def app_rt(sqlite_rt: Runtime) -> Runtime:
    return sqlite_rt


@pytest.fixture
def client(app_rt: Runtime) -> Iterator[TestClient]:
    # From this machine, as a clerk trying the demo accounts would be (they log in only from loopback).
    with TestClient(create_app(app_rt), follow_redirects=False, client=("127.0.0.1", 50000)) as c:
        yield c


@pytest.fixture
def bearer(app_rt: Runtime) -> Callable[[str], dict[str, str]]:
    def make(username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(app_rt, username)}"}

    return make


def partner_headers(client: TestClient) -> dict[str, str]:
    """A bearer token of the demo partner (an integration submits without the SMS code)."""
    rt = client.app.state.rt  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {issue_token(rt, 'partner')}"}


def submit_gov(client: TestClient, headers: dict[str, str] | None = None, **overrides: Any) -> dict[str, Any]:
    body = {
        "item": GOV,
        "name": "张三丰",
        "phone": "13912345678",
        "id_number": "630101199001011239",
        "fields": {"requested_information": "2025年部门预算"},
    }
    body.update(overrides)
    response = client.post("/api/cases", json=body, headers=headers or partner_headers(client))
    assert response.status_code == 201, response.text
    return response.json()


def complete_gov(client: TestClient, case_no: str, headers: dict[str, str]) -> None:
    for action, body in (("accept", {}), ("decide", {"fields": {"outcome": "予以公开"}}), ("deliver", {})):
        response = client.post(f"/api/cases/{case_no}/actions/{action}", json=body, headers=headers)
        assert response.status_code == 200, response.text


def login(client: TestClient, username: str, password: str = DEMO_PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token for later forms."""
    page = client.get("/staff/login")
    response = client.post(
        "/staff/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text), "next": "/staff"},
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/staff").text)


@pytest.fixture
def bearer_for(rt: Runtime) -> Callable[[str], dict[str, str]]:
    """Bearer headers on the parametrized runtime (SQLite and PostgreSQL)."""
    def make(username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(rt, username)}"}

    return make
