"""Render a notice for a channel from the context the engine provides.

Templates live in ``templates/<channel>/<notice>...j2`` (see README.md). Three kinds of output:

- plain text (sms, e-mail subject and text): no escaping;
- HTML (``*.html.j2``): autoescaped;
- JSON (wechat, webhook): every printed value is escaped as JSON string content, so templates
  are written as JSON with ``"{{ value }}"`` inside string literals and ``{{ value|json }}``
  for non-string values; the output is parsed and validated.

Every environment uses a StrictUndefined and refuses to print None, so a missing value is a
refused message (MissingTemplateValue), never a blank or a "None" sent to an applicant.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    UndefinedError,
    meta,
)
from jinja2.utils import missing
from markupsafe import Markup

from notifications.errors import (
    BrokenTemplate,
    MissingTemplateValue,
    RenderError,
    SmsTooLong,
    UnknownTemplate,
)
from notifications.message import RenderedMessage
from notifications.notices import CHANNELS, missing_keys
from notifications.sms_length import DEFAULT_SMS_SIGNATURE, parse_max_parts, sms_parts

__all__ = ["TEMPLATES_DIR", "Renderer", "default_renderer", "render"]

TEMPLATES_DIR = Path(__file__).parent / "templates"

_NOTICE_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
# Which template files make up a message, per channel; "{n}" is the notice.
_PARTS: Mapping[str, Mapping[str, str]] = {
    "sms": {"text": "sms/{n}.j2"},
    "email": {
        "subject": "email/{n}.subject.j2",
        "text": "email/{n}.txt.j2",
        "html": "email/{n}.html.j2",
    },
    "wechat": {"fields": "wechat/{n}.j2"},
    "webhook": {"fields": "webhook/{n}.j2"},
    # The local inbox shows what an e-mail recipient would get: the fullest form of a notice.
    "sandbox": {
        "subject": "email/{n}.subject.j2",
        "text": "email/{n}.txt.j2",
        "html": "email/{n}.html.j2",
    },
}
_JSON_CHANNELS = frozenset({"wechat", "webhook"})


class _UndefinedValue(UndefinedError):
    def __init__(self, message: str | None, name: str) -> None:
        super().__init__(message)
        self.name = name


class _Undefined(StrictUndefined):
    """StrictUndefined whose error carries the missing name, so nobody parses Jinja's message."""

    __slots__ = ()

    def __init__(
        self,
        hint: str | None = None,
        obj: Any = missing,
        name: str | None = None,
        exc: type[Exception] = UndefinedError,
    ) -> None:
        super().__init__(hint, obj, name, functools.partial(_UndefinedValue, name=name or "?"))  # type: ignore[arg-type]


class _NonePrinted(Exception):
    pass


def _finalize(value: Any) -> Any:
    if value is None:
        raise _NonePrinted
    return value


def _finalize_json(value: Any) -> Markup:
    # Runs before autoescape: Markup (macro output, |json, block output) is already JSON-safe.
    if value is None:
        raise _NonePrinted
    if isinstance(value, Markup):
        return value
    return Markup(json.dumps(str(value), ensure_ascii=False)[1:-1])


def _json_literal(value: Any) -> Markup:
    return Markup(json.dumps(value, ensure_ascii=False))


