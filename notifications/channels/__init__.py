"""Channels: one small interface, five implementations, and a factory from plain config.

``build_channel(name, config)`` takes the constructor's keyword arguments as a plain mapping
(values may be strings, as they come from environment variables), so the engine passes its
settings without this package importing gkflow.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from notifications.channels.base import Channel
from notifications.channels.email import EmailChannel
from notifications.channels.sandbox import SandboxChannel, read_inbox
from notifications.channels.sms import SmsChannel
from notifications.channels.webhook import WebhookChannel, verify_signature
from notifications.channels.wechat import WechatChannel
from notifications.errors import TechnicalFailure

__all__ = [
    "Channel",
    "EmailChannel",
    "SandboxChannel",
    "SmsChannel",
    "WebhookChannel",
    "WechatChannel",
    "build_channel",
    "read_inbox",
    "verify_signature",
]



def parse_flag(value: Any) -> bool:
    """A boolean as YAML or an environment variable spells it; ValueError for anything else."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {value!r}")

class _Config:
    """Typed reads from a plain mapping; every problem names the channel and the key."""

    def __init__(self, channel: str, values: Mapping[str, Any], allowed: set[str]) -> None:
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise TechnicalFailure(f"channel {channel}: unknown setting(s) {', '.join(unknown)}")
        self.channel = channel
        self.values = values

    def _fail(self, key: str, problem: str) -> TechnicalFailure:
        return TechnicalFailure(f"channel {self.channel}: setting {key!r} {problem}")

    def has(self, key: str) -> bool:
        return self.values.get(key) not in (None, "")

    def text(self, key: str, default: str | None = None) -> str:
        value = self.values.get(key, default)
        if value is None or (value == "" and default is None):
            raise self._fail(key, "is required")
        if not isinstance(value, str):
            raise self._fail(key, "must be a string")
        return value

    def optional_text(self, key: str) -> str | None:
        return self.text(key) if self.has(key) else None

    def integer(self, key: str) -> int:
        value = self.values.get(key)
        try:
            return int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise self._fail(key, "must be an integer") from None

    def flag(self, key: str, default: bool = False) -> bool:
        try:
            return parse_flag(self.values.get(key, default))
        except ValueError:
            raise self._fail(key, "must be true or false") from None

    def timeout(self, key: str = "timeout") -> Any:
        value = self.values.get(key)
        try:
            if isinstance(value, list | tuple) and len(value) == 2:
                return (float(value[0]), float(value[1]))
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise self._fail(key, "must be seconds or [connect, read] seconds") from None

    def mapping(self, key: str) -> dict[str, str]:
        value = self.values.get(key)
        if not isinstance(value, Mapping) or not value:
            raise self._fail(key, "must be a non-empty mapping of notice to id")
        return {str(k): str(v) for k, v in value.items()}


def _sms(c: _Config) -> Channel:
    extra = {"timeout": c.timeout()} if c.has("timeout") else {}
    return SmsChannel(c.text("gateway_url"), c.text("api_key"), c.text("signature", ""), **extra)


def _email(c: _Config) -> Channel:
    extra = {"timeout": c.timeout()} if c.has("timeout") else {}
    return EmailChannel(
        c.text("host"),
        c.integer("port"),
        c.text("sender"),
        starttls=c.flag("starttls"),
        username=c.optional_text("username"),
        password=c.optional_text("password"),
        **extra,
    )


def _wechat(c: _Config) -> Channel:
    extra = {"timeout": c.timeout()} if c.has("timeout") else {}
    return WechatChannel(c.text("api_url"), c.text("app_token"), c.mapping("template_ids"), **extra)


def _webhook(c: _Config) -> Channel:
    extra = {"timeout": c.timeout()} if c.has("timeout") else {}
    return WebhookChannel(c.text("url"), c.text("secret"), **extra)


def _sandbox(c: _Config) -> Channel:
    inbox_dir = c.values.get("inbox_dir")
    if isinstance(inbox_dir, os.PathLike):
        return SandboxChannel(inbox_dir)
    return SandboxChannel(c.text("inbox_dir"))


_BUILDERS: dict[str, tuple[set[str], Callable[[_Config], Channel]]] = {
    "sms": ({"gateway_url", "api_key", "signature", "timeout"}, _sms),
    "email": (
        {"host", "port", "sender", "starttls", "username", "password", "timeout"},
        _email,
    ),
    "wechat": ({"api_url", "app_token", "template_ids", "timeout"}, _wechat),
    "webhook": ({"url", "secret", "timeout"}, _webhook),
    "sandbox": ({"inbox_dir"}, _sandbox),
}


def build_channel(name: str, config: Mapping[str, Any]) -> Channel:
    """A channel from its settings; TechnicalFailure naming the problem if they are wrong."""
    if name not in _BUILDERS:
        raise TechnicalFailure(f"unknown channel {name!r}; known: {', '.join(_BUILDERS)}")
    allowed, builder = _BUILDERS[name]
    return builder(_Config(name, config, allowed))
