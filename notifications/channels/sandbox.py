"""The local inbox: each message becomes one JSON file, the embedded default channel.

The file is named after the idempotency key, so sending the same message again overwrites it:
the inbox shows what a recipient would have received, once. Writes are atomic (temp file +
rename), so a reader never sees half a message. Three recipients simulate provider outcomes,
like the test numbers of GOV.UK Notify, so the retry path can be exercised without a provider.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from notifications.errors import PermanentFailure, TechnicalFailure, TemporaryFailure
from notifications.masking import mask_recipient
from notifications.message import RenderedMessage, SendReceipt
from notifications.policy import Status

SIMULATE_TEMPORARY_FAILURE = "simulate-temporary-failure"
SIMULATE_PERMANENT_FAILURE = "simulate-permanent-failure"
SIMULATE_TECHNICAL_FAILURE = "simulate-technical-failure"
_SIMULATED = {
    SIMULATE_TEMPORARY_FAILURE: TemporaryFailure,
    SIMULATE_PERMANENT_FAILURE: PermanentFailure,
    SIMULATE_TECHNICAL_FAILURE: TechnicalFailure,
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def inbox_filename(idempotency_key: str) -> str:
    """A readable, collision-free file name: sanitised key plus a digest of the exact key."""
    readable = _UNSAFE.sub("_", idempotency_key).strip("._")[:80] or "message"
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:16]
    return f"{readable}-{digest}.json"


class SandboxChannel:
    name = "sandbox"

    def __init__(self, inbox_dir: str | os.PathLike[str], clock: Callable[[], datetime] = _utcnow):
        self.inbox_dir = Path(inbox_dir)
        self._clock = clock

    def send(self, message: RenderedMessage, recipient: str, idempotency_key: str) -> SendReceipt:
        # Any rendering is accepted: the embedded setup may route every channel here.
        if not idempotency_key:
            raise TechnicalFailure("idempotency key must not be empty")
        simulated = _SIMULATED.get(recipient.strip())
        if simulated is not None:
            raise simulated(f"simulated by the sandbox recipient {recipient.strip()!r}")
        record: dict[str, Any] = {
            "idempotency_key": idempotency_key,
            "channel": message.channel,
            "notice": message.notice,
            "case_no": message.case_no,
            "recipient": mask_recipient(recipient),
            "subject": message.subject,
            "text": message.text,
            "html": message.html,
            "fields": message.fields,
            "sms_parts": message.sms_parts,
            "stored_at": self._clock().astimezone(UTC).isoformat(timespec="microseconds"),
        }
        name = inbox_filename(idempotency_key)
        try:
            self.inbox_dir.mkdir(parents=True, exist_ok=True)
            _write_atomically(self.inbox_dir / name, json.dumps(record, ensure_ascii=False, indent=2))
        except OSError as exc:
            raise TechnicalFailure(f"cannot write the sandbox inbox: {exc}") from exc
        return SendReceipt(provider_ref=name, status=Status.DELIVERED)


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_inbox(
    inbox_dir: str | os.PathLike[str], case_no: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Stored messages, newest first, optionally only those of one case."""
    directory = Path(inbox_dir)
    if not directory.is_dir():
        return []
    records: list[dict[str, Any]] = []
    for path in directory.glob("*.json"):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # removed meanwhile, or not ours
        if not isinstance(record, dict) or "stored_at" not in record:
            continue
        if case_no is None or record.get("case_no") == case_no:
            records.append(record)
    records.sort(key=lambda r: (str(r["stored_at"]), str(r.get("idempotency_key"))), reverse=True)
    return records[: max(limit, 0)]
