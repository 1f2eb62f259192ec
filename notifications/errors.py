"""Every failure this package raises: one tree, each error with a human-readable ``reason``.

::

    NotificationError
    ├── RenderError                the message cannot be built: refuse it, do not retry
    │   ├── UnknownTemplate        no template for this notice on this channel
    │   ├── MissingTemplateValue   the context lacks a value a template needs (or is None where printed)
    │   ├── SmsTooLong             the SMS needs more parts than its template allows
    │   └── BrokenTemplate         syntax error, invalid JSON output, an exception inside the template
    └── DeliveryError              raised by Channel.send
        ├── TemporaryFailure       retry later: 5xx, 408, 429, timeouts, connection refused
        ├── PermanentFailure       the provider refused this message or recipient: do not retry
        └── TechnicalFailure       our bug: configuration, wrong channel, invalid idempotency key
"""

from __future__ import annotations


class NotificationError(Exception):
    """Base of every error raised by ``notifications``; ``reason`` is safe to log (no PII, no secrets)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class RenderError(NotificationError):
    def __init__(self, notice: str, channel: str, reason: str) -> None:
        super().__init__(f"{channel}/{notice}: {reason}")
        # args are the constructor's arguments so the error survives pickling (Prefect task results).
        self.args = (notice, channel, reason)
        self.notice = notice
        self.channel = channel


class UnknownTemplate(RenderError):
    def __init__(self, notice: str, channel: str) -> None:
        super().__init__(notice, channel, "no template for this notice on this channel")
        self.args = (notice, channel)


class MissingTemplateValue(RenderError):
    def __init__(self, notice: str, channel: str, name: str) -> None:
        super().__init__(notice, channel, f"missing value {name!r}; refusing to send a message with a blank")
        self.args = (notice, channel, name)
        self.name = name


class SmsTooLong(RenderError):
    def __init__(self, notice: str, parts: int, max_parts: int) -> None:
        super().__init__(notice, "sms", f"text needs {parts} SMS parts, the template allows {max_parts}")
        self.args = (notice, parts, max_parts)
        self.parts = parts
        self.max_parts = max_parts


class BrokenTemplate(RenderError):
    pass


class DeliveryError(NotificationError):
    pass


class TemporaryFailure(DeliveryError):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.args = (reason, retry_after)
        # Seconds the provider asked us to wait (Retry-After), if it said.
        self.retry_after = retry_after


class PermanentFailure(DeliveryError):
    pass


class TechnicalFailure(DeliveryError):
    pass
