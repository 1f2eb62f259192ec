"""Typed fields without I/O: what each type accepts, the catalogue's file:line checks of declarations,
and the item versions loaded before types existed, unchanged to the byte."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from gkflow.catalogue import catalogue_from, load_catalogue_files
from gkflow.domain.cases import clean_fields
from gkflow.domain.errors import InvalidInput
from gkflow.domain.fields import FieldType, check_value, valid_credit_code, valid_id_number
from gkflow.domain.items import FieldSpec
from gkflow.services.contacts import CONTACTS

ITEMS = Path(__file__).resolve().parents[2] / "config" / "items"

# The definitions loaded before typed fields (their SHA-256, first 16 hex digits): cases are bound to
# them, so the typed versions were added beside them, never written over them.
LOADED_BEFORE_TYPES = {
    "construction-project v1": "1fb28e2195a050dc",
    "cultural-business-licence v1": "ffa032f55580f0b3",
    "emergency-plan-filing v1": "4d794250135f4147",
    "fireworks-retail-licence v1": "b07351ffc82cf022",
    "gov-info-request v1": "45a5a43a4f862529",
    "gov-info-request v2": "21d00dd466dc5618",
    "hazchem-business-licence v1": "aa1476c71c638b94",
    "hotline-complaint v1": "197c9589f44f6bf5",
    "hotline-enquiry v1": "3c9667a302924315",
    "legal-aid v1": "731c4506ef590c29",
}


def spec(kind: FieldType, **extra: object) -> FieldSpec:
    return FieldSpec("x", "测试字段", True, kind, **extra)  # type: ignore[arg-type]


def test_the_id_number_check_digit_follows_gb_11643():
    assert valid_id_number("11010519491231002X")  # the standard's own example
    assert valid_id_number("630101199001011239")
    assert not valid_id_number("630101199001011234")  # one digit off
    assert not valid_id_number("630101199002301236")  # 30 February
    assert valid_credit_code("91350100M000100Y43") and not valid_credit_code("91350100M000100Y44")


@pytest.mark.parametrize(
    ("kind", "extra", "raw", "stored"),
    [
        (FieldType.TEXT, {}, "  预算表  ", "预算表"),
        (FieldType.MULTILINE, {}, "第一行\r\n第二行", "第一行\n第二行"),
        (FieldType.CHOICE, {"options": ("是", "否")}, "否", "否"),
        (FieldType.DATE, {}, "2026-12-22", "2026-12-22"),
        (FieldType.NUMBER, {}, "1,234.50", "1234.50"),
        (FieldType.PHONE, {}, "+86 139 1234 5678", "13912345678"),
        (FieldType.EMAIL, {}, "wang@example.cn", "wang@example.cn"),
        (FieldType.ID_NUMBER, {}, "11010519491231002x", "11010519491231002X"),
    ],
)
def test_each_type_stores_its_normal_form(kind, extra, raw, stored):
    assert check_value(spec(kind, **extra), raw, CONTACTS) == stored


@pytest.mark.parametrize(
    ("kind", "extra", "raw", "message"),
    [
        (FieldType.TEXT, {"max_length": 5}, "一二三四五六", "“测试字段”不能超过5个字（现有6个字）"),
        (FieldType.TEXT, {}, "a\x00b", "“测试字段”含有不允许的控制字符"),
        (FieldType.TEXT, {}, "两\n行", "“测试字段”含有不允许的控制字符"),
        (FieldType.CHOICE, {"options": ("是", "否")}, "随便写的", "“测试字段”请从以下选项中选择：是、否"),
        (FieldType.DATE, {}, "15日", "“测试字段”不是有效日期（格式：年-月-日，如2026-03-02）"),
        (FieldType.DATE, {}, "2026-02-30", "“测试字段”不是有效日期（格式：年-月-日，如2026-03-02）"),
        (FieldType.NUMBER, {}, "三千", "“测试字段”须为数字（最多15位整数、6位小数）"),
        (FieldType.PHONE, {}, "12", "“测试字段”不是有效的电话号码"),
        (FieldType.EMAIL, {}, "bad", "“测试字段”不是有效的电子邮箱地址"),
        (FieldType.ID_NUMBER, {}, "12345", "“测试字段”不是有效的公民身份号码（18位，末位校验码须相符）"),
        (FieldType.FILE, {}, "申请表.pdf", "“测试字段”须为上传的文件"),
    ],
)
def test_a_bad_value_is_refused_naming_the_field_in_chinese(kind, extra, raw, message):
    with pytest.raises(InvalidInput) as caught:
        check_value(spec(kind, **extra), raw, CONTACTS)
    assert caught.value.message == message and caught.value.details == {"fields": ["x"]}


def test_a_materials_field_takes_only_the_item_s_materials():
    field = spec(FieldType.MATERIALS)
    assert (
        check_value(field, "申请表\n身份证明\n申请表", CONTACTS, ("申请表", "身份证明")) == "申请表\n身份证明"
    )
    with pytest.raises(InvalidInput, match="授权委托书不是"):
        check_value(field, "授权委托书", CONTACTS, ("申请表", "身份证明"))


def test_missing_fields_are_named_by_label_never_by_key():
    specs = (FieldSpec("outcome", "答复类型"), FieldSpec("reply", "答复说明", required=False))
    with pytest.raises(InvalidInput) as caught:
        clean_fields(specs, {}, context_label="“作出答复”")
    assert caught.value.message == "“作出答复”：请填写必填项 “答复类型”"
    assert "outcome" not in caught.value.message and caught.value.details == {"fields": ["outcome"]}


AT = "permit.yaml:18: transition 'decide' fields: field 'outcome'"
HEAD = """\
code: permit
name: 测试许可
department: 测试局
basis: [《测试条例》第一条]
statutory_limit: {days: 20, unit: working}
promised_limit: {days: 10, unit: working}
materials: [申请表]
initial: received
states:
  received: {label: 已收件}
  done: {label: 已办结, final: true}
