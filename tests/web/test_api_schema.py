"""Schemathesis over /openapi.json, on SQLite and PostgreSQL: no generated request produces a server
error, and every error answer keeps the {"error": {"code", "message"}} shape. Bounded: 30 examples
per operation. (Hostile values schemathesis does not generate: tests/security/test_hostile_requests.py.)"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from gkflow.runtime import Runtime
from gkflow.services.sessions import issue_token
from gkflow.web.app import create_app
from tests.helpers import with_settings

ERROR_CODES = {
    "not_found",
    "transition_not_allowed",
    "forbidden",
    "conflict",
    "invalid_input",
    "calendar_unknown_year",
    "invalid_config",
    "rate_limited",
    "too_large",
    "phone_unverified",
}


@pytest.fixture
def app(rt: Runtime):
    return create_app(with_settings(rt, hotline_secret="schema-test-secret"))


def test_no_request_produces_a_server_error(app, rt):
    # Schemathesis' own pytest plugin does not run on this pytest; its strategies drive Hypothesis here.
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"Authorization": f"Bearer {issue_token(rt, 'clerk')}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(operation.as_strategy())
        @settings(
            max_examples=30,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def no_server_error(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:500]}"
            if response.status_code >= 400:
                error = response.json()["error"]
                assert error["code"] in ERROR_CODES and error["message"], response.text

        no_server_error()
