"""The catalogue (事项目录): item files under config/items/, validated with file:line errors."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from gkflow.domain.errors import InvalidConfig, NotFound
from gkflow.domain.items import (
    ClockEffect,
    FieldSpec,
    ItemVersion,
    Limit,
    LimitUnit,
    Material,
    State,
    Transition,
)
from gkflow.domain.topics import NOTICE_CHANNELS, NOTICES, TRIGGERS

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


class LineDict(dict):
    """A mapping that remembers the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]


class LineList(list):
    line: int = 0


class _LineLoader(yaml.SafeLoader):
    duplicate_keys: list[tuple[str, int]]


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    # Only keys written in this mapping can be duplicates; keys from a `<<:` merge may be overridden.
    explicit: set[object] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        if key in explicit:
            loader.duplicate_keys.append((str(key), key_node.start_mark.line + 1))
        explicit.add(key)
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def _line_of(container: Any, key: str | None = None) -> int:
    if isinstance(container, LineDict):
        if key is not None and key in container.key_lines:
            return container.key_lines[key]
        return container.line
    return getattr(container, "line", 0)


@dataclass
class Problems:
    source: str
    items: list[str] = field(default_factory=list)

    def add(self, line: int, message: str) -> None:
        self.items.append(f"{self.source}:{line}: {message}")


def load_yaml_with_lines(path: Path, problems: Problems) -> Any:
    loader = _LineLoader(path.read_text(encoding="utf-8"))
    loader.duplicate_keys = []
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problems.add(mark.line + 1 if mark else 0, f"YAML syntax error: {exc.problem or exc}")
        return None
    finally:
        loader.dispose()
    for key, line in loader.duplicate_keys:
        problems.add(line, f"duplicate key '{key}'")
    return data


# ---------------------------------------------------------------------------------------------
# Building one item version from a (merged) mapping. Used both for files (with line numbers)
# and for definitions stored in the database (plain dicts, line 0).


def _check_keys(mapping: Any, allowed: set[str], what: str, problems: Problems) -> None:
    for key in mapping:
        if key not in allowed:
            problems.add(_line_of(mapping, key), f"{what}: unknown key '{key}'")


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _limit(raw: Any, what: str, line: int, problems: Problems) -> Limit | None:
    if not isinstance(raw, dict):
        problems.add(line, f"{what}: expected {{days: N, unit: working|calendar}}")
        return None
    _check_keys(raw, LIMIT_KEYS, what, problems)
    days, unit = raw.get("days"), raw.get("unit")
    ok = True
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        problems.add(_line_of(raw, "days"), f"{what}: days must be a whole number >= 0, got {days!r}")
        ok = False
    if unit not in {u.value for u in LimitUnit}:
        problems.add(
            _line_of(raw, "unit"), f"{what}: unit must be 'working' or 'calendar', got {unit!r}"
        )
        ok = False
    return Limit(days, LimitUnit(unit)) if ok else None


def _str_list(raw: Any, what: str, line: int, problems: Problems) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    if not isinstance(raw, list) or not all(isinstance(v, str) and v for v in raw):
        problems.add(line, f"{what}: expected a list of names")
        return ()
    return tuple(raw)


def _fields(raw: Any, what: str, line: int, problems: Problems) -> tuple[FieldSpec, ...]:
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
            problems.add(_line_of(raw, name), f"{what}: field '{name}' needs a label")
    return tuple(specs)


