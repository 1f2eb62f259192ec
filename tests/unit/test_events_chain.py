"""The chain detects every kind of tampering: keyed (HMAC-SM3) events, the unkeyed SHA-256 events
written before keys, and a mixture of both."""

from __future__ import annotations

import base64
import hmac as std_hmac
import json
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import hashes, hmac

from gkflow.domain.events import (
    GENESIS_HASH,
    HMAC_SM3,
    canonical_event,
    legacy_event_hash,
    seal_event,
    verify_chain,
)
from gkflow.integrity.keys import ChainKeyring, parse_key

KEY = b"k" * 32
KEYS = ChainKeyring({"k1": KEY}, "k1")
CASE = {"case_no": "GK1", "query_hash": "q", "item_code": "it", "item_version": 1, "department": "d",
        "applicant_name": "张三", "applicant_phone": "13912345678", "intake_channel": "window",
        "fields": "{}", "received_at": datetime(2026, 3, 2, 1, 30, tzinfo=UTC)}


def keyed_chain(n: int, keys: ChainKeyring = KEYS) -> list[dict]:
    events, prev = [], GENESIS_HASH
    at = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    for seq in range(1, n + 1):
        event = {"seq": seq, "action": f"a{seq}", "from_state": None, "to_state": "s", "actor": "u",
                 "role": "r", "at": at, "comment": None, "fields": json.dumps({"k": str(seq)}),
                 "prev_hash": prev}
        prev = seal_event(keys, event, "GK1", identity=CASE if seq == 1 else None)
        events.append(event)
        at += timedelta(hours=1)
    return events


def legacy_chain(n: int) -> list[dict]:
    events, prev = [], GENESIS_HASH
    at = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    for seq in range(1, n + 1):
        fields = {"k": str(seq)}
        h = legacy_event_hash(prev, "GK1", seq, f"a{seq}", None, "s", "u", "r", at, None, fields)
        events.append({"seq": seq, "action": f"a{seq}", "from_state": None, "to_state": "s", "actor": "u",
                       "role": "r", "at": at, "comment": None, "fields": json.dumps(fields),
                       "prev_hash": prev, "hash": h, "chain_alg": None, "key_id": None})
        prev, at = h, at + timedelta(hours=1)
    return events


def verify(events, **kw):
    return verify_chain(events, "GK1", KEYS, identity=CASE, **kw)


def test_an_intact_keyed_chain_verifies_and_records_its_algorithm_and_key():
    events = keyed_chain(5)
    assert verify(events) is None
    assert {(e["chain_alg"], e["key_id"]) for e in events} == {(HMAC_SM3, "k1")}


def test_the_mac_is_hmac_sm3_over_the_canonical_event():
    event = keyed_chain(2)[1]
    h = hmac.HMAC(KEY, hashes.SM3())
    h.update(canonical_event(event, "GK1"))
    assert h.finalize().hex() == event["hash"]
    # and SHA-256 under the same key would not match: the algorithm is really SM3
    assert std_hmac.new(KEY, canonical_event(event, "GK1"), "sha256").hexdigest() != event["hash"]


def test_an_edit_recomputed_without_the_key_is_caught():
    events = keyed_chain(5)
    events[2]["comment"] = "edited"
    # an insider recomputes the chain with a guessed key: still broken at the edited event
    forged = ChainKeyring({"k1": b"x" * 32}, "k1")
    for e in events[2:]:
        e["prev_hash"] = events[e["seq"] - 2]["hash"]
        seal_event(forged, e, "GK1")
    assert verify(events).seq == 3


def test_a_new_column_set_later_is_covered_and_old_events_still_verify():
    events = keyed_chain(3)
    events[0]["public_note"] = None  # a column added by a later migration: NULL on old rows
    assert verify(events) is None
    events[1]["public_note"] = "已寄出"  # set by an insider on an existing event
    assert verify(events).seq == 2


def test_an_edit_of_the_applicant_in_the_case_row_breaks_the_first_event():
    events = keyed_chain(3)
    assert verify_chain(events, "GK1", KEYS, identity={**CASE, "applicant_name": "李四"}).seq == 1


def test_a_removed_event_is_detected():
    events = keyed_chain(5)
    del events[1]
    assert verify(events).seq == 3


def test_an_event_under_an_unknown_key_is_refused_and_a_retired_key_still_verifies():
    old = keyed_chain(2)
    new_ring = ChainKeyring({"k2": b"n" * 32}, "k2")
    assert "unknown key id 'k1'" in verify_chain(old, "GK1", new_ring, identity=CASE).reason
    rotated = ChainKeyring({"k1": KEY, "k2": b"n" * 32}, "k2")
    assert verify_chain(old, "GK1", rotated, identity=CASE) is None


def test_unkeyed_chains_verify_until_a_checkpoint_seals_them():
    events = legacy_chain(4)
    assert verify(events) is None
    assert verify(events, legacy_sealed_through=4) is None
    assert "after the checkpoint" in verify(events, legacy_sealed_through=3).reason
    events[1]["comment"] = "edited"
    assert verify(events).seq == 2


def test_a_keyed_chain_may_continue_an_unkeyed_one_but_never_the_reverse():
    events = legacy_chain(2)
    event = {"seq": 3, "action": "a3", "from_state": None, "to_state": "s", "actor": "u", "role": "r",
             "at": datetime(2026, 3, 3, tzinfo=UTC), "comment": None, "fields": "{}",
             "prev_hash": events[-1]["hash"]}
    seal_event(KEYS, event, "GK1")
    assert verify(events + [event]) is None
    downgrade = legacy_chain(4)[3:]
    downgrade[0]["prev_hash"] = event["hash"]
    assert "downgraded" in verify(events + [event] + downgrade).reason


def test_naive_and_aware_utc_times_hash_the_same():
    at = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    a = legacy_event_hash(GENESIS_HASH, "GK1", 1, "a", None, "s", "u", "r", at, None, {})
    b = legacy_event_hash(GENESIS_HASH, "GK1", 1, "a", None, "s", "u", "r", at.replace(tzinfo=None), None, {})
    assert a == b
    e1 = {"seq": 1, "at": at, "prev_hash": GENESIS_HASH}
    e2 = {"seq": 1, "at": at.replace(tzinfo=None), "prev_hash": GENESIS_HASH}
    assert canonical_event(e1, "GK1") == canonical_event(e2, "GK1")


def test_a_short_or_malformed_key_is_refused_with_where_it_came_from():
    import pytest

    from gkflow.domain.errors import InvalidConfig

    with pytest.raises(InvalidConfig, match="GKFLOW_CHAIN_KEY: key 'k1' has 16 bytes"):
        parse_key("k1:" + base64.b64encode(b"s" * 16).decode(), "GKFLOW_CHAIN_KEY")
    with pytest.raises(InvalidConfig, match="ID:BASE64"):
        parse_key("no-colon-here", "GKFLOW_CHAIN_KEY")
