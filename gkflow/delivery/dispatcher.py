"""Deliver due outbox rows (DESIGN.md section 4, step 3): claim, render, send, record.

A batch is claimed with a lease (gkflow.delivery.outbox), rendered with the notifications templates, sent
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

import functools
import logging
import os
import queue
import random
import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gkflow.delivery import outbox
from gkflow.delivery.config import SANDBOX, ChannelsConfig
from gkflow.delivery.hotline import HOTLINE_REPLY, hotline_reply_message
from gkflow.delivery.outbox import OutboxMessage, Outcome
from gkflow.delivery.pool import ChannelPool, channel_pool
from gkflow.runtime import Runtime
from notifications.errors import DeliveryError, RenderError, TechnicalFailure, TemporaryFailure
from notifications.masking import mask_recipient, redact
from notifications.notices import APPLICANT_NOTICES
from notifications.policy import Status, give_up, next_attempt_delay, release_time, status_for_error
from notifications.render import render

log = logging.getLogger("gkflow.dispatch")

# Outcomes are written in groups: fewer commits, and a crash re-sends at most this many (same keys).
FLUSH_EVERY = 50
FLUSH_SECONDS = 0.25
# A message not yet sent this close to its lease's end is given back rather than risk a second sender.
LEASE_MARGIN_S = 15.0


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


class _Batch:
    """Shared state of one drain: what is in flight, the report, and the wake-up for the claimer."""

    def __init__(self, report: DispatchReport) -> None:
        self.report = report
        self.in_flight = 0
        self.changed = threading.Condition()


def _settled(batch: _Batch, senders: dict[tuple[str, int], _Sender], threshold: int) -> bool:
    """Whether few enough messages are in flight to claim more, or a sender failed."""
    return batch.in_flight <= threshold or any(s.error for s in senders.values())


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
                idle = False  # nothing more for now: record what is done before waiting
                item: tuple[OutboxMessage, datetime] | None = None
                try:
                    item = self.inbox.get_nowait() if done else self.inbox.get()
                except queue.Empty:
                    idle = True
                if item is None and not idle:
                    break
                if item is not None:
                    message, send_by = item
                    done.append((message, self._dispatcher._deliver_safely(self._route, message, self._clock,
                                                                           send_by)))
                if done and (idle or len(done) >= FLUSH_EVERY
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
                        functools.partial(_settled, batch, senders, threshold), timeout=FLUSH_SECONDS)
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
