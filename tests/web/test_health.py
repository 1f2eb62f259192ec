"""GET /healthz: database, scheduler leader and outbox lag; 503 when the database does not answer."""

from __future__ import annotations

from fastapi.testclient import TestClient

from gkflow.runtime import Runtime
from gkflow.settings import Settings
from gkflow.web.app import create_app


def test_health_reports_database_scheduler_and_outbox(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["status"] == "ok" and body["problems"] == []
    assert body["database"] == {"ok": True, "dialect": "sqlite", "error": None}
    assert body["scheduler"] == {"embedded": False, "this_process_leads": False, "leader": None}
    assert body["outbox"] == {"due": 0, "lag_s": 0.0}


def test_health_is_503_down_when_the_database_does_not_answer(tmp_path, clock):
    rt = Runtime(Settings(var_dir=tmp_path, database_url="postgresql://nobody@127.0.0.1:1/none"), clock)
    with TestClient(create_app(rt)) as down:
        response = down.get("/healthz")
        assert "/healthz" in down.get("/openapi.json").json()["paths"]
    assert response.status_code == 503
    body = response.json()
    # Only the error's class: the message would name the database host.
    assert body["status"] == "down" and body["ok"] is False
    assert body["database"]["error"] == "OperationalError"
