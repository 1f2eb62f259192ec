"""Rendering: every notice on every channel, refusals, escaping and the SMS length check."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from notifications.checks import check_sms_templates
from notifications.errors import (
    BrokenTemplate,
    MissingTemplateValue,
    SmsTooLong,
    UnknownTemplate,
)
from notifications.notices import (
    APPLICANT_NOTICES,
    CHANNELS,
    DEPARTMENT_NOTICES,
    NOTICES,
    SECURITY_NOTICES,
    STAFF_NOTICES,
    required_keys,
)
from notifications.render import TEMPLATES_DIR, Renderer, default_renderer, render
from notifications.samples import case_context, long_context
from notifications.sms_length import DEFAULT_SMS_SIGNATURE, sms_parts

PAIRS = [(notice, channel) for notice in NOTICES for channel in CHANNELS]


@pytest.mark.parametrize(("notice", "channel"), PAIRS)
def test_every_notice_renders_on_every_channel_with_a_full_context(notice: str, channel: str):
    message = render(notice, channel, case_context(notice))

    assert (message.notice, message.channel) == (notice, channel)
    assert message.text.strip()
    assert "None" not in message.text
    if channel in ("email", "sandbox"):
        assert message.subject and "\n" not in message.subject
        assert message.html and message.html.lstrip().startswith("<!doctype html>")
    if channel == "sms":
        assert message.sms_parts == sms_parts(DEFAULT_SMS_SIGNATURE + message.text)
        assert "\n" not in message.text
    else:
        assert message.sms_parts is None
    if channel == "wechat":
        assert message.fields is not None
        assert {"first", "keyword1", "remark"} <= set(message.fields)
        assert all(isinstance(v, str) and v for v in message.fields.values())
    if channel == "webhook":
        assert json.loads(message.text) == message.fields
        assert message.fields and message.fields["summary"]


@pytest.mark.parametrize("notice", NOTICES)
@pytest.mark.parametrize("channel", CHANNELS)
def test_every_notice_renders_with_pessimistically_long_values(notice: str, channel: str):
    assert render(notice, channel, long_context()).text


@pytest.mark.parametrize("notice", APPLICANT_NOTICES)
@pytest.mark.parametrize("channel", ["sms", "email", "wechat", "webhook", "sandbox"])
def test_applicant_notice_names_step_department_due_date_and_how_to_look_it_up(notice: str, channel: str):
    context = case_context(notice)
    message = render(notice, channel, context)
    whole = " ".join([message.subject or "", message.text, *map(str, (message.fields or {}).values())])

    assert context["department"] in whole
    assert context["promised_due"] in whole
    assert context["case_no"] in whole
    assert context["status_url"] in whole


@pytest.mark.parametrize("notice", APPLICANT_NOTICES)
@pytest.mark.parametrize("channel", ["sms", "email", "wechat", "webhook"])
def test_a_provisional_due_date_is_marked_as_such(notice: str, channel: str):
    message = render(notice, channel, case_context(notice, due_provisional=True))
    text = message.text if channel != "webhook" else str(message.fields)

    assert "暂定" in text or "'due_provisional': True" in text


def test_on_the_spot_case_without_due_dates_still_renders_without_printing_none():
    context = case_context("accepted", promised_due=None, statutory_due=None)
    for channel in CHANNELS:
        message = render("accepted", channel, context)
        assert "None" not in message.text
        assert "办结日期另行告知" in message.text or channel == "webhook"


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_missing_context_value_is_refused_naming_the_variable(channel: str):
    context = case_context("accepted")
    del context["department"]

    with pytest.raises(MissingTemplateValue) as caught:
        render("accepted", channel, context)

    assert caught.value.name == "department"
    assert "department" in caught.value.reason


def test_a_missing_form_field_is_refused_naming_it():
    context = case_context("correction_requested", fields={})

    with pytest.raises(MissingTemplateValue) as caught:
        render("correction_requested", "sms", context)

    assert caught.value.name == "fields.corrections"


def test_a_value_only_a_template_knows_about_is_refused_by_strict_undefined(tmp_path: Path):
    (tmp_path / "sms").mkdir()
    (tmp_path / "sms" / "accepted.j2").write_text(
        "{# max_parts: 3 #}{{ case_no }} {{ fields.pickup_window }}", encoding="utf-8"
    )

    with pytest.raises(MissingTemplateValue) as caught:
        Renderer(tmp_path).render("accepted", "sms", case_context("accepted"))

    assert caught.value.name == "pickup_window"


def test_printing_none_is_refused_rather_than_sending_the_word_none(tmp_path: Path):
    (tmp_path / "sms").mkdir()
    template = "{# max_parts: 3 #}说明：{{ public_note }}"
    (tmp_path / "sms" / "accepted.j2").write_text(template, encoding="utf-8")

    with pytest.raises(MissingTemplateValue) as caught:
        Renderer(tmp_path).render("accepted", "sms", case_context("accepted", public_note=None))

    assert "public_note" in caught.value.name


@pytest.mark.parametrize(
    ("notice", "channel"),
    [("no_such_notice", "sms"), ("accepted", "fax"), ("../../etc/passwd", "sms"), ("_case", "wechat")],
)
def test_unknown_notice_or_channel_is_an_unknown_template(notice: str, channel: str):
    with pytest.raises(UnknownTemplate):
        render(notice, channel, case_context())


def test_html_is_escaped_and_plain_text_is_not():
    context = case_context("certificate_ready", public_note='<script>alert("x")</script> & 窗口')

    message = render("certificate_ready", "email", context)

    assert "<script>" not in (message.html or "")
    assert "&lt;script&gt;" in (message.html or "")
    assert '<script>alert("x")</script> & 窗口' in message.text


@pytest.mark.parametrize("channel", ["wechat", "webhook"])
def test_json_channels_carry_quotes_backslashes_and_newlines_exactly(channel: str):
    tricky = '他说"补正"\\后\n再交 <b>&</b>'
    context = case_context("certificate_ready", public_note=tricky, item_name=tricky)

    message = render("certificate_ready", channel, context)

    assert message.fields is not None
    assert message.fields["keyword2" if channel == "wechat" else "item_name"] == tricky
    if channel == "webhook":
        assert message.fields["comment"] == tricky


def test_e_mail_subject_stays_on_one_line_whatever_the_item_name_holds():
    message = render("accepted", "email", case_context(item_name="规划\r\n许可"))

    assert message.subject is not None
    assert "\n" not in message.subject and "\r" not in message.subject


def test_an_sms_longer_than_its_cap_is_refused_at_render_time(tmp_path: Path):
    (tmp_path / "sms").mkdir()
    (tmp_path / "sms" / "accepted.j2").write_text("{# max_parts: 1 #}{{ public_note }}", encoding="utf-8")

    with pytest.raises(SmsTooLong) as caught:
        Renderer(tmp_path).render("accepted", "sms", case_context(public_note="长" * 80))

    assert (caught.value.parts, caught.value.max_parts) == (2, 1)


def test_the_sms_signature_counts_toward_the_parts(tmp_path: Path):
    (tmp_path / "sms").mkdir()
    (tmp_path / "sms" / "accepted.j2").write_text("{# max_parts: 2 #}" + "办" * 65, encoding="utf-8")
    renderer = Renderer(tmp_path)

    bare = renderer.render("accepted", "sms", case_context(), sms_signature="")
    signed = renderer.render("accepted", "sms", case_context(), sms_signature="【格尔木市政务服务】")

    assert signed.text == bare.text
    assert (bare.sms_parts, signed.sms_parts) == (1, 2)


def test_template_output_that_is_not_json_is_a_broken_template(tmp_path: Path):
    (tmp_path / "webhook").mkdir()
    (tmp_path / "webhook" / "accepted.j2").write_text('{"case_no": {{ case_no }}}', encoding="utf-8")

    with pytest.raises(BrokenTemplate, match="not valid JSON"):
        Renderer(tmp_path).render("accepted", "webhook", case_context())


def test_the_default_renderer_and_its_compiled_templates_are_built_once():
    renderer = default_renderer()
    render("accepted", "sms", case_context())

    assert default_renderer() is renderer
    assert renderer._templates_for("accepted", "sms") is renderer._templates_for("accepted", "sms")


def test_sms_templates_never_reference_a_query_code():
    renderer = default_renderer()
    for notice in renderer.notices("sms"):
        source = renderer.source(f"sms/{notice}.j2")
        assert "query_code" not in source
        assert "code=" not in source
    context = case_context("accepted", query_code="QX7K2M")
    for notice in NOTICES:
        assert "QX7K2M" not in render(notice, "sms", case_context(notice, query_code="QX7K2M")).text
    assert "QX7K2M" not in render("accepted", "sms", context).text


def test_every_notice_has_an_sms_template_with_a_declared_cap():
    renderer = default_renderer()

    assert renderer.notices("sms") == sorted(NOTICES + SECURITY_NOTICES)
    assert all(renderer.sms_max_parts(n) for n in NOTICES + SECURITY_NOTICES)


def test_shipped_sms_templates_fit_their_caps_with_long_values():
    assert check_sms_templates(long_context()) == []


def test_the_sms_check_flags_an_overlong_template_a_missing_cap_and_a_query_code(tmp_path: Path):
    sms = tmp_path / "sms"
    sms.mkdir()
    (sms / "accepted.j2").write_text(
        "{# max_parts: 2 #}{{ applicant_name }}您好，{{ public_note }}{{ public_note }}", encoding="utf-8"
    )
    (sms / "delivered.j2").write_text("{{ case_no }}已办结", encoding="utf-8")
    (sms / "decided.j2").write_text("{# max_parts: 2 #}{{ case_no }}查询码{{ query_code }}", encoding="utf-8")

    problems = {p.notice: p for p in check_sms_templates(long_context(), templates_dir=tmp_path)}

    assert set(problems) == {"accepted", "delivered", "decided"}
    assert problems["accepted"].max_parts == 2
    assert problems["accepted"].parts is not None and problems["accepted"].parts > 2
    assert "max_parts" in problems["delivered"].reason
    assert "query_code" in problems["decided"].reason


def test_every_notice_declares_its_context_keys():
    for notice in APPLICANT_NOTICES:
        assert "status_url" in required_keys(notice)
    for notice in STAFF_NOTICES:
        assert {"level", "days_left"} <= set(required_keys(notice))
    for notice in DEPARTMENT_NOTICES:
        assert {"task", "period", "due_on", "published_at", "reasons"} <= set(required_keys(notice))
        assert "case_no" not in required_keys(notice)


def test_render_errors_survive_pickling_for_process_based_workers():
    error = MissingTemplateValue("accepted", "sms", "department")

    copy = pickle.loads(pickle.dumps(error))

    assert (type(copy), copy.name, copy.reason) == (MissingTemplateValue, "department", error.reason)


def test_templates_ship_inside_the_package():
    assert (TEMPLATES_DIR / "sms" / "accepted.j2").is_file()
