"""Building one item version from a (merged) mapping, with every problem reported at its line. Used both
for item files (line-aware mappings) and for definitions stored in the database (plain dicts, line 0)."""

from __future__ import annotations

from datetime import date
from typing import Any

from gkflow.catalogue.transitions import build_transition, check_graph
from gkflow.catalogue.values import (
    MATERIAL_KEYS,
    STATE_KEYS,
    as_date,
    check_keys,
    read_fields,
    read_limit,
    str_list,
    whole_number,
)
from gkflow.config.yaml_lines import Problems, line_of
from gkflow.domain.fields import FieldType
from gkflow.domain.items import FieldSpec, ItemVersion, Limit, Material, State, Transition
from gkflow.domain.topics import NOTICE_CHANNELS, NOTICES

REQUIRED_KEYS = ("code", "name", "department", "initial", "states", "transitions")
TEXT_KEYS = ("code", "name", "department", "initial", "area", "fee", "description")


def build_item_version(raw: dict[str, Any], problems: Problems, *,
                       require_types: bool = False) -> ItemVersion | None:
    """The item version ``raw`` describes, or None after adding its problems to ``problems``.
    ``require_types``: every field must declare its type (the newest version of an item file)."""
    before = len(problems.items)
    for key in REQUIRED_KEYS:
        if not raw.get(key):
            problems.add(line_of(raw), f"missing '{key}'")
    for key in TEXT_KEYS:
        if raw.get(key) is not None and not isinstance(raw[key], str):
            problems.add(line_of(raw, key), f"'{key}' must be text, got {type(raw[key]).__name__}")
    version, effective_from, basis = _identity(raw, problems)
    statutory, promised = _limits(raw, problems)
    states, raw_states = _states(raw, problems)
    transitions, raw_transitions = _transitions(raw, states, problems, require_types)
    initial = raw.get("initial")
    if not isinstance(initial, str):
        initial = None  # reported above
    if initial and initial not in states:
        problems.add(line_of(raw, "initial"), f"initial state '{initial}' is not a declared state")
    if states and initial in states:
        check_graph(raw_states, states, transitions, initial, problems)
    materials = _materials(raw, problems)
    submit_notices, yellow_share = _notices(raw, problems)
    channels, notice_channels = _channels(raw, problems)
    submit_fields = read_fields(raw.get("submit_fields"), "submit_fields", line_of(raw, "submit_fields"),
                                problems, require_types=require_types)
    _check_field_kinds(submit_fields, transitions, raw, materials, problems)
    if (len(problems.items) > before or version is None or effective_from is None
            or statutory is None or promised is None):
        return None
    return ItemVersion(
        code=str(raw.get("code")), name=str(raw["name"]), version=version, effective_from=effective_from,
        area=str(raw.get("area", "")), basis=basis, department=str(raw["department"]),
        statutory_limit=statutory, promised_limit=promised, initial_state=str(initial),
        states=states, transitions=transitions, materials=materials,
        fee=str(raw.get("fee", "不收费")),
        channels=channels,
        notice_channels=notice_channels,
        submit_notices=submit_notices,
        submit_fields=submit_fields,
        description=" ".join(str(raw.get("description") or "").split()),
        yellow_share=yellow_share,
        source=problems.source,
    )


def _identity(raw: dict[str, Any], problems: Problems) -> tuple[int | None, date | None, tuple[str, ...]]:
    """The version number, the date it takes effect and the legal basis (None where invalid)."""
    version = whole_number(raw.get("version"), 1)
    if version is None:
        problems.add(line_of(raw, "version"),
                     f"version must be a whole number >= 1, got {raw.get('version')!r}")
    effective_from = as_date(raw.get("effective_from"))
    if effective_from is None:
        problems.add(line_of(raw, "effective_from"), "effective_from must be a date (YYYY-MM-DD)")
    basis = str_list(raw.get("basis"), "basis", line_of(raw, "basis"), problems)
    if not basis:
        problems.add(line_of(raw, "basis"), "missing legal basis ('basis': a list of provisions)")
    return version, effective_from, basis


def _limits(raw: dict[str, Any], problems: Problems) -> tuple[Limit | None, Limit | None]:
    """The statutory and the promised limit; the promise may not be longer than the law allows."""
    statutory = read_limit(raw.get("statutory_limit"), "statutory_limit",
                           line_of(raw, "statutory_limit"), problems)
    promised = read_limit(raw.get("promised_limit"), "promised_limit",
                          line_of(raw, "promised_limit"), problems)
    if statutory and promised and statutory.unit == promised.unit and promised.days > statutory.days:
        problems.add(line_of(raw, "promised_limit"),
                     "promised_limit is longer than the statutory_limit")
    return statutory, promised


