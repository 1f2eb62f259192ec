"""SMS length accounting: how many messages a text is sent as, and each template's declared cap.

Any text with a non-ASCII character is sent as UCS-2: 70 UTF-16 code units fit one message,
longer texts go in parts of 67. ASCII-only texts are counted as GSM-7 (160, parts of 153); the
GSM-7 escape characters (``^{}[]~|\\``) that really take two septets are ignored, as every
applicant text is Chinese and therefore UCS-2 anyway. Each SMS template declares its cap in a
header comment ``{# max_parts: N #}``; the signature the gateway prepends counts too.
"""

from __future__ import annotations

import math
import re

DEFAULT_SMS_SIGNATURE = "【格尔木市政务服务】"
# An SMS never carries the query code: whoever reads the phone's lock screen could open the case.
FORBIDDEN_SMS_VARIABLES = frozenset({"query_code", "code"})

_MAX_PARTS = re.compile(r"\{#-?\s*max_parts:\s*(\d+)\s*-?#\}")


def utf16_units(text: str) -> int:
    """Length as the network counts it: characters outside the BMP (emoji) take two units."""
    return len(text.encode("utf-16-le")) // 2


def is_ucs2(text: str) -> bool:
    return not text.isascii()


def sms_parts(text: str) -> int:
    """Number of messages ``text`` is billed and delivered as (0 for an empty text)."""
    units = utf16_units(text)
    if units == 0:
        return 0
    single, part = (70, 67) if is_ucs2(text) else (160, 153)
    return 1 if units <= single else math.ceil(units / part)


def parse_max_parts(source: str) -> int | None:
    """The cap declared in a template's ``{# max_parts: N #}`` header, if any."""
    match = _MAX_PARTS.search(source)
    return int(match.group(1)) if match else None
