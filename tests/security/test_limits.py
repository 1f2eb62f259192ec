"""Limits that shut out attackers, not citizens: failures are counted per case number / account and
per client, answered with growing waits (429 + Retry-After) instead of a wall, shared through the
database (SQLite and PostgreSQL), and X-Forwarded-For is believed only from named proxies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from gkflow.services.lookup_limits import CLIENT_POLICY, KEY_POLICY
from gkflow.web.app import create_app
from tests.helpers import with_settings
from tests.web.conftest import csrf_of, submit_gov

HALL = ("203.0.113.9", 40000)  # a service hall's shared address
HOME = ("198.51.100.7", 40000)


def _client(rt, address=HALL, **settings) -> TestClient:
    app = create_app(with_settings(rt, **settings) if settings else rt)
    return TestClient(app, client=address, follow_redirects=False)


def _look(client, case_no: str, code: str):
    return client.get(f"/api/cases/{case_no}", params={"code": code})


def test_a_mistyping_citizen_gets_free_tries_then_short_growing_waits_not_a_wall(rt, clock):
    hall = _client(rt)
    case = submit_gov(hall)
    for _ in range(KEY_POLICY.free + 1):
        assert _look(hall, case["case_no"], "WRONG123").status_code == 404
    waits = []
    for _ in range(3):
        limited = _look(hall, case["case_no"], case["query_code"])
        assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
        assert "秒后再试" in limited.json()["error"]["message"]
        waits.append(int(limited.headers["retry-after"]))
        clock.advance(timedelta(seconds=waits[-1]))
        assert _look(hall, case["case_no"], "WRONG123").status_code == 404  # one more mistake
    assert waits == [2, 4, 8]  # doubling, starting small
    clock.advance(timedelta(seconds=16))
    assert _look(hall, case["case_no"], case["query_code"]).status_code == 200


def test_one_persons_failures_do_not_lock_the_hall_out_of_other_cases(rt):
    hall, home = _client(rt), _client(rt, HOME)
    guessed, mine = submit_gov(home), submit_gov(home)
    for _ in range(KEY_POLICY.free + 3):
        _look(hall, guessed["case_no"], "WRONG123")
    assert _look(hall, guessed["case_no"], guessed["query_code"]).status_code == 429
    # The hall's next applicant, on the same address, looks up their own case at once.
    assert _look(hall, mine["case_no"], mine["query_code"]).status_code == 200
    page = hall.get(f"/status/{mine['case_no']}", params={"code": mine["query_code"]}, follow_redirects=True)
    assert page.status_code == 200 and mine["case_no"] in page.text


def test_a_client_guessing_across_many_cases_is_slowed_down(rt):
    hall, home = _client(rt), _client(rt, HOME)
    case = submit_gov(home)
    for i in range(CLIENT_POLICY.free + 1):
        assert _look(hall, f"GK20260302-{i:06d}", "WRONG123").status_code == 404
    limited = _look(hall, case["case_no"], case["query_code"])
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert _look(home, case["case_no"], case["query_code"]).status_code == 200  # others are not


def test_a_right_code_clears_the_cases_count(rt, clock):
    hall = _client(rt)
    case = submit_gov(hall)
    for _ in range(KEY_POLICY.free):
        _look(hall, case["case_no"], "WRONG123")
    assert _look(hall, case["case_no"], case["query_code"]).status_code == 200
    for _ in range(KEY_POLICY.free):
        assert _look(hall, case["case_no"], "WRONG123").status_code == 404  # free again
    assert _look(hall, case["case_no"], case["query_code"]).status_code == 200


def test_counts_are_shared_by_every_web_process(rt):
    first, second = _client(rt), _client(rt)  # two apps over one database, as two processes
    case = submit_gov(first)
    for _ in range(KEY_POLICY.free + 1):
        _look(first, case["case_no"], "WRONG123")
    assert _look(second, case["case_no"], case["query_code"]).status_code == 429


def test_ratings_count_against_the_case_too(rt):
    hall = _client(rt)
    case = submit_gov(hall)
    for _ in range(KEY_POLICY.free + 1):
        response = hall.post(f"/api/cases/{case['case_no']}/rating", json={"code": "WRONG123", "level": 5})
        assert response.status_code == 404
    assert _look(hall, case["case_no"], case["query_code"]).status_code == 429


def _login(client, username: str, password: str):
    page = client.get("/staff/login")
    return client.post("/staff/login", data={"username": username, "password": password,
                                             "csrf_token": csrf_of(page.text), "next": "/staff"})


def test_logins_are_limited_per_account_and_the_hall_can_still_log_in_others(rt):
    hall = _client(rt, ("127.0.0.1", 40000))
    for _ in range(KEY_POLICY.free + 1):
        assert _login(hall, "clerk", "wrong-password").status_code == 401
    limited = _login(hall, "clerk", "gkflow-demo")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) == 2
    assert "秒后再试" in limited.text
    colleague = _client(rt, ("127.0.0.1", 40000))
    assert _login(colleague, "head", "gkflow-demo").status_code == 303


def test_the_login_count_is_per_account_whatever_the_spelling(rt):
    hall = _client(rt, ("127.0.0.1", 40000))
    for name in ["clerk", "CLERK", " Clerk", "clerk ", "cLerk", "clerK"]:
        _login(hall, name, "wrong-password")
    assert _login(hall, "clerk", "gkflow-demo").status_code == 429


def test_forwarded_for_is_ignored_unless_the_peer_is_a_named_proxy(rt):
    case = submit_gov(_client(rt, HOME))
    spoofer = _client(rt)
    for i in range(CLIENT_POLICY.free + 1):
        spoofer.get(f"/api/cases/GK20260302-{i:06d}", params={"code": "X"},
                    headers={"X-Forwarded-For": f"192.0.2.{i}"})
    # The header was not believed: all those failures counted against the hall's own address.
    limited = _look(spoofer, case["case_no"], case["query_code"])
    assert limited.status_code == 429


def test_forwarded_for_from_a_named_proxy_names_the_client(rt):
    case = submit_gov(_client(rt, HOME))
    proxy = _client(rt, ("10.0.0.5", 40000), trusted_proxies="10.0.0.0/24")
    for i in range(CLIENT_POLICY.free + 1):
        proxy.get(f"/api/cases/GK20260302-{i:06d}", params={"code": "X"},
                  headers={"X-Forwarded-For": "198.51.100.200, 10.0.0.7"})
    # 198.51.100.200 (left of the proxies) is slowed down; another client behind the proxy is not.
    assert proxy.get(f"/api/cases/{case['case_no']}", params={"code": case["query_code"]},
                     headers={"X-Forwarded-For": "198.51.100.200"}).status_code == 429
    assert proxy.get(f"/api/cases/{case['case_no']}", params={"code": case["query_code"]},
                     headers={"X-Forwarded-For": "192.0.2.44"}).status_code == 200


def test_a_trusted_proxy_setting_that_is_no_address_is_refused():
    from pydantic import ValidationError

    from gkflow.settings import Settings

    with pytest.raises(ValidationError, match="not an address or network"):
        Settings(trusted_proxies="10.0.0.5, proxy.example")


def test_an_ipv6_client_is_counted_by_its_64_block_and_a_mapped_ipv4_as_itself():
    from gkflow.services.lookup_limits import client_bucket

    block = "2001:db8:1:2::/64"
    assert client_bucket("2001:db8:1:2:aaaa::1") == client_bucket("2001:db8:1:2:ffff::9") == block
    assert client_bucket("2001:db8:1:3::1") != client_bucket("2001:db8:1:2::1")
    assert client_bucket("::ffff:203.0.113.9") == "203.0.113.9" == client_bucket("203.0.113.9")


def test_waits_double_up_to_their_ceiling():
    waits = [KEY_POLICY.delay_after(n) for n in range(1, 20)]
    assert waits[: KEY_POLICY.free] == [None] * KEY_POLICY.free
    seconds = [w.total_seconds() for w in waits[KEY_POLICY.free:]]
    assert seconds[:4] == [2, 4, 8, 16] and max(seconds) == KEY_POLICY.max_delay.total_seconds()
    assert KEY_POLICY.delay_after(10_000) == KEY_POLICY.max_delay


def test_failures_are_forgotten_after_a_quiet_hour(rt, clock):
    hall = _client(rt)
    case = submit_gov(_client(rt, HOME))
    for _ in range(KEY_POLICY.free):
        _look(hall, case["case_no"], "WRONG123")
    clock.advance(KEY_POLICY.forget + timedelta(seconds=1))
    assert _look(hall, case["case_no"], "WRONG123").status_code == 404  # counted as the first again
    assert _look(hall, case["case_no"], case["query_code"]).status_code == 200