def build_item_version(raw: dict[str, Any], problems: Problems) -> ItemVersion | None:
    before = len(problems.items)
    code = raw.get("code")
    top = _line_of(raw)
    for key in ("code", "name", "department", "initial", "states", "transitions"):
        if not raw.get(key):
            problems.add(top, f"missing '{key}'")
    version = raw.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.add(_line_of(raw, "version"), f"version must be a whole number >= 1, got {version!r}")
    effective_from = _as_date(raw.get("effective_from"))
    if effective_from is None:
        problems.add(_line_of(raw, "effective_from"), "effective_from must be a date (YYYY-MM-DD)")
    basis = _str_list(raw.get("basis"), "basis", _line_of(raw, "basis"), problems)
    if not basis:
        problems.add(_line_of(raw, "basis"), "missing legal basis ('basis': a list of provisions)")
    statutory = _limit(raw.get("statutory_limit"), "statutory_limit",
                       _line_of(raw, "statutory_limit"), problems)
    promised = _limit(raw.get("promised_limit"), "promised_limit",
                      _line_of(raw, "promised_limit"), problems)
    if statutory and promised and statutory.unit == promised.unit and promised.days > statutory.days:
        problems.add(_line_of(raw, "promised_limit"),
                     "promised_limit is longer than the statutory_limit")

    states: dict[str, State] = {}
    raw_states = raw.get("states") or {}
    if not isinstance(raw_states, dict):
        problems.add(_line_of(raw, "states"), "states must be a mapping of name to definition")
        raw_states = {}
    for name, spec in raw_states.items():
        line = _line_of(raw_states, name)
        spec = spec if isinstance(spec, dict) else {}
        _check_keys(spec, STATE_KEYS, f"state '{name}'", problems)
        if not isinstance(spec.get("label"), str):
            problems.add(line, f"state '{name}': needs a label (中文名称)")
        step_limit = None
        if spec.get("limit") is not None:
            step_limit = _limit(spec["limit"], f"state '{name}' limit", line, problems)
        states[str(name)] = State(
            name=str(name), label=str(spec.get("label", name)), final=bool(spec.get("final")),
            stops_clock=bool(spec.get("stops_clock")), step_limit=step_limit,
        )

    transitions: dict[str, Transition] = {}
    raw_transitions = raw.get("transitions") or {}
    if not isinstance(raw_transitions, dict):
        problems.add(_line_of(raw, "transitions"), "transitions must be a mapping")
        raw_transitions = {}
    for name, spec in raw_transitions.items():
        t = _build_transition(str(name), spec, _line_of(raw_transitions, name), states, problems)
        if t:
            transitions[t.name] = t

    initial = raw.get("initial")
    if initial and initial not in states:
        problems.add(_line_of(raw, "initial"), f"initial state '{initial}' is not a declared state")
    if states and initial in states:
        _check_graph(raw_states, raw_transitions, states, transitions, initial, problems)

    materials = []
    for entry in raw.get("materials") or []:
        if isinstance(entry, str):
            materials.append(Material(entry))
        elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
            _check_keys(entry, MATERIAL_KEYS, "material", problems)
            materials.append(Material(entry["name"], bool(entry.get("required", True)),
                                      entry.get("note")))
        else:
            problems.add(_line_of(entry), "material: needs a name")

    submit_notices = _str_list(raw.get("submit_notices", ["accepted"]), "submit_notices",
                               _line_of(raw, "submit_notices"), problems)
    for notice in submit_notices:
        if notice not in NOTICES:
            problems.add(_line_of(raw, "submit_notices"), f"unknown notice '{notice}'")
    yellow_share = raw.get("yellow_share")
    if yellow_share is not None and not (isinstance(yellow_share, float) and 0 < yellow_share < 1):
        problems.add(_line_of(raw, "yellow_share"), "yellow_share must be a number between 0 and 1")

    channels = _str_list(raw.get("channels"), "channels", _line_of(raw, "channels"), problems)
    notice_channels = _str_list(raw.get("notice_channels", ["sms"]), "notice_channels",
                                _line_of(raw, "notice_channels"), problems)
    for channel in notice_channels:
        if channel not in NOTICE_CHANNELS:
            problems.add(_line_of(raw, "notice_channels"),
                         f"unknown notice channel '{channel}'; known: {', '.join(sorted(NOTICE_CHANNELS))}")
    submit_fields = _fields(raw.get("submit_fields"), "submit_fields", _line_of(raw, "submit_fields"),
                            problems)
    if len(problems.items) > before or statutory is None or promised is None:
        return None
    return ItemVersion(
        code=str(code), name=str(raw["name"]), version=version, effective_from=effective_from,
        area=str(raw.get("area", "")), basis=basis, department=str(raw["department"]),
        statutory_limit=statutory, promised_limit=promised, initial_state=str(initial),
        states=states, transitions=transitions, materials=tuple(materials),
        fee=str(raw.get("fee", "不收费")),
        channels=channels,
        notice_channels=notice_channels,
        submit_notices=submit_notices,
        submit_fields=submit_fields,
        yellow_share=yellow_share,
        source=problems.source,
    )


