"""The keys an item file may use and readers for its small values (limits, name lists, fields, dates);
each reader reports what is wrong to ``Problems`` and returns something safe to carry on with."""

from __future__ import annotations

from datetime import date
from typing import Any

from gkflow.config.yaml_lines import Problems, line_of
from gkflow.domain.items import FieldSpec, Limit, LimitUnit

ITEM_KEYS = {
    "code", "name", "area", "basis", "department", "statutory_limit", "promised_limit",
    "materials", "fee", "channels", "notice_channels", "initial", "states", "transitions",
    "submit_notices", "submit_fields", "versions", "version", "effective_from", "yellow_share",
    "description",
}
VERSION_KEYS = ITEM_KEYS - {"code", "versions"}
STATE_KEYS = {"label", "final", "stops_clock", "limit"}
TRANSITION_KEYS = {
    "label", "from", "to", "roles", "fields", "clock", "extend_days", "notices", "triggers",
}
LIMIT_KEYS = {"days", "unit"}
MATERIAL_KEYS = {"name", "required", "note"}

_UNITS: dict[object, LimitUnit] = {unit.value: unit for unit in LimitUnit}
_UNIT_VALUES = set(_UNITS)


def check_keys(mapping: Any, allowed: set[str], what: str, problems: Problems) -> None:
    """Report every key of ``mapping`` that is not in ``allowed``."""
    for key in mapping:
        if key not in allowed:
            problems.add(line_of(mapping, key), f"{what}: unknown key '{key}'")


def as_date(value: Any) -> date | None:
    """A date, or an ISO date string read as one; None for anything else."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def whole_number(value: Any, least: int) -> int | None:
    """``value`` if it is an int (not a bool) of at least ``least``, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= least:
        return value
    return None


def read_limit(raw: Any, what: str, line: int, problems: Problems) -> Limit | None:
    """A limit written as {days: N, unit: working|calendar}; None (and a problem) when it is not."""
    if not isinstance(raw, dict):
        problems.add(line, f"{what}: expected {{days: N, unit: working|calendar}}")
        return None
    check_keys(raw, LIMIT_KEYS, what, problems)
    days, unit = raw.get("days"), raw.get("unit")
    whole_days = whole_number(days, 0)
    if whole_days is None:
        problems.add(line_of(raw, "days"), f"{what}: days must be a whole number >= 0, got {days!r}")
    limit_unit = _UNITS[unit] if isinstance(unit, str) and unit in _UNIT_VALUES else None
    if limit_unit is None:
        problems.add(
            line_of(raw, "unit"), f"{what}: unit must be 'working' or 'calendar', got {unit!r}"
        )
    if whole_days is None or limit_unit is None:
        return None
    return Limit(whole_days, limit_unit)


def str_list(raw: Any, what: str, line: int, problems: Problems) -> tuple[str, ...]:
    """One name or a list of non-empty names, as a tuple; () (and a problem) for anything else."""
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    if not isinstance(raw, list) or not all(isinstance(v, str) and v for v in raw):
        problems.add(line, f"{what}: expected a list of names")
        return ()
    return tuple(raw)


def read_fields(raw: Any, what: str, line: int, problems: Problems) -> tuple[FieldSpec, ...]:
    """Fields as {name: label} or {name: {label: …, required: bool}}."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        problems.add(line, f"{what}: fields must map a field name to its label")
        return ()
    specs = []
    for name, spec in raw.items():
        if isinstance(spec, str):
            specs.append(FieldSpec(str(name), spec))
        elif isinstance(spec, dict) and isinstance(spec.get("label"), str):
            specs.append(FieldSpec(str(name), spec["label"], bool(spec.get("required", True))))
        else:
            problems.add(line_of(raw, name), f"{what}: field '{name}' needs a label")
    return tuple(specs)
