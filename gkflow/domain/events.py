"""The hash chain over a case's history (办理记录): append-only and tamper-evident."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

GENESIS_HASH = "0" * 64


def canonical_time(at: datetime) -> str:
    """One spelling of an instant for hashing, whatever the database hands back."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class EventRecord:
    case_no: str
    seq: int
    action: str
    from_state: str | None
    to_state: str
    actor: str
    role: str
    at: datetime
    comment: str | None
    fields: Mapping[str, object]
    prev_hash: str
    hash: str = ""
    public_note: str | None = None


def event_hash(
    prev_hash: str,
    case_no: str,
    seq: int,
    action: str,
    from_state: str | None,
    to_state: str,
    actor: str,
    role: str,
    at: datetime,
    comment: str | None,
    fields: Mapping[str, object],
    *,
    public_note: str | None = None,
) -> str:
    """The hash of one event chained on ``prev_hash``. A note to the applicant joins the hashed content
    only when there is one, so events written before notes existed keep their hashes."""
    content: list[object] = [case_no, seq, action, from_state, to_state, actor, role, canonical_time(at),
                             comment, dict(fields)]
    if public_note is not None:
        content.append({"public_note": public_note})
    body = json.dumps(
        content,
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    case_no: str
    seq: int
    reason: str


def verify_chain(events: Iterable[EventRecord]) -> ChainBreak | None:
    """Return the first broken link of one case's events (ordered by seq), or None."""
    prev = GENESIS_HASH
    expected_seq = 1
    for ev in events:
        if ev.seq != expected_seq:
            return ChainBreak(ev.case_no, ev.seq, f"expected event #{expected_seq}, found #{ev.seq}")
        if ev.prev_hash != prev:
            return ChainBreak(ev.case_no, ev.seq, "prev_hash does not match the previous event")
        recomputed = event_hash(
            ev.prev_hash, ev.case_no, ev.seq, ev.action, ev.from_state, ev.to_state, ev.actor,
            ev.role, ev.at, ev.comment, ev.fields, public_note=ev.public_note,
        )
        if recomputed != ev.hash:
            return ChainBreak(ev.case_no, ev.seq, "content does not match its hash")
        prev = ev.hash
        expected_seq += 1
    return None