def _build_transition(
    name: str, spec: Any, line: int, states: dict[str, State], problems: Problems
) -> Transition | None:
    what = f"transition '{name}'"
    if not isinstance(spec, dict):
        problems.add(line, f"{what}: expected a mapping")
        return None
    _check_keys(spec, TRANSITION_KEYS, what, problems)
    sources = _str_list(spec.get("from"), f"{what} from", _line_of(spec, "from"), problems)
    target = spec.get("to")
    if not sources:
        problems.add(_line_of(spec, "from"), f"{what}: needs 'from' (one state or a list)")
    for source in sources:
        if source not in states:
            problems.add(_line_of(spec, "from"), f"{what}: unknown state '{source}' in 'from'")
    if target not in states:
        problems.add(_line_of(spec, "to"), f"{what}: unknown state '{target}' in 'to'")
    roles = _str_list(spec.get("roles"), f"{what} roles", _line_of(spec, "roles"), problems)
    if not roles:
        problems.add(_line_of(spec, "roles"), f"{what}: needs at least one role")
    clock = spec.get("clock")
    if clock is not None and clock not in {c.value for c in ClockEffect}:
        problems.add(_line_of(spec, "clock"),
                     f"{what}: clock must be stop, resume, restart or extend, got {clock!r}")
        clock = None
    effect = ClockEffect(clock) if clock else None
    if sources and target in states and all(s in states for s in sources):
        effect = _derive_clock(what, effect, sources, target, states, _line_of(spec), problems)
    extend_days = spec.get("extend_days")
    if effect is ClockEffect.EXTEND and (not isinstance(extend_days, int) or extend_days <= 0):
        problems.add(_line_of(spec, "clock"), f"{what}: clock 'extend' needs extend_days > 0")
    if extend_days is not None and effect is not ClockEffect.EXTEND:
        problems.add(_line_of(spec, "extend_days"), f"{what}: extend_days without clock 'extend'")
    notices = _str_list(spec.get("notices"), f"{what} notices", _line_of(spec, "notices"), problems)
    for notice in notices:
        if notice not in NOTICES:
            problems.add(_line_of(spec, "notices"),
                         f"{what}: unknown notice '{notice}'; known: {', '.join(sorted(NOTICES))}")
    triggers = _str_list(spec.get("triggers"), f"{what} triggers", _line_of(spec, "triggers"),
                         problems)
    for trigger in triggers:
        if trigger not in TRIGGERS:
            problems.add(_line_of(spec, "triggers"),
                         f"{what}: unknown trigger '{trigger}'; known: {', '.join(sorted(TRIGGERS))}")
    return Transition(
        name=name, label=str(spec.get("label", name)), sources=sources, target=str(target),
        roles=roles, fields=_fields(spec.get("fields"), f"{what} fields", _line_of(spec, "fields"),
                                    problems),
        clock=effect, extend_days=extend_days if effect is ClockEffect.EXTEND else None,
        notices=notices, triggers=triggers,
    )


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


def _check_graph(
    raw_states: Any, raw_transitions: Any, states: dict[str, State],
    transitions: dict[str, Transition], initial: str, problems: Problems,
) -> None:
    outgoing: dict[str, list[str]] = {name: [] for name in states}
    for t in transitions.values():
        for source in t.sources:
            if source in outgoing:
                outgoing[source].append(t.target)
    for name, state in states.items():
        if state.final and outgoing[name]:
            problems.add(_line_of(raw_states, name),
                         f"final state '{name}' has outgoing transitions")
        if not state.final and not outgoing[name]:
            problems.add(_line_of(raw_states, name),
                         f"state '{name}' is not final but has no outgoing transition")
    seen, todo = {initial}, [initial]
    while todo:
        for nxt in outgoing[todo.pop()]:
            if nxt in states and nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    for name in states:
        if name not in seen:
            problems.add(_line_of(raw_states, name),
                         f"state '{name}' is unreachable from the initial state '{initial}'")
    if not any(states[name].final for name in seen):
        problems.add(_line_of(raw_states), "no final state is reachable")


# ---------------------------------------------------------------------------------------------
# Files: one item a file, with shared keys at the top and per-version overrides.


def _merge_version(base: dict[str, Any], override: dict[str, Any]) -> LineDict:
    merged = LineDict(base)
    merged.line = getattr(override, "line", getattr(base, "line", 0))
    merged.key_lines = dict(getattr(base, "key_lines", {}))
    for key, value in override.items():
        if key in ("states", "transitions") and isinstance(value, dict) and isinstance(
            base.get(key), dict
        ):
            section = LineDict(base[key])
            section.line = base[key].line if isinstance(base[key], LineDict) else 0
            section.key_lines = dict(getattr(base[key], "key_lines", {}))
            for name, spec in value.items():
                old = section.get(name)
                if isinstance(old, dict) and isinstance(spec, dict):
                    entry = LineDict({**old, **spec})
                    entry.line = getattr(spec, "line", 0)
                    entry.key_lines = {**getattr(old, "key_lines", {}),
                                       **getattr(spec, "key_lines", {})}
                    section[name] = entry
                else:
                    section[name] = spec
                section.key_lines[name] = _line_of(value, name)
            merged[key] = section
        else:
            merged[key] = value
        merged.key_lines[key] = _line_of(override, key)
    return merged


