"""Deliver due outbox rows (DESIGN.md section 4, step 3): claim, render, send, record.

A batch is claimed with a lease (gkflow.outbox), rendered with the notifications templates, sent
through its channel with the row's idempotency key, and each outcome recorded: delivered (or
accepted, awaiting the provider's receipt), held (quiet hours, rate limit), retried later with
exponential backoff and full jitter, or final (permanent, technical, dead). Sends run in a few
threads per channel over kept-alive connections; each sender writes its outcomes in short
transactions of many rows. No transaction is open while a message is on the wire: a crash
leaves the rows leased, and once the lease runs out they are claimed and sent again with the same
idempotency key, so a provider that deduplicates sees each message once.

Plain Python: the Prefect flow (flows/dispatch.py) and `gkflow outbox dispatch` both call it.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import random
import socket
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gkflow import outbox
from gkflow.configfile import read_mapping
from gkflow.domain.errors import InvalidConfig
from gkflow.outbox import OutboxMessage, Outcome
from gkflow.runtime import Runtime
from gkflow.settings import Settings
from notifications.channels import Channel, SandboxChannel, build_channel, parse_flag
from notifications.errors import DeliveryError, RenderError, TechnicalFailure, TemporaryFailure
from notifications.masking import mask_recipient, redact
from notifications.message import RenderedMessage
from notifications.notices import APPLICANT_NOTICES
from notifications.policy import (
    RateLimiter,
    Status,
    give_up,
    next_attempt_delay,
    release_time,
    status_for_error,
)
from notifications.render import render
from notifications.sms import DEFAULT_SMS_SIGNATURE

log = logging.getLogger("gkflow.dispatch")

HOTLINE_REPLY = "hotline.reply"
SANDBOX = "sandbox"
LIVE_CHANNELS = ("sms", "email", "wechat", "webhook")
# Settings each channel passes to notifications.channels.build_channel.
_BUILD_KEYS: Mapping[str, tuple[str, ...]] = {
    "sms": ("gateway_url", "api_key", "signature", "timeout"),
    "email": ("host", "port", "sender", "starttls", "username", "password", "timeout"),
    "wechat": ("api_url", "app_token", "template_ids", "timeout"),
    "webhook": ("timeout",),
}
_COMMON_KEYS = ("sandbox", "rate", "receipt_secret")
# Outcomes are written in groups: fewer commits, and a crash re-sends at most this many (same keys).
FLUSH_EVERY = 50
FLUSH_SECONDS = 0.25
# A message not yet sent this close to its lease's end is given back rather than risk a second sender.
LEASE_MARGIN_S = 15.0


# -- configuration -----------------------------------------------------------------------------


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


def _environment() -> dict[str, str]:
    """GKFLOW_* from the process environment, over those of an optional ./.env (as Settings reads)."""
    values: dict[str, str] = {}
    if Path(".env").is_file():
        from dotenv import dotenv_values

        values.update({k: v for k, v in dotenv_values(".env").items() if v is not None})
    values.update(os.environ)
    return {k: v for k, v in values.items() if k.startswith("GKFLOW_")}


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


def load_channels_config(settings: Settings, environ: Mapping[str, str] | None = None) -> ChannelsConfig:
    """Read the channels file (GKFLOW_CHANNELS_FILE or <config dir>/channels.yaml, optional) and apply
    the environment: GKFLOW_<CHANNEL>_<SETTING>, GKFLOW_WEBHOOK_<TARGET>_URL/_SECRET,
    GKFLOW_CHANNELS_SANDBOX_ALL. Problems are InvalidConfig naming the file and the setting."""
    env = _environment() if environ is None else dict(environ)
    path = Path(env.get("GKFLOW_CHANNELS_FILE") or settings.config_dir / "channels.yaml")
    if "GKFLOW_CHANNELS_FILE" in env and not path.is_file():
        raise InvalidConfig(f"GKFLOW_CHANNELS_FILE names {path}, which does not exist")
    raw = read_mapping(path)
    top = _section(raw, str(path), ("sandbox_all", "inbox_dir", "dispatch", "retry", "quiet_hours",
                                   "hotline_reply", "channels"))
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
        spec = _section(channels.get(name), where, (*_BUILD_KEYS[name], *_COMMON_KEYS, *extra))
        for key in (*_BUILD_KEYS[name], "receipt_secret", "sandbox"):
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


# -- channels ----------------------------------------------------------------------------------


class ChannelPool:
    """Channel instances (each with its kept-alive session) and rate limiters, built on first use."""

    def __init__(self, config: ChannelsConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._channels: dict[str, Channel] = {}
        self._limiters = {name: RateLimiter(r.per_second, r.burst) for name, r in config.rates.items()}

    def channel(self, route: str) -> Channel:
        """The channel of a route; TechnicalFailure naming the missing setting if it is not configured."""
        with self._lock:
            built = self._channels.get(route)
            if built is None:
                built = self._build(route)
                self._channels[route] = built
            return built

    def _build(self, route: str) -> Channel:
        if route == SANDBOX:
            return SandboxChannel(self.config.inbox_dir)
        if route.startswith("webhook:"):
            target = route.partition(":")[2]
            spec = self.config.webhook_targets.get(target)
            if spec is None:
                raise TechnicalFailure(f"no webhook target {target!r} configured")
            return build_channel("webhook", spec)
        if route not in self.config.live:
            raise TechnicalFailure(f"channel {route!r} is not configured")
        return build_channel(route, {k: v for k, v in self.config.live[route].items()
                                     if k in _BUILD_KEYS[route]})

    def limiter(self, channel: str) -> RateLimiter | None:
        return self._limiters.get(channel)

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                close = getattr(channel, "close", None)
                if close is not None:
                    close()
            self._channels.clear()


_POOLS: dict[int, tuple[ChannelsConfig, ChannelPool]] = {}
_POOLS_LOCK = threading.Lock()


def channel_pool(config: ChannelsConfig) -> ChannelPool:
    """One pool per configuration object for the life of the process, so connections are reused."""
    with _POOLS_LOCK:
        entry = _POOLS.get(id(config))
        if entry is None or entry[0] is not config:
            entry = (config, ChannelPool(config))
            _POOLS[id(config)] = entry
        return entry[1]


# -- one batch ---------------------------------------------------------------------------------


@dataclass
class DispatchReport:
    worker: str
    claimed: int = 0
    delivered: int = 0  # the recipient's side has it
    accepted: int = 0  # the provider has it; a receipt will confirm (status stays `sending`)
    held: int = 0  # given back unsent: quiet hours, rate limit, lease nearly over
    retrying: int = 0  # temporary failure, another attempt is scheduled
    failed: int = 0  # permanent or technical failure
    dead: int = 0  # retried until the horizon
    lost: int = 0  # our lease had been taken over: the outcome was not recorded
    batches: int = 0
    seconds: float = 0.0
    by_route: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, other: DispatchReport) -> None:
        for name in ("claimed", "delivered", "accepted", "held", "retrying", "failed", "dead", "lost",
                     "batches"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.seconds += other.seconds
        for route, n in other.by_route.items():
            self.by_route[route] = self.by_route.get(route, 0) + n
        self.errors = (self.errors + other.errors)[:20]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        return data


def default_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{random.randrange(16**4):04x}"


def hotline_reply_message(message: OutboxMessage) -> RenderedMessage:
    """The 12345 platform's copy of a step (签收, 退单, 答复 …): plain data, no template."""
    payload = message.payload
    try:
        body = {
            "event": HOTLINE_REPLY, "case_no": payload["case_no"], "step": payload["action_label"],
            "state": payload["state_label"], "department": payload["department"],
            "occurred_at": payload["occurred_at"], "comment": payload.get("comment"),
            "fields": payload.get("fields") or {},
        }
    except KeyError as exc:
        raise TechnicalFailure(f"hotline.reply payload lacks {exc.args[0]!r}") from None
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return RenderedMessage(channel="webhook", notice="hotline_reply", text=text, fields=body,
                           case_no=body["case_no"])


