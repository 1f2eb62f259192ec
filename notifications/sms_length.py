"""SMS length accounting and the check that every shipped SMS template stays within its cap.

Any text with a non-ASCII character is sent as UCS-2: 70 UTF-16 code units fit one message,
longer texts go in parts of 67. ASCII-only texts are counted as GSM-7 (160, parts of 153); the
GSM-7 escape characters (``^{}[]~|\\``) that really take two septets are ignored, as every
applicant text is Chinese and therefore UCS-2 anyway. Each SMS template declares its cap in a
header comment ``{# max_parts: N #}``; the signature the gateway prepends counts too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from notifications.errors import RenderError, SmsTooLong

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


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    notice: str
    template: str
    reason: str
    parts: int | None = None
    max_parts: int | None = None


def check_sms_templates(
    long_context: Mapping[str, Any],
    *,
    templates_dir: str | Path | None = None,
    signature: str = DEFAULT_SMS_SIGNATURE,
) -> list[TemplateProblem]:
    """Render every SMS template with ``long_context`` (realistically long values for every key
    any notice needs, see ``samples.long_context()``) and report the templates that declare no
    cap, overflow it, reference a query code, or fail to render."""
    # render imports this module for the counting, so the dependency back is taken late.
    from notifications.render import Renderer, default_renderer

    renderer = Renderer(templates_dir) if templates_dir is not None else default_renderer()
    problems: list[TemplateProblem] = []
    for notice in renderer.notices("sms"):
        name = f"sms/{notice}.j2"
        forbidden = renderer.referenced_variables(name) & FORBIDDEN_SMS_VARIABLES
        if forbidden:
            problems.append(TemplateProblem(notice, name, f"references {', '.join(sorted(forbidden))}"))
            continue
        cap = renderer.sms_max_parts(notice)
        if cap is None:
            problems.append(TemplateProblem(notice, name, "declares no {# max_parts: N #}"))
            continue
        try:
            renderer.render(notice, "sms", long_context, sms_signature=signature)
        except SmsTooLong as exc:
            problems.append(TemplateProblem(notice, name, exc.reason, exc.parts, exc.max_parts))
        except RenderError as exc:
            problems.append(TemplateProblem(notice, name, exc.reason, max_parts=cap))
    return problems