def raw_versions(path: Path, problems: Problems) -> list[dict[str, Any]]:
    data = load_yaml_with_lines(path, problems)
    if data is None:
        if not problems.items:
            problems.add(1, "empty item file")
        return []
    if not isinstance(data, dict):
        problems.add(_line_of(data) or 1, "an item file is a mapping (code, name, states, …)")
        return []
    _check_keys(data, ITEM_KEYS, "item", problems)
    versions = data.get("versions")
    base = LineDict({k: v for k, v in data.items() if k != "versions"})
    base.line, base.key_lines = data.line, data.key_lines
    if versions is None:
        return [base]
    if not isinstance(versions, list) or not versions:
        problems.add(_line_of(data, "versions"), "versions must be a non-empty list")
        return []
    result = []
    for entry in versions:
        if not isinstance(entry, dict):
            problems.add(_line_of(versions), "each version is a mapping")
            continue
        _check_keys(entry, VERSION_KEYS, "version", problems)
        result.append(_merge_version(base, entry))
    return result


def to_plain(value: Any) -> Any:
    """A JSON-safe copy of a merged definition (dates as ISO strings)."""
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class LoadedVersion:
    item: ItemVersion
    definition: dict[str, Any]  # plain, JSON-safe
    content_hash: str


def definition_hash(definition: dict[str, Any]) -> str:
    text = json.dumps(definition, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_item_file(path: Path, label: str | None = None) -> tuple[list[LoadedVersion], list[str]]:
    problems = Problems(label or str(path))
    loaded = []
    versions = raw_versions(path, problems)
    seen_versions: dict[int, int] = {}
    previous: ItemVersion | None = None
    for raw in versions:
        item = build_item_version(raw, problems)
        if item is None:
            continue
        if item.version in seen_versions:
            problems.add(_line_of(raw, "version"), f"duplicate version {item.version}")
        seen_versions[item.version] = 1
        if previous and (
            item.version <= previous.version or item.effective_from <= previous.effective_from
        ):
            problems.add(_line_of(raw, "effective_from"),
                         "versions must be listed oldest first with increasing effective_from")
        previous = item
        plain = to_plain(raw)
        loaded.append(LoadedVersion(item, plain, definition_hash(plain)))
    return loaded, problems.items


@dataclass
class Catalogue:
    """Every version of every item, in memory. Versions are immutable once loaded."""

    versions: dict[str, list[ItemVersion]] = field(default_factory=dict)

    def add(self, item: ItemVersion) -> None:
        chain = self.versions.setdefault(item.code, [])
        chain.append(item)
        chain.sort(key=lambda v: v.version)

    def codes(self) -> list[str]:
        return sorted(self.versions)

    def latest(self, code: str) -> ItemVersion:
        return self._chain(code)[-1]

    def get(self, code: str, version: int) -> ItemVersion:
        for item in self._chain(code):
            if item.version == version:
                return item
        raise NotFound(f"item '{code}' has no version {version}")

    def in_force(self, code: str, on: date) -> ItemVersion:
        """The version in force on ``on`` (a case keeps it to the end)."""
        chosen = None
        for item in self._chain(code):
            if item.effective_from <= on:
                chosen = item
        if chosen is None:
            first = self._chain(code)[0]
            raise NotFound(
                f"item '{code}' was not in force on {on.isoformat()} "
                f"(first version effective {first.effective_from.isoformat()})"
            )
        return chosen

    def _chain(self, code: str) -> list[ItemVersion]:
        chain = self.versions.get(code)
        if not chain:
            raise NotFound(f"unknown item '{code}'")
        return chain


def item_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))


def load_catalogue_files(
    path: Path, root: Path | None = None
) -> tuple[list[LoadedVersion], list[str]]:
    """Load and validate every item file below ``path``; problems are ``file:line: message``."""
    loaded: list[LoadedVersion] = []
    problems: list[str] = []
    files = item_files(path)
    if not files:
        problems.append(f"{path}:0: no item files (*.yaml) found")
    codes: dict[str, str] = {}
    for file in files:
        label = _display_path(file, root)
        versions, file_problems = load_item_file(file, label)
        problems.extend(file_problems)
        for v in versions:
            owner = codes.setdefault(v.item.code, label)
            if owner != label:
                problems.append(f"{label}:1: item code '{v.item.code}' is also defined in {owner}")
        loaded.extend(versions)
    return loaded, problems


def _display_path(file: Path, root: Path | None) -> str:
    try:
        return str(file.resolve().relative_to((root or Path.cwd()).resolve()))
    except ValueError:
        return str(file)


def catalogue_from(versions: Iterable[ItemVersion]) -> Catalogue:
    catalogue = Catalogue()
    for item in versions:
        catalogue.add(item)
    return catalogue


def item_from_definition(definition: dict[str, Any], source: str = "database") -> ItemVersion:
    problems = Problems(source)
    item = build_item_version(definition, problems)
    if item is None:
        raise InvalidConfig("stored item definition is invalid: " + "; ".join(problems.items))
    return item
