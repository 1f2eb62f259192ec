"""Masking of recipients and redaction of free text before it reaches logs, inboxes or reasons."""

from __future__ import annotations

import re
from collections.abc import Iterable

_PHONE = re.compile(r"(?<!\d)(\+?86)?(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_ID_NUMBER = re.compile(r"(?<!\d)(\d{4})\d{10}(\d{3}[\dXx])(?![\dXx])")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def mask_recipient(recipient: str) -> str:
    """139****5678, z***@example.cn, or the first and last two characters of anything else."""
    value = recipient.strip()
    phone = _PHONE.fullmatch(value)
    if phone:
        return f"{phone.group(2)}****{phone.group(4)}"
    if "@" in value:
        local, _, domain = value.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if len(value) <= 6:
        return "***"
    return f"{value[:2]}***{value[-2:]}"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace secrets, and mask phone numbers, ID numbers and e-mail addresses, in ``text``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _ID_NUMBER.sub(r"\1**********\2", text)
    text = _PHONE.sub(r"\2****\4", text)
    return _EMAIL.sub(r"\1***@\2", text)
