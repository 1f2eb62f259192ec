"""Every read model must equal a validated copy of itself and print byte-identical JSON: the hot
paths build them from raw rows (gkflow.db.case_rows), so a type that differs from SQLAlchemy's would
change the API's answers."""

from __future__ import annotations

from datetime import datetime, timedelta

from gkflow.domain.cases import Actor
from gkflow.services.accounts import Account
from gkflow.services.cases import Applicant, fire, submit_case
from gkflow.services.online import submit_online
from gkflow.services.views import public_case, show_case, submitted_case

CLERK = Actor("li.clerk", "window_clerk", "格尔木市人民政府办公室")
HANDLER = Actor("zhao.handler", "handler", "格尔木市人民政府办公室")


def assert_as_if_validated(model):  # type: ignore[no-untyped-def]
    validated = type(model).model_validate(model.model_dump(by_alias=True))
    assert validated == model
    assert validated.model_dump_json(by_alias=True) == model.model_dump_json(by_alias=True)
    assert validated.model_dump(mode="json", by_alias=True) == model.model_dump(mode="json", by_alias=True)


def test_every_case_view_prints_what_a_validated_one_prints(rt, clock):
    submitted = submit_case(rt, "gov-info-request", Applicant("张三丰", "13912345678", "630101199001011239"),
                            received_at=datetime.fromisoformat("2026-03-02T10:00:00+08:00"),
                            fields={"requested_information": "预算"})
    fresh = show_case(rt, submitted.case_no)
    assert [a.name for a in fresh.allowed_actions] and fresh.timeline[0].from_state is None
    assert '"from":null' in fresh.model_dump_json(by_alias=True)
    for model in (fresh, public_case(rt, submitted.case_no, submitted.query_code),
                  submitted_case(rt, submitted.case_no, submitted.query_code)):
        assert_as_if_validated(model)

    clock.advance(timedelta(days=40))  # overdue: red cards on both limits and on the step
    late = show_case(rt, submitted.case_no)
    assert {w.scope for w in late.warnings} == {"statutory", "promised", "step"}
    assert_as_if_validated(late)
    assert_as_if_validated(public_case(rt, submitted.case_no, submitted.query_code))

    fire(rt, submitted.case_no, "accept", CLERK, comment="已收到")
    fire(rt, submitted.case_no, "decide", HANDLER,
         fields={"outcome": "予以公开（提供信息或告知获取的方式、途径和时间）"})
    fire(rt, submitted.case_no, "deliver", CLERK)
    done = show_case(rt, submitted.case_no)
    assert done.final and done.closed_at and done.warnings == [] and done.allowed_actions == []
    assert_as_if_validated(done)
    partner = Account(username="partner", display_name="合作平台", roles=("partner",), department=None,
                      password_hash="")
    online = submit_online(rt, "gov-info-request", Applicant("李四", "13912345679"),
                           fields={"requested_information": "决算"}, account=partner)
    assert_as_if_validated(online)
