"""The chain over a case's history (办理记录): append-only, keyed, and tamper-evident.

Each event records the algorithm that seals it (`chain_alg`), so verification picks the right one:

- ``None`` (legacy, written before the keyed chain): SHA-256 over a fixed list of columns, no key.
  Anyone who can write the database can recompute it, so these chains are trusted only up to the
  heads that a signed checkpoint sealed (gkflow.services.checkpoints).
- ``"hmac-sm3"``: HMAC-SM3 under the key named by the event's `key_id`, over the canonical JSON of
  the *whole* event: every column but the row id, the case id and the MAC itself, with values that
  are None or empty left out. A column added later is covered as soon as an event sets it, and
  older events keep verifying. The first event (the submission) also covers the case's identity
  columns (applicant, item, query-code hash, receipt), so an edit of those in `cases` breaks it.

The MAC itself is computed outside the domain (the domain imports only the standard library): the
caller hands in a `ChainKeys`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

GENESIS_HASH = "0" * 64
LEGACY_ALG = None  # the stored value of chain_alg for the unkeyed SHA-256 chain
HMAC_SM3 = "hmac-sm3"

# Columns of `events` that are not part of the sealed content: the row id, the case's row id (the
# case number stands for it), and the MAC.
UNSEALED_COLUMNS = frozenset({"id", "case_id", "hash"})
# Columns holding JSON text: sealed as the parsed value, so a reformatting database does not break it.
JSON_COLUMNS = frozenset({"fields"})
# Columns of the case row that never change after submission; the first event seals them. The
# query code's hash is not one of them (找回查询码 replaces it): the events that set it record it in
# their own `query_hash` column, which their MAC covers (checked by the audit).
IDENTITY_COLUMNS = (
    "case_no", "item_code", "item_version", "department", "applicant_name",
    "applicant_phone", "applicant_id_number", "applicant_email", "applicant_wechat",
    "intake_channel", "fields", "received_at", "received_on",
)


class ChainKeys(Protocol):
    """The HMAC keys of the chain: the current one signs, retired ones still verify."""

    @property
    def current_key_id(self) -> str: ...

    def mac(self, key_id: str, message: bytes) -> str:
        """Hex HMAC-SM3 of ``message`` under ``key_id``; KeyError for an unknown key id."""
        ...


def canonical_time(at: datetime) -> str:
    """One spelling of an instant for hashing, whatever the database hands back."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical_value(column: str, value: Any) -> Any:
    if column in JSON_COLUMNS and isinstance(value, str):
        return json.loads(value)
    if isinstance(value, datetime):
        return canonical_time(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _sealed(mapping: Mapping[str, Any], skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column, value in mapping.items():
        if column in skip or value is None:
            continue
        value = _canonical_value(column, value)
        if value == "" or value == {} or value == []:
            continue
        out[column] = value
    return out


def canonical_event(
    event: Mapping[str, Any], case_no: str, identity: Mapping[str, Any] | None = None
) -> bytes:
    """The bytes an `hmac-sm3` MAC covers: the event's sealed columns (and, for the first event,
    the case's identity columns) as sorted, compact JSON."""
    content = _sealed(event, UNSEALED_COLUMNS)
    content["case_no"] = case_no
    if identity is not None:
        content["case"] = _sealed({k: identity.get(k) for k in IDENTITY_COLUMNS})
    return json.dumps(content, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def seal_event(
    keys: ChainKeys, event: dict[str, Any], case_no: str, identity: Mapping[str, Any] | None = None
) -> str:
    """Stamp ``event`` (a row about to be inserted, with its prev_hash) with the current key and
    return its MAC, which is also stored in ``event["hash"]``."""
    event["chain_alg"] = HMAC_SM3
    event["key_id"] = keys.current_key_id
    event.pop("hash", None)
    mac = keys.mac(keys.current_key_id, canonical_event(event, case_no, identity))
    event["hash"] = mac
    return mac


def legacy_event_hash(
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
) -> str:
    """The unkeyed SHA-256 of the first chain (events whose chain_alg is NULL)."""
    body = json.dumps(
        [case_no, seq, action, from_state, to_state, actor, role, canonical_time(at), comment,
         dict(fields)],
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _legacy_hash_of(event: Mapping[str, Any], case_no: str) -> str:
    fields = event.get("fields") or "{}"
    return legacy_event_hash(
        event["prev_hash"], case_no, event["seq"], event["action"], event["from_state"],
        event["to_state"], event["actor"], event["role"], event["at"], event["comment"],
        json.loads(fields) if isinstance(fields, str) else fields,
    )


@dataclass(frozen=True)
class ChainBreak:
    case_no: str
    seq: int
    reason: str


def verify_chain(
    events: Iterable[Mapping[str, Any]],
    case_no: str,
    keys: ChainKeys,
    *,
    identity: Mapping[str, Any] | None = None,
    legacy_sealed_through: int | None = None,
) -> ChainBreak | None:
    """The first broken link of one case's events (rows ordered by seq), or None.

    ``identity`` is the case row (its identity columns are sealed by a keyed first event).
    ``legacy_sealed_through``: unkeyed events are accepted up to this seq (the head a checkpoint
    sealed); None accepts them all (no checkpoint yet). A keyed event is never followed by an
    unkeyed one.
    """
    prev = GENESIS_HASH
    expected_seq = 1
    keyed_seen = False
    for ev in events:
        seq = ev["seq"]
        if seq != expected_seq:
            return ChainBreak(case_no, seq, f"expected event #{expected_seq}, found #{seq}")
        if ev["prev_hash"] != prev:
            return ChainBreak(case_no, seq, "prev_hash does not match the previous event")
        alg = ev.get("chain_alg")
        if alg == HMAC_SM3:
            keyed_seen = True
            key_id = ev.get("key_id") or ""
            message = canonical_event(ev, case_no, identity if seq == 1 else None)
            try:
                recomputed = keys.mac(key_id, message)
            except KeyError:
                return ChainBreak(case_no, seq, f"sealed with unknown key id {key_id!r} "
                                                "(a retired key must stay configured to verify)")
            if recomputed != ev["hash"]:
                what = ("content (or the case's applicant, item or receipt columns) does not match "
                        "its MAC" if seq == 1 else "content does not match its MAC")
                return ChainBreak(case_no, seq, what)
        elif alg is LEGACY_ALG:
            if keyed_seen:
                return ChainBreak(case_no, seq, "an unkeyed event after a keyed one (downgraded)")
            if legacy_sealed_through is not None and seq > legacy_sealed_through:
                return ChainBreak(case_no, seq, "an unkeyed event written after the checkpoint "
                                                "that sealed the unkeyed chains")
            if _legacy_hash_of(ev, case_no) != ev["hash"]:
                return ChainBreak(case_no, seq, "content does not match its hash")
        else:
            return ChainBreak(case_no, seq, f"unknown chain algorithm {alg!r}")
        prev = ev["hash"]
        expected_seq += 1
    return None