def _states(raw: dict[str, Any], problems: Problems) -> tuple[dict[str, State], Any]:
    """The declared states, and the mapping they were read from (for the lines of later problems)."""
    states: dict[str, State] = {}
    raw_states = raw.get("states") or {}
    if not isinstance(raw_states, dict):
        problems.add(line_of(raw, "states"), "states must be a mapping of name to definition")
        raw_states = {}
    for name, spec in raw_states.items():
        line = line_of(raw_states, name)
        spec = spec if isinstance(spec, dict) else {}
        check_keys(spec, STATE_KEYS, f"state '{name}'", problems)
        if not isinstance(spec.get("label"), str):
            problems.add(line, f"state '{name}': needs a label (中文名称)")
        step_limit = None
        if spec.get("limit") is not None:
            step_limit = read_limit(spec["limit"], f"state '{name}' limit", line, problems)
        states[str(name)] = State(
            name=str(name), label=str(spec.get("label", name)), final=bool(spec.get("final")),
            stops_clock=bool(spec.get("stops_clock")), step_limit=step_limit,
        )
    return states, raw_states


def _transitions(
    raw: dict[str, Any], states: dict[str, State], problems: Problems, require_types: bool = False
) -> tuple[dict[str, Transition], Any]:
    """The declared transitions between ``states``, and the mapping they were read from."""
    transitions: dict[str, Transition] = {}
    raw_transitions = raw.get("transitions") or {}
    if not isinstance(raw_transitions, dict):
        problems.add(line_of(raw, "transitions"), "transitions must be a mapping")
        raw_transitions = {}
    for name, spec in raw_transitions.items():
        t = build_transition(str(name), spec, line_of(raw_transitions, name), states, problems,
                             require_types=require_types)
        if t:
            transitions[t.name] = t
    return transitions, raw_transitions


def _check_field_kinds(submit_fields: tuple[FieldSpec, ...], transitions: dict[str, Transition],
                       raw: dict[str, Any], materials: tuple[Material, ...], problems: Problems) -> None:
    """A materials field needs declared materials and belongs to a step; files come as materials."""
    for spec in submit_fields:
        if spec.type in (FieldType.MATERIALS, FieldType.FILE):
            problems.add(line_of(raw, "submit_fields"),
                         f"submit_fields: field '{spec.name}' may not be of type {spec.type.value}; "
                         "the application's files are its declared materials")
    for t in transitions.values():
        if any(f.type is FieldType.MATERIALS for f in t.fields) and not materials:
            problems.add(line_of(raw, "transitions"),
                         f"transition '{t.name}': a materials field needs the item's materials")


def _materials(raw: dict[str, Any], problems: Problems) -> tuple[Material, ...]:
    """The materials to hand in: a name, or {name, required, note}."""
    materials: list[Material] = []
    raw_materials = raw.get("materials")
    if raw_materials is not None and not isinstance(raw_materials, list):
        problems.add(line_of(raw, "materials"),
                     "materials must be a list (a name, or {name, required, note})")
        return ()
    for entry in raw_materials or []:
        name = entry.get("name") if isinstance(entry, dict) else entry
        if isinstance(name, str) and ("\n" in name or not name.strip()):
            problems.add(line_of(entry), "material: a name is one line of text")
        if isinstance(entry, str):
            materials.append(Material(entry))
        elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
            check_keys(entry, MATERIAL_KEYS, "material", problems)
            materials.append(Material(entry["name"], bool(entry.get("required", True)),
                                      entry.get("note")))
        else:
            problems.add(line_of(entry), "material: needs a name")
    return tuple(materials)


def _notices(raw: dict[str, Any], problems: Problems) -> tuple[tuple[str, ...], float | None]:
    """The notices sent on submission, and the share of the limit after which a case turns yellow."""
    submit_notices = str_list(raw.get("submit_notices", ["accepted"]), "submit_notices",
                              line_of(raw, "submit_notices"), problems)
    for notice in submit_notices:
        if notice not in NOTICES:
            problems.add(line_of(raw, "submit_notices"), f"unknown notice '{notice}'")
    yellow_share = raw.get("yellow_share")
    if yellow_share is not None and not (isinstance(yellow_share, float) and 0 < yellow_share < 1):
        problems.add(line_of(raw, "yellow_share"), "yellow_share must be a number between 0 and 1")
    # Anything else than None or a float was reported just above, so the version is not built.
    return submit_notices, yellow_share if isinstance(yellow_share, float) else None


def _channels(raw: dict[str, Any], problems: Problems) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The channels an application may come in by, and those notices may go out by."""
    channels = str_list(raw.get("channels"), "channels", line_of(raw, "channels"), problems)
    notice_channels = str_list(raw.get("notice_channels", ["sms"]), "notice_channels",
                               line_of(raw, "notice_channels"), problems)
    for channel in notice_channels:
        if channel not in NOTICE_CHANNELS:
            problems.add(line_of(raw, "notice_channels"),
                         f"unknown notice channel '{channel}'; known: {', '.join(sorted(NOTICE_CHANNELS))}")
    return channels, notice_channels
