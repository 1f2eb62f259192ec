"""Personal data masking (个人信息保护法): 张*, 139****5678, 6301**********1234."""

from __future__ import annotations

import re


def mask_name(name: str | None) -> str:
    """张** for 张三丰: the family name and a star per other character."""
    if not name:
        return ""
    if len(name) == 1:
        return "*"
    return name[0] + "*" * (len(name) - 1)


def mask_phone(phone: str | None) -> str:
    """139****5678."""
    if not phone:
        return ""
    digits = phone.strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_id_number(id_number: str | None) -> str:
    """The first six and last four characters of an ID number."""
    if not id_number:
        return ""
    value = id_number.strip()
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


# Personal data as it appears in free text: mainland mobile numbers, 18- and 15-digit ID numbers,
# e-mail addresses, and query codes in URLs (`?code=…`, the second half of a look-up credential).
_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(@[A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_QUERY_CODE = re.compile(r"((?:[?&]|\b)code=)[^&\s\"'<>]+", re.IGNORECASE)


def mask_personal_text(text: str) -> str:
    """``text`` with phone and ID numbers, e-mail addresses and URL query codes masked."""
    text = _ID_NUMBER.sub(lambda m: mask_id_number(m.group()), text)
    text = _PHONE.sub(lambda m: mask_phone(m.group()), text)
    text = _EMAIL.sub(r"\1***\2", text)
    return _QUERY_CODE.sub(r"\1***", text)
