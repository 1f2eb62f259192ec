"""`gkflow audit verify`: walk every case's hash chain and report the first broken link."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select

from gkflow.db.models import CaseRow, EventRow, table_of
from gkflow.domain.events import ChainBreak, EventRecord, verify_chain
from gkflow.runtime import Runtime

cases_t = table_of(CaseRow)
events_t = table_of(EventRow)


@dataclass(frozen=True)
class AuditReport:
    cases: int
    events: int
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def verify_all(rt: Runtime, batch: int = 5000) -> AuditReport:
    """Stream events ordered by case and seq; also checks each case's head hash."""
    n_cases = n_events = 0
    with rt.engine.connect() as conn:
        heads = {
            case_id: (case_no, last_hash, last_seq)
            for case_id, case_no, last_hash, last_seq in conn.execute(
                select(cases_t.c.id, cases_t.c.case_no, cases_t.c.last_hash, cases_t.c.last_seq)
            )
        }
        result = conn.execution_options(yield_per=batch).execute(
            select(events_t).order_by(events_t.c.case_id, events_t.c.seq)
        ).mappings()
        current: list[EventRecord] = []
        seen: set[int] = set()
        current_id: int | None = None

        def check(case_id: int | None, records: list[EventRecord]) -> ChainBreak | None:
            if case_id is None:
                return None
            case_no, last_hash, last_seq = heads[case_id]
            broken = verify_chain(records)
            if broken:
                return broken
            if not records or records[-1].hash != last_hash or records[-1].seq != last_seq:
                return ChainBreak(case_no, records[-1].seq if records else 0,
                                  "the case's head does not match its last event (events missing?)")
            return None

        for row in result:
            if row["case_id"] != current_id:
                broken = check(current_id, current)
                if broken:
                    return AuditReport(n_cases, n_events, broken)
                heads_entry = heads.get(row["case_id"])
                current_id, current = row["case_id"], []
                seen.add(current_id)
                n_cases += 1
                if heads_entry is None:
                    return AuditReport(n_cases, n_events, ChainBreak(
                        "?", row["seq"], f"events of unknown case id {row['case_id']}"))
            n_events += 1
            current.append(EventRecord(
                case_no=heads[row["case_id"]][0], seq=row["seq"], action=row["action"],
                from_state=row["from_state"], to_state=row["to_state"], actor=row["actor"],
                role=row["role"], at=row["at"], comment=row["comment"],
                fields=json.loads(row["fields"] or "{}"), prev_hash=row["prev_hash"], hash=row["hash"],
                public_note=row["public_note"],
            ))
        broken = check(current_id, current)
        if broken:
            return AuditReport(n_cases, n_events, broken)
        missing = len(heads) - n_cases
        if missing:
            orphan = next(no for cid, (no, _, _) in heads.items() if cid not in seen)
            return AuditReport(n_cases, n_events, ChainBreak(orphan, 0, f"{missing} case(s) have no events"))
    return AuditReport(n_cases, n_events, None)