transitions:
  decide:
    from: received
    to: done
    roles: [handler]
    fields:
"""


@pytest.mark.parametrize(
    ("field", "problem"),
    [
        (
            "      outcome: {label: 结果, type: colour}",
            AT + ": unknown type 'colour'; known: text, "
            "multiline, choice, date, number, phone, email, id_number, file, materials",
        ),
        (
            "      outcome: {label: 结果, type: choice}",
            AT + ": a choice needs options (a list of texts)",
        ),
        (
            "      outcome: {label: 结果, type: date, options: [a]}",
            AT + ": options belong to a choice, not to date",
        ),
        (
            "      outcome: {label: 结果, type: date, max_length: 10}",
            AT + ": max_length belongs to text or multiline",
        ),
        (
            "      outcome: {label: 结果, type: text, max_length: 0}",
            AT + ": max_length must be a whole number from 1 to 20000",
        ),
        (
            "      outcome: {label: 结果, type: text, secret: true}",
            AT + ": unknown key 'secret'",
        ),
        (
            "      outcome: 结果",
            AT + " needs a type (text, multiline, choice, "
            "date, number, phone, email, id_number, file, materials); the newest version of an item "
            "declares a type for every field",
        ),
    ],
)
def test_a_bad_field_declaration_is_reported_at_its_line(tmp_path, field, problem):
    text = HEAD + field + "\nversion: 1\neffective_from: 2020-01-01\n"
    (tmp_path / "permit.yaml").write_text(text, encoding="utf-8")
    assert load_catalogue_files(tmp_path, root=tmp_path)[1] == [problem]


def test_an_older_version_may_keep_untyped_fields_but_the_newest_may_not(tmp_path):
    text = HEAD.replace("    fields:\n", "    fields:\n      outcome: 结果\n") + (
        "versions:\n  - {version: 1, effective_from: 2020-01-01}\n"
        "  - version: 2\n    effective_from: 2026-12-01\n"
        "    transitions:\n      decide:\n        fields:\n"
        "          outcome: {label: 结果, type: choice, options: [准予, 不予]}\n"
    )
    (tmp_path / "permit.yaml").write_text(text, encoding="utf-8")
    loaded, problems = load_catalogue_files(tmp_path, root=tmp_path)
    assert problems == []
    old, new = (v.item.transitions["decide"].fields[0] for v in loaded)
    assert (old.type, old.typed, old.max_length) == (FieldType.MULTILINE, False, 2000)  # free text as before
    assert (new.type, new.options) == (FieldType.CHOICE, ("准予", "不予"))


def test_the_versions_loaded_before_types_are_unchanged_to_the_byte():
    loaded, problems = load_catalogue_files(ITEMS)
    assert problems == []
    hashes = {f"{v.item.code} v{v.item.version}": v.content_hash[:16] for v in loaded}
    assert {k: hashes[k] for k in LOADED_BEFORE_TYPES} == LOADED_BEFORE_TYPES


def test_every_item_in_force_from_december_2026_types_every_field_and_the_outcome_follows_article_36():
    loaded, _ = load_catalogue_files(ITEMS)
    catalogue = catalogue_from(v.item for v in loaded)
    for code in catalogue.codes():
        item = catalogue.in_force(code, date(2026, 12, 7))
        fields = [*item.submit_fields, *(f for t in item.transitions.values() for f in t.fields)]
        assert all(f.typed for f in fields), code
    gov = catalogue.in_force("gov-info-request", date(2026, 12, 7))
    outcome = gov.transitions["decide"].fields[0]
    assert outcome.type is FieldType.CHOICE and len(outcome.options) == 8
    assert any(o.startswith("部分公开") for o in outcome.options)  # Art. 37
    assert gov.transitions["request_correction"].fields[-1].type is FieldType.DATE
    old = catalogue.in_force("gov-info-request", date(2018, 1, 2))
    assert old.version == 1 and old.transitions["decide"].fields[0].type is FieldType.MULTILINE
