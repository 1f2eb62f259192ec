"""The case state machine (办件流转): which transitions may fire, and what each one changes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from gkflow.domain.access import DEPARTMENT_FREE_ROLES
from gkflow.domain.calendar import DueDate
from gkflow.domain.deadlines import Calendar, LimitClock, add_days
from gkflow.domain.errors import Forbidden, InvalidInput, TransitionNotAllowed
from gkflow.domain.fields import ContactCheck, clean_values
from gkflow.domain.items import ClockEffect, FieldSpec, ItemVersion, Transition

# A transition field with this name assigns the case to a handling department (承办单位).
ASSIGNEE_FIELD = "assignee"
# A step dated more than this before the wall clock is back-dated (补录) and needs a reason: a few
# minutes cover the time it takes to type in what just happened at the window.
BACKDATE_TOLERANCE = timedelta(minutes=15)
BACKDATE_REASON_MAX = 500


@dataclass(frozen=True)
class Actor:
    user: str
    role: str
    department: str | None = None


@dataclass(frozen=True)
class CaseClocks:
    statutory: LimitClock
    promised: LimitClock
    extended: bool = False

    def dues(self, calendar: Calendar) -> tuple[DueDate | None, DueDate | None]:
        return self.statutory.due(calendar), self.promised.due(calendar)

    @property
    def running(self) -> bool:
        return self.statutory.running

    def apply(
        self, effect: ClockEffect | None, on: date, calendar: Calendar, *, extend_days: int = 0
    ) -> CaseClocks:
        """Both clocks after a step's clock effect on day ``on`` (an extension is allowed once)."""
        if effect is None:
            return self
        if effect is ClockEffect.STOP:
            return CaseClocks(
                self.statutory.stop(calendar, on), self.promised.stop(calendar, on), self.extended
            )
        if effect is ClockEffect.RESUME:
            return CaseClocks(self.statutory.resume(on), self.promised.resume(on), self.extended)
        if effect is ClockEffect.RESTART:
            return CaseClocks(self.statutory.restart(on), self.promised.restart(on), self.extended)
        if self.extended:
            raise TransitionNotAllowed("the time limit has already been extended once (只可延期一次)")
        return CaseClocks(
            self.statutory.extend(extend_days), self.promised.extend(extend_days), extended=True
        )


@dataclass(frozen=True)
class TransitionPlan:
    """What firing a transition changes: the new state, clocks and due dates, and the cleaned fields."""

    transition: Transition
    from_state: str
    to_state: str
    clocks: CaseClocks
    statutory_due: DueDate | None
    promised_due: DueDate | None
    step_due: DueDate | None
    closes: bool
    values: dict[str, str]


def open_clocks(item: ItemVersion, received_on: date) -> CaseClocks:
    """Both clocks of a new case, counting from the day after ``received_on``."""
    return CaseClocks(
        statutory=LimitClock(item.statutory_limit, anchor=received_on),
        promised=LimitClock(item.promised_limit, anchor=received_on),
    )


def step_due(item: ItemVersion, state: str, entered_on: date, calendar: Calendar) -> DueDate | None:
    """The due date of the step entered on ``entered_on``, if the state has its own limit."""
    limit = item.states[state].step_limit
    if limit is None:
        return None
    return add_days(calendar, limit.unit, entered_on, limit.days)


class _NoContactFields:
    """For callers whose forms hold no phone or e-mail fields: such a field is refused."""

    def phone(self, value: str) -> str | None:
        return None

    def email(self, value: str) -> str | None:
        return None


def clean_fields(
    specs: tuple[FieldSpec, ...], given: Mapping[str, object] | None, *, context_label: str,
    contacts: ContactCheck | None = None, materials: tuple[str, ...] = (),
) -> dict[str, str]:
    """Check the form fields of a step: every required one present, nothing unknown, each value valid."""
    return clean_values(specs, given, context_label=context_label,
                        contacts=contacts or _NoContactFields(), materials=materials)


def plan_transition(
    item: ItemVersion,
    state: str,
    clocks: CaseClocks,
    action: str,
    actor: Actor,
    *,
    fields: Mapping[str, object] | None,
    on: date,
    calendar: Calendar,
    case_department: str,
    assigned_department: str | None = None,
    contacts: ContactCheck | None = None,
) -> TransitionPlan:
    """Check that ``actor`` may fire ``action`` from ``state`` and work out what it changes.

    Raises TransitionNotAllowed (wrong state, a second extension), Forbidden (role or department)
    or InvalidInput (fields); nothing is written here.
    """
    allowed = [t.name for t in item.transitions_from(state)]
    transition = item.transitions.get(action)
    if item.is_final(state):
        raise TransitionNotAllowed(
            f"case is closed in final state '{state}'; no action is allowed",
            state=state, allowed=[],
        )
    if transition is None or state not in transition.sources:
        raise TransitionNotAllowed(
            f"action '{action}' is not allowed in state '{state}'; allowed: "
            f"{', '.join(allowed) or 'none'}",
            state=state, allowed=allowed,
        )
    if actor.role not in transition.roles:
        raise Forbidden(
            f"role '{actor.role}' may not '{action}'; allowed roles: {', '.join(transition.roles)}",
            roles=list(transition.roles),
        )
    if (
        actor.department
        and actor.role not in DEPARTMENT_FREE_ROLES
        and actor.department not in (case_department, assigned_department)
    ):
        raise Forbidden(
            f"department '{actor.department}' may not act on a case of '{case_department}'"
            + (f" assigned to '{assigned_department}'" if assigned_department else "")
        )
    values = clean_fields(transition.fields, fields, context_label=f"“{transition.label}”",
                          contacts=contacts, materials=item.material_names)
    try:
        new_clocks = clocks.apply(transition.clock, on, calendar, extend_days=transition.extend_days or 0)
    except TransitionNotAllowed as exc:
        raise TransitionNotAllowed(f"action '{action}': {exc.message}") from None
    statutory_due, promised_due = new_clocks.dues(calendar)
    return TransitionPlan(
        transition=transition,
        from_state=state,
        to_state=transition.target,
        clocks=new_clocks,
        statutory_due=statutory_due,
        promised_due=promised_due,
        step_due=step_due(item, transition.target, on, calendar),
        closes=item.is_final(transition.target),
        values=values,
    )


def check_step_time(
    at: datetime, *, previous_at: datetime | None, now: datetime, reason: str | None, tz: tzinfo
) -> str | None:
    """Ordered time: a step may not be dated before the case's previous event (hence its receipt);
    one dated well before ``now`` is back-dated and needs a reason. Returns the cleaned reason when
    back-dated, None otherwise; InvalidInput when refused."""
    if previous_at is not None and at < previous_at:
        raise InvalidInput(
            f"the step is dated {_local(at, tz)}, before the case's previous event "
            f"({_local(previous_at, tz)}); steps are recorded in the order they happened",
            fields=["at"],
        )
    if at >= now - BACKDATE_TOLERANCE:
        return None
    cleaned = (reason or "").strip()
    if not cleaned:
        raise InvalidInput(
            f"the step is dated {_local(at, tz)}, earlier than now: a back-dated entry (补录) needs a "
            "reason (e.g. 根据纸质记录补录)", fields=["backdate_reason"],
        )
    if len(cleaned) > BACKDATE_REASON_MAX:
        raise InvalidInput(f"the reason is longer than {BACKDATE_REASON_MAX} characters",
                           fields=["backdate_reason"])
    return cleaned


def _local(at: datetime, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
