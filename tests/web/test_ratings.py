"""好差评 through the API: once per completed case; a bad rating opens a rectification (both databases)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gkflow.runtime import Runtime
from gkflow.services.audit import verify_all
from gkflow.services.ratings import close_rectification, rating_summary, rectifications
from gkflow.services.sessions import issue_token
from gkflow.settings import Settings
from gkflow.web.app import create_app
from tests.web.conftest import GOV_DEPT, complete_gov, partner_headers, submit_gov


@pytest.fixture
def api(rt: Runtime) -> TestClient:
    return TestClient(create_app(rt), follow_redirects=False, client=("127.0.0.1", 50000))


def _completed(api: TestClient, rt: Runtime) -> dict:
    case = submit_gov(api)
    complete_gov(api, case["case_no"], {"Authorization": f"Bearer {issue_token(rt, 'clerk')}"})
    return case


def _rate(api: TestClient, case: dict, level: int, **extra):
    return api.post(
        f"/api/cases/{case['case_no']}/rating", json={"code": case["query_code"], "level": level, **extra}
    )


def test_a_completed_case_is_rated_once_and_the_rating_joins_the_hash_chain(api, rt):
    case = _completed(api, rt)
    response = _rate(api, case, 5, comment="办事很快")
    assert response.status_code == 201
    assert response.json() == {
        "case_no": case["case_no"],
        "level": 5,
        "label": "非常满意",
        "bad": False,
        "rectification_due": None,
    }
    again = _rate(api, case, 1)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    timeline = api.get(f"/api/cases/{case['case_no']}", params={"code": case["query_code"]}).json()[
        "timeline"
    ]
    assert timeline[-1]["action"] == "rated" and timeline[-1]["fields"]["label"] == "非常满意"
    assert verify_all(rt).ok
    assert rectifications(rt) == []
    assert rating_summary(rt)["rate"] == 1.0


def test_a_case_still_in_progress_cannot_be_rated(api, rt):
    case = submit_gov(api)
    response = _rate(api, case, 4)
    assert response.status_code == 409


def test_a_wrong_query_code_answers_not_found_like_the_look_up(api, rt):
    case = _completed(api, rt)
    response = api.post(f"/api/cases/{case['case_no']}/rating", json={"code": "WRONG123", "level": 5})
    assert response.status_code == 404
    lookup = api.get(f"/api/cases/{case['case_no']}", params={"code": "WRONG123"})
    assert response.json() == lookup.json()


def test_a_level_outside_one_to_five_is_422(api, rt):
    case = _completed(api, rt)
    response = _rate(api, case, 6)
    assert response.status_code == 422 and response.json()["error"]["details"]["fields"] == ["level"]


def test_a_bad_rating_opens_a_rectification_due_in_five_working_days(api, rt):
    case = _completed(api, rt)  # rated on Monday 2026-03-02
    response = _rate(api, case, 2, comment="窗口态度差")
    assert response.json()["bad"] is True
    assert response.json()["rectification_due"] == "2026-03-09"
    (open_task,) = rectifications(rt)
    assert open_task["case_no"] == case["case_no"] and open_task["department"] == GOV_DEPT
    assert open_task["comment"] == "窗口态度差" and open_task["status"] == "open"
    summary = rating_summary(rt)
    assert summary["bad"] == 1 and summary["rate"] == 0.0 and summary["meets_goal"] is False
    close_rectification(
        rt, open_task["id"], user="head", department=GOV_DEPT, is_admin=False, resolution="已回访并致歉"
    )
    assert rectifications(rt) == []


def test_only_the_handling_department_or_an_administrator_closes_a_rectification(api, rt):
    from gkflow.domain.errors import Forbidden

    case = _completed(api, rt)
    _rate(api, case, 1)
    (task,) = rectifications(rt)
    with pytest.raises(Forbidden):
        close_rectification(
            rt,
            task["id"],
            user="safety",
            department="格尔木市应急管理局",
            is_admin=False,
            resolution="不是我们",
        )
    close_rectification(rt, task["id"], user="admin", department=None, is_admin=True, resolution="督办完成")


def test_the_rectification_period_is_configurable_per_jurisdiction(tmp_path, sqlite_rt):
    config = tmp_path / "config"
    shutil.copytree(Path(sqlite_rt.settings.config_dir), config)
    (config / "ratings.yaml").write_text("rectification_working_days: 15\n", encoding="utf-8")
    local = Runtime(
        Settings(
            var_dir=sqlite_rt.settings.var_dir, database_url=sqlite_rt.settings.db_url, config_dir=config
        ),
        sqlite_rt.clock,
    )
    api = TestClient(create_app(local))
    case = _completed(api, local)
    # 15 working days after Monday 2026-03-02: three full weeks later, Monday 2026-03-23.
    assert _rate(api, case, 1).json()["rectification_due"] == "2026-03-23"


def test_a_bad_rating_of_a_dispatched_work_order_goes_to_the_department_that_handled_it(api, rt):
    from gkflow.domain.cases import Actor
    from gkflow.services.cases import fire

    created = api.post("/api/cases", json={"item": "hotline-complaint", "name": "赵六",
                                           "phone": "13600003333", "fields": {"content": "路灯不亮"}},
                       headers=partner_headers(api))
    case = created.json()
    hotline = Actor("d", "dispatcher", "格尔木市政务服务监督管理局（12345政务服务便民热线）")
    handler = Actor("h", "handler", "格尔木市住房和城乡建设局")
    fire(rt, case["case_no"], "dispatch", hotline, fields={"assignee": "格尔木市住房和城乡建设局"})
    fire(rt, case["case_no"], "sign", handler)
    fire(rt, case["case_no"], "reply", handler,
         fields={"reply": "已修复", "outcome": "已解决", "contacted": "是"})
    fire(rt, case["case_no"], "close", hotline)
    fire(rt, case["case_no"], "revisit", hotline, fields={"revisit_result": "未解决"})
    assert _rate(api, case, 1, comment="没修好").status_code == 201
    [task] = rectifications(rt)
    assert task["department"] == "格尔木市住房和城乡建设局"
