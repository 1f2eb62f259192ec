"""The bounds every input keeps, whichever door it comes in by (HTTP, CLI, 12345 intake, config):
no control characters in text, dates within 1900–2100, ids within a 32-bit integer, JSON of a
limited depth. A value outside them is a clear InvalidInput, never a database or overflow error."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime

from gkflow.domain.errors import InvalidInput

MIN_YEAR = 1900
MAX_YEAR = 2100
# Row ids are 32-bit on PostgreSQL (SERIAL); SQLite's 64-bit would allow more, the bound is the lower.
MAX_ID = 2**31 - 1
# Deeper than any document gkflow reads (a case's fields are one level, a receipt list two).
MAX_JSON_DEPTH = 32

# C0 controls except tab, newline and carriage return; DEL; C1 controls; lone surrogates and the
# two non-characters U+FFFE/U+FFFF. PostgreSQL text cannot hold NUL at all, and the others only
# corrupt logs, CSV files and pages.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def control_character(text: str) -> str | None:
    """The first forbidden control character of ``text`` as ``U+XXXX``, or None."""
    found = _CONTROL.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def check_text(value: object, field: str) -> None:
    """InvalidInput if the string ``value`` holds a control character (names ``field``)."""
    if isinstance(value, str):
        bad = control_character(value)
        if bad:
            raise InvalidInput(f"{field}: control character {bad} is not allowed", fields=[field])


def check_texts(values: Mapping[str, object] | None, prefix: str = "") -> None:
    """check_text on every key and string value of a flat mapping (a case's fields)."""
    for key, value in (values or {}).items():
        check_text(key, f"{prefix}{key}")
        check_text(value, f"{prefix}{key}")


def check_date(value: date | datetime | None, field: str) -> None:
    """InvalidInput unless ``value`` (if given) lies in the years MIN_YEAR..MAX_YEAR."""
    if value is not None and not MIN_YEAR <= value.year <= MAX_YEAR:
        raise InvalidInput(
            f"{field}: {value.isoformat()} is outside the years {MIN_YEAR}–{MAX_YEAR}", fields=[field]
        )


def json_depth_exceeds(value: object, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether parsed JSON ``value`` nests deeper than ``limit`` lists/objects (iterative: no recursion)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Iterable[object] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def json_control_character(value: object) -> tuple[str, str] | None:
    """The first (path, U+XXXX) where a string or key of parsed JSON ``value`` holds a control character."""
    stack: list[tuple[object, str]] = [(value, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            bad = control_character(node)
            if bad:
                return path or "body", bad
        elif isinstance(node, dict):
            for key, child in node.items():
                bad = control_character(str(key))
                where = _CONTROL.sub("?", f"{path}.{key}" if path else str(key))
                if bad:
                    return where, bad
                stack.append((child, where))
        elif isinstance(node, list):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(node))
    return None
