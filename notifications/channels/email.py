"""E-mail over SMTP: multipart/alternative (plain text + HTML), one connection per message.

SMTP has no idempotency key; the Message-ID is derived from it instead, so a retried message
is recognisably the same one. A message the server accepted is reported ``delivered``: there
is no delivery callback to wait for.
"""

from __future__ import annotations

import contextlib
import hashlib
import smtplib
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from notifications.channels.base import check_message
from notifications.errors import (
    DeliveryError,
    PermanentFailure,
    TechnicalFailure,
    TemporaryFailure,
)
from notifications.masking import mask_recipient, redact
from notifications.message import RenderedMessage, SendReceipt
from notifications.policy import Status

# 7bit forces base64/quoted-printable bodies, which every relay accepts (no 8BITMIME needed).
_POLICY = policy.SMTP.clone(cte_type="7bit")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def message_id(idempotency_key: str, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "gkflow.invalid"
    return f"<{hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]}@{domain}>"


def _valid_address(recipient: str) -> str:
    address = recipient.strip()
    local, at, domain = address.rpartition("@")
    if not (at and local and "." in domain) or any(c in address for c in " \r\n<>,;"):
        raise PermanentFailure(f"invalid recipient {mask_recipient(recipient)}: not an address")
    return address


class EmailChannel:
    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.starttls = starttls
        self.username = username
        self.timeout = timeout
        self._password = password
        self._clock = clock

    def send(self, message: RenderedMessage, recipient: str, idempotency_key: str) -> SendReceipt:
        check_message(self.name, message, idempotency_key)
        email = self.build(message, _valid_address(recipient), idempotency_key)
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except (smtplib.SMTPException, OSError) as exc:
            raise self._classify(exc) from None
        try:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self._password or "")
            smtp.send_message(email)
        except (smtplib.SMTPException, OSError) as exc:
            raise self._classify(exc) from None
        finally:
            # A failing QUIT after an accepted message must not turn into a resend.
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()
            smtp.close()
        return SendReceipt(provider_ref=email["Message-ID"], status=Status.DELIVERED)

    def build(self, message: RenderedMessage, address: str, idempotency_key: str) -> EmailMessage:
        email = EmailMessage(policy=_POLICY)
        email["Subject"] = message.subject or message.notice
        email["From"] = self.sender
        email["To"] = address
        email["Date"] = format_datetime(self._clock())
        email["Message-ID"] = message_id(idempotency_key, self.sender)
        email.set_content(message.text)
        if message.html:
            email.add_alternative(message.html, subtype="html")
        return email

    def _classify(self, exc: BaseException) -> DeliveryError:
        secrets = (self._password or "",)
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            code, answer = next(iter(exc.recipients.values()), (0, b""))
            reason = redact(f"recipient refused: {code} {_text(answer)}")
            return PermanentFailure(reason) if code >= 500 else TemporaryFailure(reason)
        if isinstance(exc, smtplib.SMTPAuthenticationError | smtplib.SMTPNotSupportedError):
            return TechnicalFailure(redact(f"SMTP configuration: {exc}", secrets))
        if isinstance(exc, smtplib.SMTPSenderRefused):
            return TechnicalFailure(f"sender refused: {exc.smtp_code} {_text(exc.smtp_error)}")
        if isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500:
            return PermanentFailure(redact(f"message refused: {exc.smtp_code} {_text(exc.smtp_error)}"))
        if isinstance(exc, ssl.SSLError):
            return TechnicalFailure(f"TLS failure: {exc}")
        if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPResponseException | OSError):
            return TemporaryFailure(redact(f"{type(exc).__name__}: {exc}", secrets))
        return TechnicalFailure(redact(f"{type(exc).__name__}: {exc}", secrets))


def _text(answer: bytes | str) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else answer
