"""The applicant's front door over the API, on real SQLite and PostgreSQL: phone verification, online
submission, materials and query-code recovery — and every refusal leaves nothing half-written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from gkflow.runtime import Runtime
from gkflow.web.app import create_app
from tests.helpers_door import ELF, JPEG, MZ, PDF, PNG, ofd, one_time_code, written

GOV = "gov-info-request"
PHONE = "13800001111"
APPLICATION = {
    "item": GOV,
    "name": "王小明",
    "phone": PHONE,
    "fields": {"requested_information": "2025年部门预算"},
}
FORM = "申请人身份证明（身份证、营业执照等）"


@pytest.fixture
def api(rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(rt), follow_redirects=False) as client:
        yield client


def verified(api: TestClient, rt: Runtime, phone: str = PHONE) -> str:
    assert api.post("/api/phone-verifications", json={"phone": phone}).status_code == 202
    answer = api.post(
        "/api/phone-verifications/confirm", json={"phone": phone, "code": one_time_code(rt, phone)}
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["verification_token"])


def submitted(api: TestClient, rt: Runtime, **overrides: object) -> dict:
    token = verified(api, rt)
    response = api.post(
        "/api/cases", json={**APPLICATION, **overrides}, headers={"X-Phone-Verification": token}
    )
    assert response.status_code == 201, response.text
    return response.json()


def upload(api: TestClient, case: dict, *files: tuple[str, bytes], material: str = FORM):
    return api.post(
        f"/api/cases/{case['case_no']}/materials",
        data={"material": material},
        files=[("file", (name, data)) for name, data in files],
        headers={"X-Query-Code": case["query_code"]},
    )


def test_a_verified_phone_submits_once_and_the_token_is_spent(api, rt):
    token = verified(api, rt)
    first = api.post("/api/cases", json=APPLICATION, headers={"X-Phone-Verification": token})
    assert first.status_code == 201 and len(first.json()["query_code"]) == 8
    before = written(rt)
    again = api.post("/api/cases", json=APPLICATION, headers={"X-Phone-Verification": token})
    assert again.status_code == 401 and again.json()["error"]["code"] == "phone_unverified"
    assert written(rt) == before


def test_an_unverified_submission_is_401_phone_unverified_and_writes_nothing(api, rt):
    before = written(rt)
    response = api.post("/api/cases", json=APPLICATION)
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "phone_unverified",
        "message": "请先验证手机号码（短信验证码）后再提交申请",
    }
    other_phone = verified(api, rt, "13900002222")
    mismatch = api.post("/api/cases", json=APPLICATION, headers={"X-Phone-Verification": other_phone})
    assert mismatch.status_code == 401 and "不一致" in mismatch.json()["error"]["message"]
    assert written(rt)["cases"] == before["cases"] == 0


def test_a_refused_submission_leaves_the_token_usable(api, rt):
    token = verified(api, rt)
    bad = api.post(
        "/api/cases", json={**APPLICATION, "email": "not-an-address"}, headers={"X-Phone-Verification": token}
    )
    assert bad.status_code == 422 and bad.json()["error"]["message"] == "“电子邮箱”不是有效的电子邮箱地址"
    good = api.post("/api/cases", json=APPLICATION, headers={"X-Phone-Verification": token})
    assert good.status_code == 201


def test_five_wrong_codes_burn_the_code_even_for_the_right_one(api, rt):
    api.post("/api/phone-verifications", json={"phone": PHONE})
    right = one_time_code(rt, PHONE)
    wrong = "000000" if right != "000000" else "111111"
    answers = [
        api.post("/api/phone-verifications/confirm", json={"phone": PHONE, "code": wrong}) for _ in range(5)
    ]
    assert [a.status_code for a in answers] == [422] * 5
    assert answers[0].json()["error"]["message"] == "验证码不正确，还可以再试4次"
    assert answers[4].json()["error"]["message"] == "验证码输错次数过多，请重新获取"
    late = api.post("/api/phone-verifications/confirm", json={"phone": PHONE, "code": right})
    assert late.status_code == 422 and "次数过多" in late.json()["error"]["message"]


def test_an_expired_code_is_refused(api, rt):
    api.post("/api/phone-verifications", json={"phone": PHONE})
    code = one_time_code(rt, PHONE)
    rt.clock.advance(timedelta(minutes=5, seconds=1))
    answer = api.post("/api/phone-verifications/confirm", json={"phone": PHONE, "code": code})
    assert answer.status_code == 422 and "已过期" in answer.json()["error"]["message"]


def test_codes_to_one_phone_are_one_a_minute_and_ten_a_day(api, rt):
    assert api.post("/api/phone-verifications", json={"phone": PHONE}).status_code == 202
    before = written(rt)
    flood = api.post("/api/phone-verifications", json={"phone": PHONE})
    assert (
        flood.status_code == 429 and flood.json()["error"]["message"] == "验证码发送过于频繁，请1分钟后再试"
    )
    assert written(rt) == before  # no SMS queued for the refused request
    for _ in range(9):
        rt.clock.advance(timedelta(minutes=1))
        assert api.post("/api/phone-verifications", json={"phone": PHONE}).status_code == 202
    rt.clock.advance(timedelta(minutes=1))
    eleventh = api.post("/api/phone-verifications", json={"phone": PHONE})
    assert eleventh.status_code == 429 and "今日" in eleventh.json()["error"]["message"]
    assert written(rt)["outbox"] == 10


def test_a_code_is_not_sent_to_a_landline_or_a_bad_number(api, rt):
    for phone in ("09798412345", "12"):
        answer = api.post("/api/phone-verifications", json={"phone": phone})
        assert answer.status_code == 422 and "手机号码" in answer.json()["error"]["message"]
    # A control character is refused by the request guard before any handler (issue 11).
    answer = api.post("/api/phone-verifications", json={"phone": "1380000111\x00"})
    assert answer.status_code == 422 and answer.json()["error"]["details"]["fields"] == ["phone"]
    assert written(rt)["outbox"] == 0


def test_a_nul_in_a_field_is_422_naming_the_field_and_writes_nothing(api, rt):
    token = verified(api, rt)
    before = written(rt)
    response = api.post(
        "/api/cases",
        json={**APPLICATION, "fields": {"requested_information": "预算\x00表"}},
        headers={"X-Phone-Verification": token},
    )
    # The request guard refuses it before any handler, naming where it was (issue 11).
    assert response.status_code == 422
    error = response.json()["error"]
    assert "控制字符" in error["message"] and error["details"]["fields"] == ["fields.requested_information"]
    assert written(rt) == before


def test_materials_of_each_accepted_kind_are_stored_by_hash_and_chained(api, rt, bearer_for):
    case = submitted(api, rt)
    response = upload(
        api, case, ("身份证.jpg", JPEG), ("证明.pdf", PDF), ("扫描.png", PNG), ("电子证照.ofd", ofd())
    )
    assert response.status_code == 201, response.text
    assert [f["media_type"] for f in response.json()] == [
        "image/jpeg",
        "application/pdf",
        "image/png",
        "application/ofd",
    ]
    staff = api.get(f"/api/staff/cases/{case['case_no']}", headers=bearer_for("clerk")).json()
    event = staff["timeline"][-1]
    assert event["action"] == "materials_added"
    assert event["fields"]["file1"].endswith("sha256:" + response.json()[0]["sha256"])
    public = api.get(f"/api/cases/{case['case_no']}", headers={"X-Query-Code": case["query_code"]}).json()
    assert public["timeline"][-1]["fields"] == {}  # the applicant sees which materials arrived elsewhere


@pytest.mark.parametrize(
    ("files", "status", "words"),
    [
        ([("大文件.pdf", PDF + b"0" * (10 * 1024 * 1024))], 413, "超过10MB"),
        ([("照片.pdf", PNG)], 422, "内容是PNG，与扩展名.pdf不符"),
        ([("照片.jpg", ELF)], 422, "不是PDF、OFD、JPEG、PNG格式"),
        ([("setup.jpg", MZ)], 422, "不是PDF、OFD、JPEG、PNG格式"),
        ([(f"{i}.pdf", PDF) for i in range(11)], 413, "一次最多上传10个文件"),
        ([("好.pdf", PDF), ("坏.jpg", ELF)], 422, "坏.jpg"),  # one bad file: none of them is kept
    ],
)
def test_a_refused_upload_stores_and_records_nothing(api, rt, files, status, words):
    case = submitted(api, rt)
    before = written(rt)
    response = upload(api, case, *files)
    assert response.status_code == status, response.text
    assert words in response.json()["error"]["message"]
    assert written(rt) == before


def test_an_upload_needs_the_right_query_code_or_staff_of_the_department(api, rt, bearer_for):
    case = submitted(api, rt)
    before = written(rt)
    wrong = api.post(
        f"/api/cases/{case['case_no']}/materials",
        data={"material": FORM},
        files=[("file", ("a.pdf", PDF))],
        headers={"X-Query-Code": "AAAAAAAA"},
    )
    other = api.post(
        f"/api/cases/{case['case_no']}/materials",
        data={"material": FORM},
        files=[("file", ("a.pdf", PDF))],
        headers=bearer_for("safety"),
    )
    assert (wrong.status_code, other.status_code) == (404, 403)
    assert written(rt) == before
    staff = api.post(
        f"/api/cases/{case['case_no']}/materials",
        data={"material": FORM},
        files=[("file", ("a.pdf", PDF))],
        headers=bearer_for("clerk"),
    )
    assert staff.status_code == 201


def test_a_json_body_over_64_kb_is_413_before_anything_is_read(api, rt):
    response = api.post(
        "/api/cases",
        content=b'{"item": "' + b"x" * 70_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"
    assert written(rt)["cases"] == 0


def test_recovery_gives_a_new_code_shown_once_and_the_old_one_stops(api, rt):
    case = submitted(api, rt, email="wang@example.cn")
    rt.clock.advance(timedelta(minutes=2))
    assert (
        api.post(f"/api/cases/{case['case_no']}/query-code-recovery", json={"phone": PHONE}).status_code
        == 202
    )
    answer = api.post(
        f"/api/cases/{case['case_no']}/query-code-recovery/confirm",
        json={"phone": PHONE, "code": one_time_code(rt, PHONE)},
    )
    assert answer.status_code == 200, answer.text
    new_code = answer.json()["query_code"]
    assert new_code != case["query_code"]
    old = api.get(f"/api/cases/{case['case_no']}", headers={"X-Query-Code": case["query_code"]})
    new = api.get(f"/api/cases/{case['case_no']}", headers={"X-Query-Code": new_code})
    assert (old.status_code, new.status_code) == (404, 200)
    assert new.json()["timeline"][-1]["action"] == "query_code_reset"
    assert new_code not in new.text.replace(f'"{new_code}"', "")  # not in the history either
    from sqlalchemy import text

    with rt.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT channel, payload, secret FROM outbox WHERE topic = 'query_code_reset'")
        ).all()
    assert {r.channel for r in rows} == {"sms", "email"}
    assert all(new_code not in r.payload for r in rows)
    assert [r.channel for r in rows if r.secret and new_code in r.secret] == ["email"]  # never the SMS


def test_recovery_with_a_wrong_phone_sends_nothing_and_changes_nothing(api, rt):
    case = submitted(api, rt)
    rt.clock.advance(timedelta(minutes=2))
    before = written(rt)
    start = api.post(f"/api/cases/{case['case_no']}/query-code-recovery", json={"phone": "13700009999"})
    assert (
        start.status_code == 202 and start.json()["phone"] == "137****9999"
    )  # the same answer as for the right one
    confirm = api.post(
        f"/api/cases/{case['case_no']}/query-code-recovery/confirm",
        json={"phone": "13700009999", "code": "123456"},
    )
    assert confirm.status_code == 422
    assert written(rt) == before
