"""Personal data masking (个人信息保护法): 张*, 139****5678, 6301**********1234."""

from __future__ import annotations


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
