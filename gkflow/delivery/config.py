"""Delivery settings: config/channels.yaml with the GKFLOW_* environment applied.

Channel secrets (API keys, SMTP passwords, webhook secrets) come from the environment or ./.env,
read through ``Settings.prefixed_environment`` (the one reader of the environment); the file holds
everything that is not secret. Every problem is an InvalidConfig naming the file and the setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from gkflow.config.files import read_mapping
from gkflow.delivery.outbox import OutboxMessage
from gkflow.domain.errors import InvalidConfig
from gkflow.settings import Settings
from notifications.channels import parse_flag
from notifications.sms_length import DEFAULT_SMS_SIGNATURE

SANDBOX = "sandbox"
LIVE_CHANNELS = ("sms", "email", "wechat", "webhook")
# Settings each channel passes to notifications.channels.build_channel.
BUILD_KEYS: Mapping[str, tuple[str, ...]] = {
    "sms": ("gateway_url", "api_key", "signature", "timeout"),
    "email": ("host", "port", "sender", "starttls", "username", "password", "timeout"),
    "wechat": ("api_url", "app_token", "template_ids", "timeout"),
    "webhook": ("timeout",),
}
_COMMON_KEYS = ("sandbox", "rate", "receipt_secret")


@dataclass(frozen=True)
class RateLimit:
    per_second: float
    burst: int


@dataclass(frozen=True)
class ChannelsConfig:
    """config/channels.yaml with the GKFLOW_* environment applied (``load_channels_config``)."""

    inbox_dir: Path
    sandbox_all: bool = True
    # build_channel settings of sms, email, wechat; webhook targets by recipient name.
    live: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    webhook_targets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    sandboxed: frozenset[str] = frozenset()
    rates: Mapping[str, RateLimit] = field(default_factory=dict)
    receipt_secrets: Mapping[str, str] = field(default_factory=dict)
    quiet_start: str = "22:00"
    quiet_end: str = "08:00"
    quiet_timezone: str = "Asia/Shanghai"
    quiet_channels: frozenset[str] = frozenset({"sms"})
    retry_base_s: float = 30.0
    retry_cap_s: float = 3600.0
    retry_horizon_s: float = 86400.0
    batch_size: int = 100
    lease_seconds: int = 120
    poll_seconds: float = 1.0
    senders_per_channel: int = 4
    hotline_reply_target: str | None = "hotline-12345"
    # How long a sender waits for a rate-limit token before giving the row back for that long.
    rate_wait_seconds: float = 1.0

    @property
    def sms_signature(self) -> str:
        return str(self.live.get("sms", {}).get("signature") or DEFAULT_SMS_SIGNATURE)

    def route(self, message: OutboxMessage) -> str:
        """Where a row goes: ``sandbox``, a channel name, or ``webhook:<target>``."""
        if message.kind == "trigger":
            channel, target = "webhook", self.hotline_reply_target or ""
        else:
            channel, target = message.channel or "", message.recipient or ""
        if self.sandbox_all or channel == SANDBOX or channel in self.sandboxed:
            return SANDBOX
        return f"webhook:{target}" if channel == "webhook" else channel


def _blank(value: Any) -> bool:
    return value is None or value == ""


def _env_name(*parts: str) -> str:
    return "GKFLOW_" + "_".join("".join(c if c.isalnum() else "_" for c in p).upper() for p in parts)


def _flag(value: Any, where: str) -> bool:
    try:
        return parse_flag(value)
    except ValueError:
        raise InvalidConfig(f"{where} must be true or false, got {value!r}") from None


def _section(raw: Any, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise InvalidConfig(f"{where} must be a mapping")
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise InvalidConfig(f"{where}: unknown setting(s) {', '.join(map(str, unknown))}; "
                            f"known: {', '.join(allowed)}")
    return dict(raw)


def _number(section: Mapping[str, Any], key: str, default: float, where: str, *, minimum: float = 0) -> float:
    value = section.get(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidConfig(f"{where}.{key} must be a number, got {value!r}") from None
    if number < minimum:
        raise InvalidConfig(f"{where}.{key} must be at least {minimum}, got {value!r}")
    return number


def channels_file(settings: Settings, env: Mapping[str, str] | None = None) -> Path:
    """GKFLOW_CHANNELS_FILE if set (it must exist), else <config dir>/channels.yaml (optional)."""
    env = settings.prefixed_environment() if env is None else env
    path = Path(env.get("GKFLOW_CHANNELS_FILE") or settings.config_dir / "channels.yaml")
    if "GKFLOW_CHANNELS_FILE" in env and not path.is_file():
        raise InvalidConfig(f"GKFLOW_CHANNELS_FILE names {path}, which does not exist")
    return path


def load_channels_config(settings: Settings, environ: Mapping[str, str] | None = None) -> ChannelsConfig:
    """Read the channels file (GKFLOW_CHANNELS_FILE or <config dir>/channels.yaml, optional) and apply
    the environment: GKFLOW_<CHANNEL>_<SETTING>, GKFLOW_WEBHOOK_<TARGET>_URL/_SECRET,
    GKFLOW_CHANNELS_SANDBOX_ALL. Problems are InvalidConfig naming the file and the setting."""
    env = settings.prefixed_environment() if environ is None else dict(environ)
    path = channels_file(settings, env)
    raw = read_mapping(path)
    top = _section(raw, str(path), ("sandbox_all", "inbox_dir", "dispatch", "retry", "quiet_hours",
                                   "hotline_reply", "channels", "staff_notices"))
    dispatch = _section(top.get("dispatch"), f"{path}: dispatch",
                        ("batch_size", "lease_seconds", "poll_seconds", "senders_per_channel"))
    retry = _section(top.get("retry"), f"{path}: retry", ("base_seconds", "cap_seconds", "horizon_seconds"))
    quiet = _section(top.get("quiet_hours"), f"{path}: quiet_hours", ("start", "end", "timezone", "channels"))
    hotline = _section(top.get("hotline_reply"), f"{path}: hotline_reply", ("enabled", "target"))
    channels = _section(top.get("channels"), f"{path}: channels", LIVE_CHANNELS)

    live: dict[str, dict[str, Any]] = {}
    targets: dict[str, dict[str, Any]] = {}
    sandboxed: set[str] = set()
    rates: dict[str, RateLimit] = {}
    receipt_secrets: dict[str, str] = {}
    for name in LIVE_CHANNELS:
        where = f"{path}: channels.{name}"
        extra = ("targets",) if name == "webhook" else ()
        spec = _section(channels.get(name), where, (*BUILD_KEYS[name], *_COMMON_KEYS, *extra))
        for key in (*BUILD_KEYS[name], "receipt_secret", "sandbox"):
            if _env_name(name, key) in env and key != "template_ids":
                spec[key] = env[_env_name(name, key)]
        if _flag(spec.pop("sandbox", False), f"{where}.sandbox"):
            sandboxed.add(name)
        rate = _section(spec.pop("rate", None), f"{where}.rate", ("per_second", "burst"))
        if rate:
            rates[name] = RateLimit(_number(rate, "per_second", 1, f"{where}.rate", minimum=0.001),
                                    int(_number(rate, "burst", 1, f"{where}.rate", minimum=1)))
        secret = spec.pop("receipt_secret", None)
        if not _blank(secret):
            receipt_secrets[name] = str(secret)
        if name == "webhook":
            for target, target_spec in (spec.pop("targets", None) or {}).items():
                tspec = _section(target_spec, f"{where}.targets.{target}", ("url", "secret", "timeout"))
                for key in ("url", "secret"):
                    default = env.get(_env_name("webhook", key)) if key == "secret" else None
                    tspec[key] = env.get(_env_name("webhook", str(target), key), tspec.get(key) or default)
                if "timeout" in spec and "timeout" not in tspec:
                    tspec["timeout"] = spec["timeout"]
                targets[str(target)] = {k: v for k, v in tspec.items() if not _blank(v)}
        else:
            live[name] = {k: v for k, v in spec.items() if not _blank(v)}

    sandbox_all = top.get("sandbox_all", True)
    if "GKFLOW_CHANNELS_SANDBOX_ALL" in env:
        sandbox_all = env["GKFLOW_CHANNELS_SANDBOX_ALL"]
    inbox = top.get("inbox_dir")
    quiet_channels = quiet.get("channels", ["sms"])
    if not isinstance(quiet_channels, list):
        raise InvalidConfig(f"{path}: quiet_hours.channels must be a list of channel names")
    for key in ("start", "end"):
        try:
            datetime.strptime(str(quiet.get(key, "00:00")), "%H:%M")
        except ValueError:
            raise InvalidConfig(f"{path}: quiet_hours.{key} must be HH:MM, got {quiet.get(key)!r}") from None
    return ChannelsConfig(
        inbox_dir=Path(inbox) if inbox else settings.var_dir / "inbox",
        sandbox_all=_flag(sandbox_all, f"{path}: sandbox_all"),
        live=live,
        webhook_targets=targets,
        sandboxed=frozenset(sandboxed),
        rates=rates,
        receipt_secrets=receipt_secrets,
        quiet_start=str(quiet.get("start", "22:00")),
        quiet_end=str(quiet.get("end", "08:00")),
        quiet_timezone=str(quiet.get("timezone", settings.timezone)),
        quiet_channels=frozenset(str(c) for c in quiet_channels),
        retry_base_s=_number(retry, "base_seconds", 30, f"{path}: retry"),
        retry_cap_s=_number(retry, "cap_seconds", 3600, f"{path}: retry"),
        retry_horizon_s=_number(retry, "horizon_seconds", 86400, f"{path}: retry"),
        batch_size=int(_number(dispatch, "batch_size", 100, f"{path}: dispatch", minimum=1)),
        lease_seconds=int(_number(dispatch, "lease_seconds", 120, f"{path}: dispatch", minimum=5)),
        poll_seconds=_number(dispatch, "poll_seconds", 1.0, f"{path}: dispatch", minimum=0.05),
        senders_per_channel=int(_number(dispatch, "senders_per_channel", 4, f"{path}: dispatch", minimum=1)),
        hotline_reply_target=(str(hotline.get("target") or "hotline-12345")
                              if _flag(hotline.get("enabled", True), f"{path}: hotline_reply.enabled")
                              else None),
    )


def with_overrides(config: ChannelsConfig, **changes: Any) -> ChannelsConfig:
    """A copy with some settings changed (tests, `gkflow outbox dispatch --batch-size`)."""
    return replace(config, **changes)
