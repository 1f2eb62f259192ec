"""The one interface every channel implements, and checks they share."""

from __future__ import annotations

import re
from typing import Protocol, runtime_checkable

from notifications.errors import TechnicalFailure
from notifications.message import RenderedMessage, SendReceipt

# Travels as an HTTP header and names a file: printable ASCII without spaces, bounded.
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")


@runtime_checkable
class Channel(Protocol):
    """Sends a rendered message to one recipient.

    ``send`` returns a SendReceipt or raises TemporaryFailure (retry later), PermanentFailure
    (do not retry) or TechnicalFailure (our bug). Sending again with the same idempotency key
    must not produce a second message where the provider lets us prevent it.
    """

    name: str

    def send(self, message: RenderedMessage, recipient: str, idempotency_key: str) -> SendReceipt: ...


def check_message(channel: str, message: RenderedMessage, idempotency_key: str) -> None:
    """Refuse, as our bug, a message rendered for another channel or an unusable key."""
    if message.channel != channel:
        raise TechnicalFailure(
            f"{channel} channel got a message rendered for {message.channel!r} ({message.notice})"
        )
    if not _IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        raise TechnicalFailure("idempotency key must be 1-200 printable ASCII characters")
