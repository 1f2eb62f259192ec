"""Checking the transitions of an item: each one's states, roles, notices, triggers and clock effect
(which follows from entering or leaving a clock-stopping state), then the graph they make."""

from __future__ import annotations

from typing import Any

from gkflow.catalogue.values import TRANSITION_KEYS, check_keys, read_fields, str_list
from gkflow.config.yaml_lines import Problems, line_of
from gkflow.domain.items import ClockEffect, State, Transition
from gkflow.domain.topics import NOTICES, TRIGGERS

_CLOCK_VALUES = {effect.value for effect in ClockEffect}


def build_transition(
    name: str, spec: Any, line: int, states: dict[str, State], problems: Problems, *,
    require_types: bool = False,
) -> Transition | None:
    """The transition ``name`` written as ``spec`` at ``line``; None if it is not a mapping."""
    what = f"transition '{name}'"
    if not isinstance(spec, dict):
        problems.add(line, f"{what}: expected a mapping")
        return None
    check_keys(spec, TRANSITION_KEYS, what, problems)
    sources = str_list(spec.get("from"), f"{what} from", line_of(spec, "from"), problems)
    target = spec.get("to")
    if target is None:
        problems.add(line_of(spec, "to"), f"{what}: needs 'to' (one state)")
    elif not isinstance(target, str):
        problems.add(line_of(spec, "to"), f"{what}: 'to' names one state, got {type(target).__name__}")
        target = None
    if not sources:
        problems.add(line_of(spec, "from"), f"{what}: needs 'from' (one state or a list)")
    for source in sources:
        if source not in states:
            problems.add(line_of(spec, "from"), f"{what}: unknown state '{source}' in 'from'")
    if target is not None and target not in states:
        problems.add(line_of(spec, "to"), f"{what}: unknown state '{target}' in 'to'")
    roles = str_list(spec.get("roles"), f"{what} roles", line_of(spec, "roles"), problems)
    if not roles:
        problems.add(line_of(spec, "roles"), f"{what}: needs at least one role")
    effect = _clock(spec, what, sources, target, states, problems)
    extend_days = spec.get("extend_days")
    if effect is ClockEffect.EXTEND and (not isinstance(extend_days, int) or extend_days <= 0):
        problems.add(line_of(spec, "clock"), f"{what}: clock 'extend' needs extend_days > 0")
    if extend_days is not None and effect is not ClockEffect.EXTEND:
        problems.add(line_of(spec, "extend_days"), f"{what}: extend_days without clock 'extend'")
    notices = str_list(spec.get("notices"), f"{what} notices", line_of(spec, "notices"), problems)
    for notice in notices:
        if notice not in NOTICES:
            problems.add(line_of(spec, "notices"),
                         f"{what}: unknown notice '{notice}'; known: {', '.join(sorted(NOTICES))}")
    triggers = str_list(spec.get("triggers"), f"{what} triggers", line_of(spec, "triggers"),
                        problems)
    for trigger in triggers:
        if trigger not in TRIGGERS:
            problems.add(line_of(spec, "triggers"),
                         f"{what}: unknown trigger '{trigger}'; known: {', '.join(sorted(TRIGGERS))}")
    return Transition(
        name=name, label=str(spec.get("label", name)), sources=sources, target=str(target),
        roles=roles, fields=read_fields(spec.get("fields"), f"{what} fields", line_of(spec, "fields"),
                                        problems, require_types=require_types),
        clock=effect, extend_days=extend_days if effect is ClockEffect.EXTEND else None,
        notices=notices, triggers=triggers,
    )


def _clock(
    spec: dict[Any, Any], what: str, sources: tuple[str, ...], target: Any,
    states: dict[str, State], problems: Problems,
) -> ClockEffect | None:
    """The declared clock effect, checked against (and completed from) the states it joins."""
    clock = spec.get("clock")
    if clock is not None and (not isinstance(clock, str) or clock not in _CLOCK_VALUES):
        problems.add(line_of(spec, "clock"),
                     f"{what}: clock must be stop, resume, restart or extend, got {clock!r}")
        clock = None
    effect = ClockEffect(clock) if clock else None
    if sources and target in states and all(s in states for s in sources):
        effect = _derive_clock(what, effect, sources, target, states, line_of(spec), problems)
    return effect


def _derive_clock(
    what: str, declared: ClockEffect | None, sources: tuple[str, ...], target: str,
    states: dict[str, State], line: int, problems: Problems,
) -> ClockEffect | None:
    """Entering a clock-stopping state stops the clock; leaving one resumes it (or restarts)."""
    into_stop = states[target].stops_clock
    stopped_sources = {states[s].stops_clock for s in sources}
    if len(stopped_sources) > 1:
        problems.add(line, f"{what}: its 'from' states mix clock-stopping and running states")
        return declared
    from_stop = stopped_sources.pop()
    if into_stop and not from_stop:
        if declared not in (None, ClockEffect.STOP):
            problems.add(line, f"{what}: enters clock-stopping state '{target}' so clock is 'stop'")
        return ClockEffect.STOP
    if from_stop and not into_stop:
        if declared not in (None, ClockEffect.RESUME, ClockEffect.RESTART):
            problems.add(line, f"{what}: leaves a clock-stopping state: clock is resume or restart")
        return declared or ClockEffect.RESUME
    if declared in (ClockEffect.STOP, ClockEffect.RESUME):
        problems.add(line, f"{what}: clock '{declared.value}' needs a state with stops_clock")
    if declared is ClockEffect.RESTART and (from_stop or into_stop):
        problems.add(line, f"{what}: clock 'restart' inside stopped states")
    return declared


def check_graph(
    raw_states: Any, states: dict[str, State], transitions: dict[str, Transition], initial: str,
    problems: Problems,
) -> None:
    """Final states are dead ends, the others are not, and every state is reachable from ``initial``."""
    outgoing: dict[str, list[str]] = {name: [] for name in states}
    for t in transitions.values():
        for source in t.sources:
            if source in outgoing:
                outgoing[source].append(t.target)
    for name, state in states.items():
        if state.final and outgoing[name]:
            problems.add(line_of(raw_states, name),
                         f"final state '{name}' has outgoing transitions")
        if not state.final and not outgoing[name]:
            problems.add(line_of(raw_states, name),
                         f"state '{name}' is not final but has no outgoing transition")
    seen, todo = {initial}, [initial]
    while todo:
        for nxt in outgoing[todo.pop()]:
            if nxt in states and nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    for name in states:
        if name not in seen:
            problems.add(line_of(raw_states, name),
                         f"state '{name}' is unreachable from the initial state '{initial}'")
    if not any(states[name].final for name in seen):
        problems.add(line_of(raw_states), "no final state is reachable")
