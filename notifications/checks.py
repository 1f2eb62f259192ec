"""The check that every shipped SMS template stays within its declared cap and never carries the
query code (run by the tests and by `check_sms_templates` from the package root)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from notifications.errors import RenderError, SmsTooLong
from notifications.render import Renderer, default_renderer
from notifications.sms_length import DEFAULT_SMS_SIGNATURE, FORBIDDEN_SMS_VARIABLES


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
