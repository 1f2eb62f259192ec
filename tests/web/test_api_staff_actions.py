"""The staff API: bearer tokens, roles, departments, conflicts and field errors, through HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient

from gkflow.services.accounts import save_user
from gkflow.services.sessions import revoke_tokens
from tests.web.conftest import GOV_DEPT, complete_gov, partner_headers, submit_gov


def _act(client: TestClient, case_no: str, action: str, headers: dict[str, str], **body: object):
    return client.post(f"/api/cases/{case_no}/actions/{action}", json=body, headers=headers)


def test_an_action_without_a_bearer_token_is_refused_with_401(client):
    case = submit_gov(client)
    response = _act(client, case["case_no"], "accept", {})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "forbidden"
    response = _act(client, case["case_no"], "accept", {"Authorization": "Bearer gk_not-a-token"})
    assert response.status_code == 401


def test_a_clerk_accepts_decides_and_delivers_a_case_of_her_department(client, bearer):
    case = submit_gov(client)
    complete_gov(client, case["case_no"], bearer("clerk"))
    view = client.get(f"/api/staff/cases/{case['case_no']}", headers=bearer("clerk")).json()
    assert view["state"] == "completed" and view["version"] == 4
    assert [t["actor"] for t in view["timeline"][1:]] == ["clerk", "clerk", "clerk"]


def test_a_role_that_may_not_fire_the_action_gets_403(client, bearer):
    case = submit_gov(client)
    response = _act(client, case["case_no"], "accept", bearer("head"))  # accept is window_clerk only
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert "window_clerk" in response.json()["error"]["message"]


def test_staff_of_another_department_get_403_for_actions_and_for_viewing(client, bearer):
    case = submit_gov(client)
    response = _act(client, case["case_no"], "accept", bearer("safety"))
    assert response.status_code == 403
    assert client.get(f"/api/staff/cases/{case['case_no']}", headers=bearer("safety")).status_code == 403
    assert client.get(f"/api/staff/cases/{case['case_no']}", headers=bearer("admin")).status_code == 200


def test_an_administrator_monitors_but_may_not_act(client, bearer):
    case = submit_gov(client)
    assert _act(client, case["case_no"], "accept", bearer("admin")).status_code == 403


def test_an_action_in_the_wrong_state_is_409_transition_not_allowed(client, bearer):
    case = submit_gov(client)
    response = _act(client, case["case_no"], "deliver", bearer("clerk"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "transition_not_allowed"


def test_a_stale_expected_version_is_409_conflict_and_changes_nothing(client, bearer):
    case = submit_gov(client)
    headers = bearer("clerk")
    assert _act(client, case["case_no"], "accept", headers, expected_version=1).status_code == 200
    response = _act(
        client,
        case["case_no"],
        "request_correction",
        headers,
        expected_version=1,
        fields={"corrections": "x", "correction_period": "5日"},
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    view = client.get(f"/api/staff/cases/{case['case_no']}", headers=headers).json()
    assert view["state"] == "under_review" and view["version"] == 2


def test_a_missing_required_field_is_422_naming_the_field(client, bearer):
    case = submit_gov(client)
    headers = bearer("clerk")
    _act(client, case["case_no"], "accept", headers)
    response = _act(client, case["case_no"], "decide", headers, fields={})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input" and "答复类型" in error["message"]
    assert error["details"]["fields"] == ["outcome"]


def test_a_malformed_body_is_422_naming_the_field(client, bearer):
    case = submit_gov(client)
    response = _act(client, case["case_no"], "accept", bearer("clerk"), expected_version="two")
    assert response.status_code == 422
    assert "expected_version" in response.json()["error"]["message"]
    assert response.json()["error"]["details"]["fields"] == ["expected_version"]


def test_a_revoked_token_or_disabled_account_no_longer_works(client, bearer, app_rt):
    case = submit_gov(client)
    headers = bearer("clerk")
    revoke_tokens(app_rt, "clerk")
    assert _act(client, case["case_no"], "accept", headers).status_code == 401
    headers = bearer("clerk")
    save_user(app_rt, "clerk", password=None, active=False)
    assert _act(client, case["case_no"], "accept", headers).status_code == 401


def test_the_worklist_api_lists_only_the_department_s_open_cases(client, bearer):
    mine = submit_gov(client)
    done = submit_gov(client)
    complete_gov(client, done["case_no"], bearer("clerk"))
    answer = client.get("/api/staff/cases", headers=bearer("clerk")).json()
    rows = answer["items"]
    assert [r["case_no"] for r in rows] == [mine["case_no"]]
    assert rows[0]["department"] == GOV_DEPT and rows[0]["days_left"] == 15
    assert rows[0]["days_unit"] == "working" and rows[0]["applicant"] == "张**"
    assert answer["counts"] == {"all": 2, "open": 1, "week": 0, "overdue": 0, "completed": 1,
                                "capped_at": 10000}
    assert answer["next_cursor"] is None
    assert client.get("/api/staff/cases", headers=bearer("safety")).json()["items"] == []


def test_a_work_order_dispatched_to_another_department_reaches_its_worklist_and_may_be_handled(
        client, bearer):
    created = client.post("/api/cases", json={"item": "hotline-complaint", "name": "赵六",
                                              "phone": "13600003333", "fields": {"content": "烟花摊点占道"}},
                          headers=partner_headers(client))
    assert created.status_code == 201, created.text
    case_no = created.json()["case_no"]
    assert client.get(f"/api/staff/cases/{case_no}", headers=bearer("safety")).status_code == 403
    dispatched = _act(client, case_no, "dispatch", bearer("dispatcher"),
                      fields={"assignee": "格尔木市应急管理局"})
    assert dispatched.status_code == 200, dispatched.text
    listed = client.get("/api/staff/cases", headers=bearer("safety")).json()["items"]
    assert case_no in [row["case_no"] for row in listed]
    assert client.get(f"/api/staff/cases/{case_no}", headers=bearer("safety")).status_code == 200
    assert _act(client, case_no, "sign", bearer("safety")).status_code == 200
    assert _act(client, case_no, "sign", bearer("clerk")).status_code == 409  # already signed