class _Batch:
    """Shared state of one drain: what is in flight, the report, and the wake-up for the claimer."""

    def __init__(self, report: DispatchReport) -> None:
        self.report = report
        self.in_flight = 0
        self.changed = threading.Condition()


class _Sender:
    """One thread sending, in order, what is put in its inbox, and recording the outcomes itself in
    groups, so that no other thread has to wake up for every message."""

    def __init__(self, dispatcher: Dispatcher, route: str, worker: str, clock: Callable[[], datetime],
                 batch: _Batch, name: str) -> None:
        self.inbox: queue.SimpleQueue[tuple[OutboxMessage, datetime] | None] = queue.SimpleQueue()
        self._dispatcher = dispatcher
        self._route = route
        self._worker = worker
        self._clock = clock
        self._batch = batch
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        done: list[tuple[OutboxMessage, Outcome]] = []
        last_flush = time.monotonic()
        try:
            while True:
                try:
                    item = self.inbox.get_nowait() if done else self.inbox.get()
                except queue.Empty:
                    item = False  # nothing more for now: record what is done before waiting
                if item is None:
                    break
                if item:
                    message, send_by = item
                    done.append((message, self._dispatcher._deliver_safely(self._route, message, self._clock,
                                                                           send_by)))
                if done and (item is False or len(done) >= FLUSH_EVERY
                             or time.monotonic() - last_flush >= FLUSH_SECONDS):
                    self._record(done)
                    done, last_flush = [], time.monotonic()
            self._record(done)
        except BaseException as exc:  # noqa: BLE001 - reported by the claiming thread
            self.error = exc
            with self._batch.changed:
                self._batch.changed.notify_all()

    def _record(self, done: list[tuple[OutboxMessage, Outcome]]) -> None:
        if not done:
            return
        stuck = outbox.record_outcomes(self._dispatcher.rt, self._worker, [o for _, o in done],
                                       now=self._clock())
        batch = self._batch
        with batch.changed:
            for message, outcome in done:
                Dispatcher._count(message, outcome, batch.report)
            batch.report.lost += len(done) - stuck
            batch.in_flight -= len(done)
            batch.changed.notify_all()

    def stop(self) -> None:
        self.inbox.put(None)