def clip(value: Any, limit: int, marker: str = "…") -> str:
    """Whitespace collapsed, then cut to ``limit`` characters (marker included)."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - len(marker)] + marker


_TRAILING_PUNCTUATION = "。.；;，,、：: "


def phrase(value: Any, limit: int = 10_000) -> str:
    """``clip`` without trailing punctuation, for a value in the middle of a sentence."""
    return clip(value, limit).rstrip(_TRAILING_PUNCTUATION)


def sentence(value: Any, limit: int = 10_000) -> str:
    """``clip`` and end with exactly one full stop, whatever punctuation the value ended with."""
    return phrase(value, limit) + "。"


def _is_html(name: str | None) -> bool:
    return name is not None and name.endswith(".html.j2")


def _one_line(text: str) -> str:
    return "".join(line.strip() for line in text.splitlines())


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


class Renderer:
    """Templates of one directory, compiled once and cached; safe to share between threads."""

    def __init__(self, templates_dir: str | PathLike[str] | None = None) -> None:
        self.templates_dir = Path(templates_dir) if templates_dir is not None else TEMPLATES_DIR
        options: dict[str, Any] = {
            "loader": FileSystemLoader(self.templates_dir),
            "undefined": _Undefined,
            "trim_blocks": True,
            "lstrip_blocks": True,
            # Templates are deployed with the code: never stat files on the dispatch path.
            "auto_reload": False,
        }
        self._text_env = Environment(autoescape=_is_html, finalize=_finalize, **options)
        self._json_env = Environment(autoescape=True, finalize=_finalize_json, **options)
        for env in (self._text_env, self._json_env):
            env.filters["clip"] = clip
            env.filters["phrase"] = phrase
            env.filters["sentence"] = sentence
        self._json_env.filters["json"] = _json_literal
        self._lock = threading.Lock()
        self._templates: dict[tuple[str, str], dict[str, Template]] = {}
        self._max_parts: dict[str, int | None] = {}

    def render(
        self,
        notice: str,
        channel: str,
        context: Mapping[str, Any],
        *,
        sms_signature: str = DEFAULT_SMS_SIGNATURE,
    ) -> RenderedMessage:
        templates = self._templates_for(notice, channel)
        absent = missing_keys(notice, context)
        if absent:
            raise MissingTemplateValue(notice, channel, absent[0])
        values = dict(context)
        try:
            out = {part: template.render(values) for part, template in templates.items()}
        except _UndefinedValue as exc:
            raise MissingTemplateValue(notice, channel, exc.name) from None
        except _NonePrinted:
            nones = ", ".join(sorted(k for k, v in values.items() if v is None)) or "None"
            raise MissingTemplateValue(notice, channel, nones) from None
        except RenderError:
            raise
        except Exception as exc:
            # Whatever breaks inside a template refuses this one message, never the whole batch.
            raise BrokenTemplate(notice, channel, f"{type(exc).__name__}: {exc}") from exc
        case_no = context.get("case_no")
        base: dict[str, Any] = {
            "channel": channel,
            "notice": notice,
            "case_no": case_no if isinstance(case_no, str) else None,
        }
        if channel == "sms":
            return self._sms(notice, out["text"], sms_signature, base)
        if channel in _JSON_CHANNELS:
            return self._json(notice, channel, out["fields"], base)
        return RenderedMessage(
            **base,
            subject=" ".join(out["subject"].split()),
            text=_tidy(out["text"]),
            html=out["html"].strip() + "\n",
        )

    def _sms(self, notice: str, raw: str, signature: str, base: dict[str, Any]) -> RenderedMessage:
        text = _one_line(raw)
        parts = sms_parts(signature + text)
        cap = self.sms_max_parts(notice)
        if cap is None:
            raise BrokenTemplate(notice, "sms", "template declares no {# max_parts: N #}")
        if parts > cap:
            raise SmsTooLong(notice, parts, cap)
        return RenderedMessage(**base, text=text, sms_parts=parts)

    def _json(self, notice: str, channel: str, raw: str, base: dict[str, Any]) -> RenderedMessage:
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise BrokenTemplate(notice, channel, f"output is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise BrokenTemplate(notice, channel, "output is not a JSON object")
        if channel == "wechat":
            if not all(isinstance(v, str) for v in body.values()):
                raise BrokenTemplate(notice, channel, "every WeChat field must be a string")
            text = "\n".join(v for k, v in body.items() if k != "url")
        else:
            text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        return RenderedMessage(**base, text=text, fields=body)

    def _templates_for(self, notice: str, channel: str) -> dict[str, Template]:
        key = (notice, channel)
        cached = self._templates.get(key)
        if cached is not None:
            return cached
        if channel not in CHANNELS or not _NOTICE_NAME.fullmatch(notice):
            raise UnknownTemplate(notice, channel)
        env = self._json_env if channel in _JSON_CHANNELS else self._text_env
        try:
            loaded = {
                part: env.get_template(pattern.format(n=notice)) for part, pattern in _PARTS[channel].items()
            }
        except TemplateNotFound:
            raise UnknownTemplate(notice, channel) from None
        except Exception as exc:
            raise BrokenTemplate(notice, channel, f"{type(exc).__name__}: {exc}") from exc
        with self._lock:
            self._templates[key] = loaded
        return loaded

    def notices(self, channel: str) -> list[str]:
        """Notices that have a template for ``channel`` in this directory (shared ``_*`` excluded)."""
        pattern = next(iter(_PARTS[channel].values()))
        prefix, suffix = pattern.split("{n}")
        names = self._text_env.list_templates(filter_func=lambda n: n.startswith(prefix))
        found = [n[len(prefix) : -len(suffix)] for n in names if n.endswith(suffix)]
        return sorted(n for n in found if _NOTICE_NAME.fullmatch(n))

    def sms_max_parts(self, notice: str) -> int | None:
        if notice not in self._max_parts:
            self._max_parts[notice] = parse_max_parts(self.source(f"sms/{notice}.j2"))
        return self._max_parts[notice]

    def source(self, name: str) -> str:
        source, _, _ = self._text_env.loader.get_source(self._text_env, name)  # type: ignore[union-attr]
        return source

    def referenced_variables(self, name: str) -> frozenset[str]:
        """Context names the template itself reads (not those of layouts or imports it uses)."""
        return frozenset(meta.find_undeclared_variables(self._text_env.parse(self.source(name))))


@functools.cache
def default_renderer() -> Renderer:
    """The renderer of the shipped templates, built once per process."""
    return Renderer()


def render(
    notice: str,
    channel: str,
    context: Mapping[str, Any],
    *,
    sms_signature: str = DEFAULT_SMS_SIGNATURE,
) -> RenderedMessage:
    """Render ``notice`` for ``channel``; raises a RenderError subclass when it cannot.

    ``sms_signature`` is what the gateway prepends; it only counts toward ``sms_parts``.
    """
    return default_renderer().render(notice, channel, context, sms_signature=sms_signature)
