"""Fixtures of the security tests: the app over real SQLite and real PostgreSQL, with the 12345 intake
and a receipt channel configured, and a way to see what the process logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from gkflow.runtime import Runtime, install_log_masking
from gkflow.web.app import create_app
from tests.helpers import with_settings

HOTLINE_SECRET = "hotline-secret-for-security-tests"
RECEIPT_SECRET = "receipt-secret-for-security-tests"


@pytest.fixture
def app_client(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A client that sees server errors as 500 answers (as a browser would), not as exceptions."""
    monkeypatch.setenv("GKFLOW_SMS_RECEIPT_SECRET", RECEIPT_SECRET)
    app = create_app(with_settings(rt, hotline_secret=HOTLINE_SECRET))
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False,
                    client=("127.0.0.1", 50000)) as client:
        yield client


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Everything logged at INFO and above, through the process's masking (as `gkflow serve` does)."""
    install_log_masking()
    caplog.set_level(logging.INFO)
    return caplog
