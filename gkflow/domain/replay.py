"""Replay a case's history: the state, clocks and due dates its events give under a calendar.

`gkflow audit verify` compares the result with the stored case row (an edit of the row shows up as
a named field), and a calendar change recounts used days from the stop/resume events with it,
instead of keeping a count made under a provisional year.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from gkflow.domain.calendar import DueDate
from gkflow.domain.cases import ASSIGNEE_FIELD, CaseClocks, open_clocks, step_due
from gkflow.domain.deadlines import Calendar
from gkflow.domain.errors import CorruptRecord, GkflowError
from gkflow.domain.items import ItemVersion


@dataclass(frozen=True)
class ReplayStep:
    """One event as the replay needs it: ``on`` is its local (Asia/Shanghai) date."""

    seq: int
    action: str
    from_state: str | None
    to_state: str
    at: datetime
    on: date
    fields: Mapping[str, str]


@dataclass(frozen=True)
class Replayed:
    state: str
    version: int
    clocks: CaseClocks
    statutory_due: DueDate | None
    promised_due: DueDate | None
    step_seq: int
    step_entered_on: date
    step_due: DueDate | None
    closed_at: datetime | None
    assigned_department: str | None

    def columns(self) -> dict[str, Any]:
        """The case-row columns this history determines, as the row stores them."""
        clocks = self.clocks
        return {
            "state": self.state, "version": self.version, "last_seq": self.version,
            "clock_running": clocks.running, "extended": clocks.extended,
            "statutory_days": clocks.statutory.limit.days, "statutory_anchor": clocks.statutory.anchor,
            "statutory_used": clocks.statutory.used,
            "promised_days": clocks.promised.limit.days, "promised_anchor": clocks.promised.anchor,
            "promised_used": clocks.promised.used,
            **_due("statutory", self.statutory_due), **_due("promised", self.promised_due),
            "step_seq": self.step_seq, "step_entered_on": self.step_entered_on,
            **_due("step", self.step_due),
            "closed_at": self.closed_at, "assigned_department": self.assigned_department,
        }


class ReplayError(CorruptRecord):
    """The history itself cannot be replayed (an action its item does not allow from that state)."""

    def __init__(self, seq: int, message: str) -> None:
        super().__init__(message, seq=seq)
        self.seq = seq


def _due(prefix: str, due: DueDate | None) -> dict[str, Any]:
    return {f"{prefix}_due": due.date if due else None,
            f"{prefix}_due_provisional": bool(due and due.provisional)}


def step_of(event: Mapping[str, Any], on: date) -> ReplayStep:
    """A stored event row as a replay step (its fields parsed)."""
    fields = event.get("fields") or "{}"
    return ReplayStep(seq=event["seq"], action=event["action"], from_state=event["from_state"],
                      to_state=event["to_state"], at=event["at"], on=on,
                      fields=json.loads(fields) if isinstance(fields, str) else dict(fields))


def replay(item: ItemVersion, received_on: date, steps: Sequence[ReplayStep], calendar: Calendar) -> Replayed:
    """Run ``steps`` (ordered by seq, the first being the submission) through ``item``'s rules."""
    if not steps or steps[0].action != "submit":
        raise ReplayError(1, "the history does not start with the submission")
    state = item.initial_state
    if steps[0].to_state != state:
        raise ReplayError(1, f"the submission enters '{steps[0].to_state}', not '{state}'")
    clocks = open_clocks(item, received_on)
    step_seq, entered_on = 1, received_on
    closed_at: datetime | None = None
    assigned: str | None = None
    for step in steps[1:]:
        transition = item.transitions.get(step.action)
        if transition is None:  # a system event (warning, rating, recomputed date): nothing moves
            if step.from_state != state or step.to_state != state:
                raise ReplayError(step.seq, f"event #{step.seq} '{step.action}' moves the case from "
                                            f"'{step.from_state}' to '{step.to_state}' while it was in "
                                            f"'{state}'")
            continue
        if state not in transition.sources or item.is_final(state):
            raise ReplayError(step.seq,
                              f"event #{step.seq} '{step.action}' is not allowed in state '{state}'")
        try:
            clocks = clocks.apply(transition.clock, step.on, calendar,
                                  extend_days=transition.extend_days or 0)
        except GkflowError as exc:
            raise ReplayError(step.seq, f"event #{step.seq} '{step.action}': {exc.message}") from None
        if transition.target != state:
            step_seq, entered_on = step.seq, step.on
        state = transition.target
        if item.is_final(state):
            closed_at = step.at
        if ASSIGNEE_FIELD in step.fields:
            assigned = step.fields[ASSIGNEE_FIELD]
    statutory, promised = clocks.dues(calendar)
    return Replayed(
        state=state, version=steps[-1].seq, clocks=clocks, statutory_due=statutory, promised_due=promised,
        step_seq=step_seq, step_entered_on=entered_on,
        step_due=step_due(item, state, entered_on, calendar), closed_at=closed_at,
        assigned_department=assigned,
    )
