"""Every notice the real catalogue can emit renders on every channel its item uses, from the context
gkflow itself builds (services.cases.notice_context); a context missing a value is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from gkflow.catalogue import load_catalogue_files
from gkflow.domain.items import ItemVersion
from gkflow.runtime import Runtime
from gkflow.services.notices import notice_context, notice_fields
from gkflow.settings import Settings
from notifications.errors import MissingTemplateValue
from notifications.notices import REQUIRED_FIELDS, required_keys
from notifications.render import render
from tests.conftest import CONFIG_DIR

LOADED, PROBLEMS = load_catalogue_files(CONFIG_DIR / "items")


def steps(item: ItemVersion) -> list[tuple[str, str, str, tuple[str, ...], dict[str, str]]]:
    """(step, action label, state after, notices, form fields with every declared field filled)."""
    found = [("submit", "收件", item.initial_state, item.submit_notices,
              {f.name: f"{f.label}：示例内容" for f in item.submit_fields})]
    for name, transition in item.transitions.items():
        filled = {f.name: f"{f.label}：示例内容" for f in transition.fields}
        found.append((name, transition.label, transition.target, transition.notices,
                      notice_fields(transition, filled)))
    return found


CASES: list[Any] = []
for loaded in LOADED:
    item = loaded.item
    for step, label, state, notices, fields in steps(item):
        for notice in notices:
            for channel in item.notice_channels:
                CASES.append(pytest.param(item, step, label, state, notice, channel, fields,
                                          id=f"{item.code}-v{item.version}-{step}-{notice}-{channel}"))


@pytest.fixture(scope="module")
def rt() -> Runtime:
    return Runtime(Settings(config_dir=CONFIG_DIR))


def context_for(rt: Runtime, item: ItemVersion, label: str, state: str, fields: dict[str, str],
                **case: Any) -> dict[str, Any]:
    row = {"case_no": "GK20260302-K7M2QX", "applicant_name": "欧阳娜娜", "promised_due": date(2026, 3, 20),
           "statutory_due": date(2026, 3, 30), "promised_due_provisional": False,
           "statutory_due_provisional": False, **case}
    return notice_context(rt.settings, item, row, action_label=label, state=state,
                          at=datetime(2026, 3, 2, 1, 30, tzinfo=UTC), public_note="请携带原件", fields=fields)


def test_the_catalogue_loads_and_its_notices_are_all_covered():
    assert not PROBLEMS and len(LOADED) >= 9
    assert len(CASES) >= 100


@pytest.mark.parametrize(("item", "step", "label", "state", "notice", "channel", "fields"), CASES)
def test_every_notice_of_every_item_renders_on_its_channels(rt, item, step, label, state, notice, channel,
                                                            fields):
    context = context_for(rt, item, label, state, fields)
    message = render(notice, channel, context)
    assert message.text.strip() and message.case_no == "GK20260302-K7M2QX"
    assert "欧阳娜娜" not in message.text  # the applicant is named masked
    if channel == "sms":
        assert message.sms_parts is not None and message.sms_parts >= 1
    # No promised date yet (a provisional or unset limit) still renders; None is never printed.
    bare = render(notice, channel, context_for(rt, item, label, state, fields, promised_due=None,
                                               statutory_due=None))
    assert "None" not in bare.text


@pytest.mark.parametrize("channel", ["sms", "email", "wechat", "webhook"])
@pytest.mark.parametrize("notice", ["accepted", "decided", "extended", "correction_requested"])
def test_a_context_missing_any_value_is_refused_naming_it(rt, notice, channel):
    item = next(lv.item for lv in LOADED if lv.item.code == "gov-info-request")
    fields = {"outcome": "予以公开", "reason": "需要会商", "extend_days": "20", "corrections": "补充身份证明"}
    context = context_for(rt, item, "作出答复", "decided", fields)
    render(notice, channel, context)
    for key in required_keys(notice):
        partial = {k: v for k, v in context.items() if k != key}
        with pytest.raises(MissingTemplateValue) as refused:
            render(notice, channel, partial)
        assert refused.value.name == key
    for name in REQUIRED_FIELDS.get(notice, ()):
        partial = {**context, "fields": {k: v for k, v in fields.items() if k != name}}
        with pytest.raises(MissingTemplateValue, match=f"fields.{name}"):
            render(notice, channel, partial)
