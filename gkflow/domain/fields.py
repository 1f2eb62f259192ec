"""Typed form fields (表单字段): what each type accepts, and the checks of submitted values.

Every message names the field by its Chinese label. Phone numbers and e-mail addresses are checked by
a ``ContactCheck`` the caller supplies (the services use phonenumbers and email-validator); the
rest needs only the standard library.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Protocol

from gkflow.domain.errors import InvalidInput


class FieldType(StrEnum):
    TEXT = "text"  # one line, with a maximum length
    MULTILINE = "multiline"
    CHOICE = "choice"  # one of the declared options
    DATE = "date"  # YYYY-MM-DD
    NUMBER = "number"
    PHONE = "phone"
    EMAIL = "email"
    ID_NUMBER = "id_number"  # 公民身份号码, GB 11643 check digit
    FILE = "file"  # an uploaded file, stored by the server; the value is its "sha256:<hex>"
    MATERIALS = "materials"  # some of the item's declared materials (补正: which ones to hand in again)


# Lengths when a field declares none; fields of versions written before types were declared are free
# (multiline) text with LEGACY_MAX_LENGTH (their cases keep running, and their old answers may be long).
DEFAULT_MAX_LENGTH = {FieldType.TEXT: 200, FieldType.MULTILINE: 2000}
LEGACY_MAX_LENGTH = 2000
MAX_DECLARED_LENGTH = 20000
FILE_REF = re.compile(r"^sha256:[0-9a-f]{64}$")
_NUMBER = re.compile(r"^-?\d{1,15}(\.\d{1,6})?$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
APPLICANT_NAME_MAX = 100


class ContactCheck(Protocol):
    """Normalises a phone number or an e-mail address; None when it is not a valid one."""

    def phone(self, value: str) -> str | None: ...

    def email(self, value: str) -> str | None: ...


def has_control_characters(value: str, *, multiline: bool = False) -> bool:
    """Whether ``value`` holds a control character (NUL, escape …); line breaks only if multiline."""
    allowed = {"\n", "\t"} if multiline else set()
    return any(unicodedata.category(ch) in ("Cc", "Cf") and ch not in allowed for ch in value)


def valid_id_number(value: str) -> bool:
    """An 18-character 公民身份号码 with a real birth date and the right GB 11643 check digit."""
    if not re.fullmatch(r"\d{17}[\dX]", value):
        return False
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17]


def valid_credit_code(value: str) -> bool:
    """An 18-character 统一社会信用代码 with the right GB 32100 check character."""
    if len(value) != 18 or any(ch not in _USCC_ALPHABET for ch in value):
        return False
    total = sum(_USCC_ALPHABET.index(ch) * w for ch, w in zip(value[:17], _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31] == value[17]


class Field(Protocol):
    """What a check needs of a declared field (gkflow.domain.items.FieldSpec)."""

    @property
    def name(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def type(self) -> FieldType: ...
    @property
    def options(self) -> tuple[str, ...]: ...
    @property
    def max_length(self) -> int | None: ...


def length_limit(spec: Field) -> int | None:
    """The most characters a value of ``spec`` may have (None: the type has its own form)."""
    if spec.max_length is not None:
        return spec.max_length
    return DEFAULT_MAX_LENGTH.get(spec.type)


def _refuse(spec: Field, problem: str) -> InvalidInput:
    return InvalidInput(f"“{spec.label}”{problem}", fields=[spec.name])


def check_value(spec: Field, raw: str, contacts: ContactCheck,
                materials: tuple[str, ...] = ()) -> str:
    """The value of ``spec`` as stored (trimmed, normalised); InvalidInput naming the field if bad."""
    multiline = spec.type in (FieldType.MULTILINE, FieldType.MATERIALS)
    value = raw.replace("\r\n", "\n").strip()
    if has_control_characters(value, multiline=multiline):
        raise _refuse(spec, "含有不允许的控制字符")
    limit = length_limit(spec)
    if limit is not None and len(value) > limit:
        raise _refuse(spec, f"不能超过{limit}个字（现有{len(value)}个字）")
    kind = spec.type
    if kind is FieldType.CHOICE and value not in spec.options:
        raise _refuse(spec, f"请从以下选项中选择：{'、'.join(spec.options)}")
    if kind is FieldType.DATE:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise _refuse(spec, "不是有效日期（格式：年-月-日，如2026-03-02）") from None
        if not 1900 <= day.year <= 2100 or len(value) != 10:
            raise _refuse(spec, "不是有效日期（格式：年-月-日，如2026-03-02）")
    if kind is FieldType.NUMBER:
        value = value.replace(",", "")
        try:
            ok = bool(_NUMBER.fullmatch(value)) and Decimal(value).is_finite()
        except InvalidOperation:
            ok = False
        if not ok:
            raise _refuse(spec, "须为数字（最多15位整数、6位小数）")
    if kind is FieldType.PHONE:
        phone = contacts.phone(value)
        if phone is None:
            raise _refuse(spec, "不是有效的电话号码")
        value = phone
    if kind is FieldType.EMAIL:
        email = contacts.email(value)
        if email is None:
            raise _refuse(spec, "不是有效的电子邮箱地址")
        value = email
    if kind is FieldType.ID_NUMBER:
        value = value.upper()
        if not valid_id_number(value):
            raise _refuse(spec, "不是有效的公民身份号码（18位，末位校验码须相符）")
    if kind is FieldType.FILE and not FILE_REF.fullmatch(value):
        raise _refuse(spec, "须为上传的文件")
    if kind is FieldType.MATERIALS:
        chosen = [line.strip() for line in value.split("\n") if line.strip()]
        unknown = [name for name in chosen if name not in materials]
        if unknown:
            raise _refuse(spec, f"只能选择本事项的申请材料（{'、'.join(unknown)}不是）")
        value = "\n".join(dict.fromkeys(chosen))
    return value


def clean_values(
    specs: tuple[Field, ...], given: Mapping[str, object] | None, *, context_label: str,
    contacts: ContactCheck, materials: tuple[str, ...] = (),
) -> dict[str, str]:
    """The checked values of a form: every required field present, nothing unknown, each value valid."""
    given = dict(given or {})
    known = {spec.name for spec in specs}
    unknown = sorted(set(given) - known)
    if unknown:
        raise InvalidInput(
            f"{context_label}：不接受字段 {', '.join(unknown)}"
            f"（可填字段：{', '.join(sorted(known)) or '无'}）",
            fields=unknown,
        )
    values = {k: str(v) for k, v in given.items() if v is not None}
    missing = [s for s in specs if getattr(s, "required", True) and not values.get(s.name, "").strip()]
    if missing:
        raise InvalidInput(
            f"{context_label}：请填写必填项 " + "、".join(f"“{s.label}”" for s in missing),
            fields=[s.name for s in missing],
        )
    cleaned: dict[str, str] = {}
    for spec in specs:
        if values.get(spec.name, "").strip():
            cleaned[spec.name] = check_value(spec, values[spec.name], contacts, materials)
    return cleaned


def clean_contact(kind: str, value: str | None, contacts: ContactCheck) -> str | None:
    """An applicant's phone number, e-mail address or 证件号码, checked and normalised (None if empty)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    labels = {"phone": "联系电话", "email": "电子邮箱", "id_number": "证件号码"}
    if has_control_characters(value) or len(value) > 254:
        raise InvalidInput(f"“{labels[kind]}”格式不正确", fields=[kind])
    if kind == "phone":
        normalised = contacts.phone(value)
        if normalised is None:
            raise InvalidInput("“联系电话”不是有效的电话号码", fields=["phone"])
        return normalised
    if kind == "email":
        normalised = contacts.email(value)
        if normalised is None:
            raise InvalidInput("“电子邮箱”不是有效的电子邮箱地址", fields=["email"])
        return normalised
    upper = value.upper()
    if not (valid_id_number(upper) or valid_credit_code(upper)):
        raise InvalidInput(
            "“证件号码”须为有效的18位公民身份号码或统一社会信用代码（末位校验码须相符）", fields=["id_number"]
        )
    return upper


def clean_name(name: str | None) -> str:
    """The applicant's name: required, one line, at most APPLICANT_NAME_MAX characters."""
    value = (name or "").strip()
    if not value:
        raise InvalidInput("请填写申请人姓名或单位名称", fields=["name"])
    if has_control_characters(value) or len(value) > APPLICANT_NAME_MAX:
        raise InvalidInput(f"“申请人”须为一行文字，不超过{APPLICANT_NAME_MAX}个字", fields=["name"])
    return value
