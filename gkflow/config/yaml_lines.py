"""YAML that remembers where things were written: mappings and lists carry their 1-based line, mappings
also the line of each key, so a checker can report ``file:line: message`` (collected by ``Problems``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class LineDict(dict[Any, Any]):
    """A mapping that remembers its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]


class LineList(list[Any]):
    """A list that remembers its line (1-based)."""

    line: int = 0


def line_dict(items: Mapping[Any, Any], line: int, key_lines: dict[str, int]) -> LineDict:
    """A LineDict of ``items`` written at ``line`` with its keys at ``key_lines``."""
    result = LineDict(items)
    result.line = line
    result.key_lines = key_lines
    return result


def line_of(container: Any, key: object = None) -> int:
    """The line of ``key`` in a LineDict, else of the container itself (0 when unknown)."""
    if isinstance(container, LineDict):
        if isinstance(key, str) and key in container.key_lines:
            return container.key_lines[key]
        return container.line
    return int(getattr(container, "line", 0))


def key_lines_of(container: Any) -> dict[str, int]:
    """A copy of the key lines of a LineDict ({} for anything else)."""
    return dict(getattr(container, "key_lines", {}))


@dataclass
class Problems:
    """The problems found in one source, each as ``source:line: message``."""

    source: str
    items: list[str] = field(default_factory=list)

    def add(self, line: int, message: str) -> None:
        """Record ``message`` at ``line`` of the source."""
        self.items.append(f"{self.source}:{line}: {message}")


def syntax_error(exc: yaml.MarkedYAMLError) -> tuple[int, str]:
    """The line (0 when unknown) and the message for a YAML syntax error."""
    mark = exc.problem_mark or exc.context_mark
    return (mark.line + 1 if mark else 0), f"YAML syntax error: {exc.problem or exc}"


class _LineLoader(yaml.SafeLoader):
    """A safe loader that builds LineDict and LineList and notes duplicate keys."""

    duplicate_keys: list[tuple[str, int]]


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    """A mapping node as a LineDict; keys written twice go to ``loader.duplicate_keys``."""
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
    result = line_dict({}, node.start_mark.line + 1, {})
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    """A sequence node as a LineList."""
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    return result


def _construct_timestamp(loader: _LineLoader, node: yaml.ScalarNode) -> Any:
    """A date or time; an impossible one (2026-13-01) is a problem at its line, not a crash."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"'{node.value}' is not a real date ({exc})", node.start_mark) from None


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml_with_lines(path: Path, problems: Problems) -> Any:
    """The document in ``path`` with line-aware mappings and lists; None after a syntax error."""
    loader = _LineLoader(path.read_text(encoding="utf-8"))
    loader.duplicate_keys = []
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        problems.add(*syntax_error(exc))
        return None
    finally:
        loader.dispose()
    for key, line in loader.duplicate_keys:
        problems.add(line, f"duplicate key '{key}'")
    return data