class Dispatcher:
    def __init__(self, rt: Runtime, config: ChannelsConfig, pool: ChannelPool | None = None,
                 rng: Callable[[], float] = random.random) -> None:
        self.rt = rt
        self.config = config
        self.pool = pool or channel_pool(config)
        self._rng = rng

    def due(self, now: datetime | None = None) -> int:
        """The cheap poll: rows a batch would claim now."""
        count = outbox.due_count(self.rt, now=now)
        if self.config.hotline_reply_target:
            count += outbox.due_count(self.rt, kind="trigger", topics=[HOTLINE_REPLY], now=now)
        return count

    def run_batch(self, *, worker: str, limit: int | None = None,
                  now: datetime | None = None) -> DispatchReport:
        """Claim up to ``limit`` due rows, send them and record every outcome."""
        return self.drain(worker=worker, limit=limit, max_batches=1, now=now)

    def drain(self, *, worker: str, limit: int | None = None, max_batches: int = 100,
              now: datetime | None = None) -> DispatchReport:
        """Batches until one comes back short of ``limit`` (nothing more was due) or ``max_batches``.

        The next batch is claimed while the senders are still busy with the second half of the
        current one, so they do not stand idle during claims.
        """
        started = time.perf_counter()
        clock: Callable[[], datetime] = (lambda: now) if now is not None else self.rt.now
        limit = limit or self.config.batch_size
        batch = _Batch(DispatchReport(worker=worker))
        senders: dict[tuple[str, int], _Sender] = {}
        more = True
        try:
            while True:
                can_claim = more and batch.report.batches < max_batches
                threshold = limit // 2 if can_claim else 0
                with batch.changed:
                    batch.changed.wait_for(
                        lambda threshold=threshold: batch.in_flight <= threshold
                        or any(s.error for s in senders.values()), timeout=FLUSH_SECONDS)
                    failed = next((s.error for s in senders.values() if s.error), None)
                    if failed is not None:
                        raise RuntimeError("a dispatch sender failed") from failed
                    in_flight = batch.in_flight
                if can_claim and in_flight <= threshold:
                    messages = self._claim(worker, limit, clock)
                    more = len(messages) == limit
                    with batch.changed:
                        batch.report.batches += 1
                        batch.report.claimed += len(messages)
                        batch.in_flight += len(messages)
                    self._hand_out(messages, worker, clock, senders, batch)
                    continue
                if in_flight == 0 and not can_claim:
                    break
        finally:
            for sender in senders.values():
                sender.stop()
            for sender in senders.values():
                sender.thread.join()
        report = batch.report
        report.seconds = time.perf_counter() - started
        if report.claimed:
            log.info("dispatch %s: %s", worker, {k: v for k, v in report.to_dict().items() if v})
        return report

    def _claim(self, worker: str, limit: int, clock: Callable[[], datetime]) -> list[OutboxMessage]:
        claimed_at = clock()
        lease = self.config.lease_seconds
        messages = outbox.claim(self.rt, worker=worker, limit=limit, lease_seconds=lease, now=claimed_at)
        if self.config.hotline_reply_target and len(messages) < limit:
            messages += outbox.claim(self.rt, worker=worker, kind="trigger", topics=[HOTLINE_REPLY],
                                     limit=limit - len(messages), lease_seconds=lease, now=claimed_at)
        return messages

    def _hand_out(self, messages: list[OutboxMessage], worker: str, clock: Callable[[], datetime],
                  senders: dict[tuple[str, int], _Sender], batch: _Batch) -> None:
        if not messages:
            return
        lease = self.config.lease_seconds
        send_by = clock() + timedelta(seconds=max(lease - LEASE_MARGIN_S, lease / 2))
        count = max(1, self.config.senders_per_channel)
        for message in messages:
            route = self.config.route(message)
            with batch.changed:
                batch.report.by_route[route] = batch.report.by_route.get(route, 0) + 1
            # One case's notices stay on one sender, in order.
            shard = zlib.crc32((message.case_no or str(message.id)).encode()) % count
            sender = senders.get((route, shard))
            if sender is None:
                sender = senders[(route, shard)] = _Sender(self, route, worker, clock, batch,
                                                           f"gkflow-send-{route}-{shard}")
            sender.inbox.put((message, send_by))

    @staticmethod
    def _count(message: OutboxMessage, outcome: Outcome, report: DispatchReport) -> None:
        status = outcome.status
        if outcome.unattempt:
            report.held += 1
        elif status == outbox.DELIVERED:
            report.delivered += 1
        elif status == outbox.SENDING:
            report.accepted += 1
        elif status == outbox.TEMPORARY_FAILURE:
            report.retrying += 1
        elif status == outbox.DEAD:
            report.dead += 1
        else:
            report.failed += 1
        if outcome.last_error and not outcome.unattempt and len(report.errors) < 20:
            report.errors.append(f"#{message.id} {message.topic}/{message.channel}: {outcome.last_error}")

    def _deliver_safely(self, route: str, message: OutboxMessage, clock: Callable[[], datetime],
                        send_by: datetime) -> Outcome:
        try:
            return self._deliver(route, message, clock, send_by)
        except Exception as exc:  # noqa: BLE001 - one message's surprise must not stall the batch
            log.exception("dispatch: unexpected error on outbox row %s", message.id)
            reason = redact(f"{type(exc).__name__}: {exc}")[:300]
            return outbox.failed_outcome(message.id, status=outbox.TECHNICAL_FAILURE, error=reason)

    def _quiet_until(self, message: OutboxMessage, now: datetime) -> datetime | None:
        if (message.kind != "notice" or message.channel not in self.config.quiet_channels
                or message.topic not in APPLICANT_NOTICES):
            return None
        return release_time(now, self.config.quiet_timezone, self.config.quiet_start, self.config.quiet_end)

    def _deliver(self, route: str, message: OutboxMessage, clock: Callable[[], datetime],
                 send_by: datetime) -> Outcome:
        now = clock()
        if now >= send_by:
            return outbox.held_outcome(message.id, until=now)
        quiet_until = self._quiet_until(message, now)
        if quiet_until is not None:
            return outbox.held_outcome(message.id, until=quiet_until)
        try:
            if message.kind == "trigger":
                rendered = hotline_reply_message(message)
            else:
                rendered = render(message.topic, message.channel or "", message.payload,
                                  sms_signature=self.config.sms_signature)
            channel = self.pool.channel(route)
        except (RenderError, TechnicalFailure) as exc:
            return outbox.failed_outcome(message.id, status=outbox.TECHNICAL_FAILURE, error=exc.reason)
        limiter = None if route == SANDBOX else self.pool.limiter(rendered.channel)
        wait = self.config.rate_wait_seconds
        if limiter is not None and not limiter.acquire(timeout=wait):
            return outbox.held_outcome(message.id, until=clock() + timedelta(seconds=wait))
        recipient = message.recipient or (self.config.hotline_reply_target or "")
        try:
            receipt = channel.send(rendered, recipient, message.idempotency_key)
        except DeliveryError as exc:
            return self._failure(message, exc, clock())
        status = outbox.DELIVERED if receipt.status == Status.DELIVERED else outbox.SENDING
        return outbox.delivered_outcome(message.id, provider_ref=receipt.provider_ref, status=status,
                                        now=clock())

    def _failure(self, message: OutboxMessage, exc: DeliveryError, now: datetime) -> Outcome:
        status = status_for_error(exc).value
        log.warning("dispatch: %s/%s to %s: %s: %s", message.topic, message.channel,
                    mask_recipient(message.recipient or ""), status, exc.reason)
        if not isinstance(exc, TemporaryFailure):
            return outbox.failed_outcome(message.id, status=status, error=exc.reason)
        delay = next_attempt_delay(message.attempts, self.config.retry_base_s, self.config.retry_cap_s,
                                   self._rng)
        retry_at = now + timedelta(seconds=max(delay, exc.retry_after or 0))
        if give_up(message.retry_from, retry_at, self.config.retry_horizon_s):
            error = f"gave up after {message.attempts} attempt(s): {exc.reason}"
            return outbox.failed_outcome(message.id, status=outbox.DEAD, error=error)
        return outbox.failed_outcome(message.id, status=status, error=exc.reason, retry_at=retry_at)


# -- entry points ------------------------------------------------------------------------------


def dispatch_batch(rt: Runtime, *, worker: str, channels_config: ChannelsConfig, limit: int | None = None,
                   now: datetime | None = None) -> DispatchReport:
    """Claim up to ``limit`` due rows, send them and record every outcome."""
    return Dispatcher(rt, channels_config).run_batch(worker=worker, limit=limit, now=now)


def drain(rt: Runtime, *, worker: str, channels_config: ChannelsConfig, limit: int | None = None,
          max_batches: int = 100, now: datetime | None = None) -> DispatchReport:
    """Batches until one comes back short of ``limit`` (nothing more was due) or ``max_batches``."""
    return Dispatcher(rt, channels_config).drain(worker=worker, limit=limit, max_batches=max_batches, now=now)


def due_count(rt: Runtime, channels_config: ChannelsConfig, now: datetime | None = None) -> int:
    return Dispatcher(rt, channels_config).due(now)


def with_overrides(config: ChannelsConfig, **changes: Any) -> ChannelsConfig:
    """A copy with some settings changed (tests, `gkflow outbox dispatch --batch-size`)."""
    return replace(config, **changes)
