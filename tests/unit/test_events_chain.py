"""The hash chain detects every kind of tampering."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from gkflow.domain.events import GENESIS_HASH, EventRecord, event_hash, verify_chain


def chain(n: int) -> list[EventRecord]:
    events, prev = [], GENESIS_HASH
    at = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    for seq in range(1, n + 1):
        fields = {"k": str(seq)}
        h = event_hash(prev, "GK1", seq, f"a{seq}", None, "s", "u", "r", at, None, fields)
        events.append(EventRecord("GK1", seq, f"a{seq}", None, "s", "u", "r", at, None, fields, prev, h))
        prev, at = h, at + timedelta(hours=1)
    return events


def test_an_intact_chain_verifies():
    assert verify_chain(chain(5)) is None


def test_an_edited_comment_breaks_the_chain_at_that_event():
    events = chain(5)
    events[2] = replace(events[2], comment="edited")
    assert verify_chain(events).seq == 3


def test_a_removed_event_is_detected():
    events = chain(5)
    del events[1]
    assert verify_chain(events).seq == 3


def test_naive_and_aware_utc_times_hash_the_same():
    at = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    a = event_hash(GENESIS_HASH, "GK1", 1, "a", None, "s", "u", "r", at, None, {})
    b = event_hash(GENESIS_HASH, "GK1", 1, "a", None, "s", "u", "r", at.replace(tzinfo=None), None, {})
    assert a == b
