"""`gkflow audit verify`: every case's chain, the latest checkpoint, and the case rows replayed.

Three questions, case by case (cases and events are streamed side by side, ordered by case id):
1. Is the chain intact? Each event's MAC under its key (or, for the unkeyed chain written before
   keys, its SHA-256 up to the head the first checkpoint sealed), and the case's head.
2. Does it still hold what the latest signed checkpoint sealed? A truncated or rewritten tail, or a
   deleted case, shows up here even if whoever did it could recompute hashes.
3. Does the case row say what its history says? The events are replayed through the item's rules
   and the calendar, and every column they determine (state, version, clocks, due dates …) is
   compared with the row, naming the case and the field.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from gkflow.db.case_rows import cases_t, events_t
from gkflow.domain.errors import CorruptRecord, GkflowError
from gkflow.domain.events import LEGACY_ALG, ChainBreak, canonical_time, verify_chain
from gkflow.domain.replay import replay, step_of
from gkflow.runtime import Runtime
from gkflow.services.checkpoints import Checkpoint, first_and_latest

# Mismatches listed in a report at most (the first ones; the count is complete).
MAX_LISTED = 100


@dataclass(frozen=True)
class RowMismatch:
    case_no: str
    field: str
    stored: str | None
    history: str | None


@dataclass
class AuditReport:
    cases: int = 0
    events: int = 0
    breaks: list[ChainBreak] = field(default_factory=list)
    mismatches: list[RowMismatch] = field(default_factory=list)
    mismatch_count: int = 0
    checkpoint: dict[str, Any] | None = None  # the latest checkpoint's statement
    unsealed_legacy_events: int = 0  # unkeyed events while no checkpoint seals them yet

    @property
    def ok(self) -> bool:
        return not self.breaks and not self.mismatch_count

    @property
    def first_break(self) -> ChainBreak | None:
        return self.breaks[0] if self.breaks else None


def _shown(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return canonical_time(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _same(stored: Any, replayed: Any) -> bool:
    if isinstance(stored, datetime) or isinstance(replayed, datetime):
        return _shown(stored) == _shown(replayed)
    if isinstance(replayed, bool):
        return bool(stored) == replayed
    return bool(stored == replayed)


def _events_by_case(rt: Runtime, batch: int) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    with rt.engine.connect() as conn:
        result = conn.execution_options(yield_per=batch).execute(
            select(events_t).order_by(events_t.c.case_id, events_t.c.seq)).mappings()
        current: list[dict[str, Any]] = []
        current_id: int | None = None
        for row in result:
            if row["case_id"] != current_id:
                if current_id is not None:
                    yield current_id, current
                current_id, current = row["case_id"], []
            current.append(dict(row))
        if current_id is not None:
            yield current_id, current


def verify_all(rt: Runtime, batch: int = 2000) -> AuditReport:
    """Check every chain, the latest checkpoint and every case row; the report lists what is wrong."""
    keys = rt.keyring
    report = AuditReport()
    try:
        first, latest = first_and_latest(rt.settings)
    except CorruptRecord as exc:
        report.breaks.append(ChainBreak("-", 0, exc.message))
        first = latest = None
    report.checkpoint = latest.statement if latest else None
    sealed_seen: set[str] = set()
    events_iter = _events_by_case(rt, batch)
    pending = next(events_iter, None)
    with rt.engine.connect() as conn:
        cases = conn.execution_options(yield_per=batch).execute(
            select(cases_t).order_by(cases_t.c.id)).mappings()
        for case_row in cases:
            row = dict(case_row)
            while pending is not None and pending[0] < row["id"]:
                report.breaks.append(ChainBreak("?", pending[1][0]["seq"],
                                                f"events of unknown case id {pending[0]}"))
                pending = next(events_iter, None)
            events: list[dict[str, Any]] = []
            if pending is not None and pending[0] == row["id"]:
                events = pending[1]
                pending = next(events_iter, None)
            report.cases += 1
            report.events += len(events)
            sealed_seen.add(row["case_no"])
            _check_case(rt, keys, row, events, first, latest, report)
    while pending is not None:
        report.breaks.append(ChainBreak("?", pending[1][0]["seq"], f"events of unknown case id {pending[0]}"))
        pending = next(events_iter, None)
    if latest is not None:
        gone = sorted(set(latest.heads) - sealed_seen)
        for case_no in gone[:MAX_LISTED]:
            report.breaks.append(ChainBreak(case_no, latest.heads[case_no][0],
                                            f"the case is gone: checkpoint #{latest.number} sealed it"))
    return report


def _check_case(rt: Runtime, keys: Any, row: dict[str, Any], events: list[dict[str, Any]],
                first: Checkpoint | None, latest: Checkpoint | None, report: AuditReport) -> None:
    case_no = row["case_no"]
    if not events:
        report.breaks.append(ChainBreak(case_no, 0, "the case has no events"))
        return
    legacy_limit = None
    if first is not None:
        legacy_limit = first.heads.get(case_no, (0, ""))[0]
    elif any(ev.get("chain_alg") is LEGACY_ALG for ev in events):
        report.unsealed_legacy_events += sum(1 for ev in events if ev.get("chain_alg") is LEGACY_ALG)
    broken = verify_chain(events, case_no, keys, identity=row, legacy_sealed_through=legacy_limit)
    if broken:
        report.breaks.append(broken)
        return
    last = events[-1]
    if last["hash"] != row["last_hash"] or last["seq"] != row["last_seq"]:
        report.breaks.append(ChainBreak(case_no, last["seq"], "the case's head does not match its last "
                                                              f"event (the row says #{row['last_seq']})"))
        return
    if latest is not None and case_no in latest.heads:
        seq, head = latest.heads[case_no]
        if len(events) < seq:
            report.breaks.append(ChainBreak(case_no, len(events) + 1, f"events #{len(events) + 1}-#{seq} are "
                                            f"missing: checkpoint #{latest.number} sealed #{seq}"))
            return
        if events[seq - 1]["hash"] != head:
            report.breaks.append(ChainBreak(case_no, seq, f"event #{seq} differs from what checkpoint "
                                                          f"#{latest.number} sealed (rewritten)"))
            return
    recorded = [ev["query_hash"] for ev in events if ev.get("query_hash")]
    if recorded and recorded[-1] != row["query_hash"]:
        report.mismatch_count += 1
        if len(report.mismatches) < MAX_LISTED:
            report.mismatches.append(
                RowMismatch(case_no, "query_hash", "(changed)", "(as its history set it)"))
    _compare_with_history(rt, row, events, report)


def _compare_with_history(rt: Runtime, row: Mapping[str, Any], events: list[dict[str, Any]],
                          report: AuditReport) -> None:
    case_no = row["case_no"]
    try:
        item = rt.item(row["item_code"], row["item_version"])
        steps = [step_of(ev, rt.local_date(ev["at"])) for ev in events]
        expected = replay(item, row["received_on"], steps, rt.calendar).columns()
    except GkflowError as exc:
        report.mismatch_count += 1
        if len(report.mismatches) < MAX_LISTED:
            report.mismatches.append(RowMismatch(case_no, "history", None, exc.message))
        return
    for column, value in expected.items():
        if not _same(row[column], value):
            report.mismatch_count += 1
            if len(report.mismatches) < MAX_LISTED:
                report.mismatches.append(RowMismatch(case_no, column, _shown(row[column]), _shown(value)))
