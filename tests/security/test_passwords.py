"""Demo accounts and passwords: the published demo password cannot be set, works only from this
machine, and `serve` off loopback checks the stored hashes (not a flag); passwords people set are
long, not the user name and not common; unknown roles are refused."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from gkflow.domain.errors import Forbidden, InvalidConfig, InvalidInput
from gkflow.services.accounts import (
    authenticate,
    hash_password,
    refuse_demo_accounts_off_loopback,
    save_user,
    users_t,
)
from gkflow.services.passwords import check_new_password
from gkflow.web.app import create_app
from tests.web.conftest import GOV_DEPT, csrf_of

GOOD = "Qarhan-salt-lake-2026"


@pytest.mark.parametrize(("password", "reason"), [
    ("gkflow-demo", "12个字符"),
    ("gkflow-demo-2026", "演示密码"),
    ("short-Pw1!", "12个字符"),
    ("li-wei-window-7", "用户名"),
    ("passwordpassword", "容易猜到"),
    ("qwertyuiop123", "容易猜到"),
    ("123456789012", "容易猜到"),
    ("golmud123456", "容易猜到"),
])
def test_passwords_people_may_not_set(password, reason):
    with pytest.raises(InvalidInput, match=reason):
        check_new_password(password, username="li-wei")


def test_a_long_uncommon_password_is_accepted():
    check_new_password(GOOD, username="li-wei")
    check_new_password("窗口收件员的密码很长很长", username="li-wei")


def test_users_passwd_refuses_the_published_demo_password(rt):
    with pytest.raises(InvalidInput, match="演示密码|12个字符"):
        save_user(rt, "admin", password="gkflow-demo")
    with pytest.raises(InvalidInput, match="演示密码"):
        hash_password("gkflow-demo-for-ever")
    assert authenticate(rt, "admin", "gkflow-demo", client="127.0.0.1") is not None  # unchanged


def test_serve_off_loopback_checks_the_stored_hashes_not_the_demo_flag(rt):
    # Before: a database row with the demo password overrode the flag and `serve --host 0.0.0.0` started.
    for username in ("clerk", "head", "safety", "dispatcher", "partner"):
        save_user(rt, username, password=None, active=False)
    save_user(rt, "admin", password=GOOD)
    refuse_demo_accounts_off_loopback(rt, "0.0.0.0")
    # A row whose hash is the demo password (set before the policy existed) is found by its hash.
    with rt.engine.begin() as conn:
        conn.execute(users_t.update().where(users_t.c.username == "admin")
                     .values(password_hash=PasswordHasher().hash("gkflow-demo")))
    with pytest.raises(InvalidConfig, match="admin still have the published demo password"):
        refuse_demo_accounts_off_loopback(rt, "0.0.0.0")
    refuse_demo_accounts_off_loopback(rt, "127.0.0.1")


def test_the_cli_refuses_the_demo_password_and_serve_then_still_refuses(sqlite_rt, monkeypatch):
    from gkflow.cli import app

    monkeypatch.setenv("GKFLOW_DATABASE_URL", sqlite_rt.settings.db_url)
    runner = CliRunner()
    result = runner.invoke(app, ["users", "passwd", "admin", "--password-stdin", "--json"],
                           input="gkflow-demo\n")
    assert result.exit_code == 1 and '"invalid_input"' in result.output
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--port", "1"])
    assert result.exit_code == 1 and "admin" in result.output and "published demo password" in result.output


def _login(client: TestClient, username: str, password: str):
    page = client.get("/staff/login")
    return client.post("/staff/login", data={"username": username, "password": password,
                                             "csrf_token": csrf_of(page.text), "next": "/staff"})


@pytest.mark.parametrize("address", ["203.0.113.9", "10.1.2.3", "testclient"])
def test_the_demo_password_logs_in_only_from_this_machine(rt, address):
    remote = TestClient(create_app(rt), client=(address, 40000), follow_redirects=False)
    refused = _login(remote, "clerk", "gkflow-demo")
    assert refused.status_code == 403 and "演示账号只能在本机" in refused.text
    assert "gkflow_session" not in refused.headers.get("set-cookie", "")
    with pytest.raises(Forbidden):
        authenticate(rt, "clerk", "gkflow-demo", client=address)
    local = TestClient(create_app(rt), client=("127.0.0.1", 40000), follow_redirects=False)
    assert _login(local, "clerk", "gkflow-demo").status_code == 303
    assert _login(TestClient(create_app(rt), client=("::1", 40000), follow_redirects=False),
                  "clerk", "gkflow-demo").status_code == 303


@pytest.mark.parametrize("header", ["X-Forwarded-For", "Forwarded", "X-Real-IP"])
def test_the_demo_password_through_an_unnamed_local_proxy_is_refused(rt, header):
    # nginx on this machine, not named in GKFLOW_TRUSTED_PROXIES: the peer is 127.0.0.1, the user is not.
    proxied = TestClient(create_app(rt), client=("127.0.0.1", 40000), follow_redirects=False,
                         headers={header: "for=203.0.113.9" if header == "Forwarded" else "203.0.113.9"})
    assert _login(proxied, "clerk", "gkflow-demo").status_code == 403


def test_a_real_password_logs_in_from_anywhere(rt):
    save_user(rt, "li", password=GOOD, roles=("window_clerk",), department=GOV_DEPT)
    remote = TestClient(create_app(rt), client=("203.0.113.9", 40000), follow_redirects=False)
    assert _login(remote, "li", GOOD).status_code == 303


def test_unknown_roles_are_refused(rt):
    with pytest.raises(InvalidInput, match="unknown role.*window_clark"):
        save_user(rt, "li", password=GOOD, roles=("window_clark",), department=GOV_DEPT)
    with pytest.raises(InvalidInput, match="staff roles"):
        save_user(rt, "li", password=GOOD, roles=("applicant",), department=GOV_DEPT)
    account = save_user(rt, "li", password=GOOD, roles=("window_clerk", "handler"), department=GOV_DEPT)
    assert account.roles == ("window_clerk", "handler")
