"""The keys an item file may use and readers for its small values (limits, name lists, fields, dates);
each reader reports what is wrong to ``Problems`` and returns something safe to carry on with."""

from __future__ import annotations

from datetime import date
from typing import Any

from gkflow.config.yaml_lines import Problems, line_of
from gkflow.domain.fields import LEGACY_MAX_LENGTH, MAX_DECLARED_LENGTH, FieldType
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
FIELD_KEYS = {"label", "type", "required", "max_length", "options", "internal"}
FIELD_TYPES = tuple(kind.value for kind in FieldType)

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


def read_fields(raw: Any, what: str, line: int, problems: Problems, *,
                require_types: bool = False) -> tuple[FieldSpec, ...]:
    """Fields as {name: {label, type, required, max_length, options, internal}}; a bare label (or no
    type) is the untyped text of versions written before types (refused where ``require_types``)."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        problems.add(line, f"{what}: fields must map a field name to its label")
        return ()
    specs = []
    for name, spec in raw.items():
        field_line = line_of(raw, name)
        if isinstance(spec, str):
            spec = {"label": spec}
        if not isinstance(spec, dict) or not isinstance(spec.get("label"), str):
            problems.add(field_line, f"{what}: field '{name}' needs a label")
            continue
        check_keys(spec, FIELD_KEYS, f"{what}: field '{name}'", problems)
        field = _typed_field(str(name), spec, f"{what}: field '{name}'", field_line, problems)
        if field is None:
            continue
        if require_types and not field.typed:
            problems.add(field_line, f"{what}: field '{name}' needs a type ({', '.join(FIELD_TYPES)}); "
                         "the newest version of an item declares a type for every field")
        specs.append(field)
    return tuple(specs)


def _typed_field(name: str, spec: dict[Any, Any], what: str, line: int,
                 problems: Problems) -> FieldSpec | None:
    """One field's declaration checked: a known type, options only (and always) for a choice,
    a sensible max_length only for text; None (and problems) when it is wrong."""
    before = len(problems.items)
    raw_type = spec.get("type")
    required = spec.get("required", True)
    internal = spec.get("internal", False)
    for key, value in (("required", required), ("internal", internal)):
        if not isinstance(value, bool):
            problems.add(line_of(spec, key), f"{what}: {key} must be true or false, got {value!r}")
    if raw_type is None:
        if "options" in spec or "max_length" in spec:
            problems.add(line, f"{what}: options and max_length need a type")
        if len(problems.items) > before:
            return None
        # Free text as it always was: line breaks and tabs allowed, up to the legacy length.
        return FieldSpec(name, spec["label"], bool(required), FieldType.MULTILINE, LEGACY_MAX_LENGTH,
                         internal=bool(internal), typed=False)
    if raw_type not in FIELD_TYPES:
        problems.add(line_of(spec, "type"),
                     f"{what}: unknown type {raw_type!r}; known: {', '.join(FIELD_TYPES)}")
        return None
    kind = FieldType(raw_type)
    options = spec.get("options")
    if kind is FieldType.CHOICE:
        if (not isinstance(options, list) or not options
                or not all(isinstance(o, str) and o.strip() for o in options)):
            problems.add(line_of(spec, "options") if "options" in spec else line,
                         f"{what}: a choice needs options (a list of texts)")
        elif len(set(options)) != len(options):
            problems.add(line_of(spec, "options"), f"{what}: options are listed twice")
    elif options is not None:
        problems.add(line_of(spec, "options"), f"{what}: options belong to a choice, not to {raw_type}")
    max_length = spec.get("max_length")
    if max_length is not None:
        if kind not in (FieldType.TEXT, FieldType.MULTILINE):
            problems.add(line_of(spec, "max_length"), f"{what}: max_length belongs to text or multiline")
        elif whole_number(max_length, 1) is None or max_length > MAX_DECLARED_LENGTH:
            problems.add(line_of(spec, "max_length"),
                         f"{what}: max_length must be a whole number from 1 to {MAX_DECLARED_LENGTH}")
    if len(problems.items) > before:
        return None
    return FieldSpec(name, spec["label"], bool(required), kind, max_length,
                     tuple(options or ()) if kind is FieldType.CHOICE else (), bool(internal))
