"""Item files under config/items/: one item a file, shared keys at the top and per-version overrides in
``versions``; each version is validated, kept as a plain JSON-safe definition and hashed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from gkflow.catalogue.validate import build_item_version
from gkflow.catalogue.values import ITEM_KEYS, VERSION_KEYS, check_keys
from gkflow.config.files import display_path, yaml_files
from gkflow.config.yaml_lines import (
    LineDict,
    Problems,
    key_lines_of,
    line_dict,
    line_of,
    load_yaml_with_lines,
)
from gkflow.domain.items import ItemVersion


@dataclass(frozen=True)
class LoadedVersion:
    """One validated version of an item, with its plain definition and that definition's hash."""

    item: ItemVersion
    definition: dict[str, Any]  # plain, JSON-safe
    content_hash: str


def _merge_section(base: Any, override: dict[Any, Any]) -> LineDict:
    """``states`` or ``transitions`` of a version: the shared ones, each updated key by key."""
    section = line_dict(base, line_of(base), key_lines_of(base))
    for name, spec in override.items():
        old = section.get(name)
        if isinstance(old, dict) and isinstance(spec, dict):
            section[name] = line_dict({**old, **spec}, line_of(spec),
                                      {**key_lines_of(old), **key_lines_of(spec)})
        else:
            section[name] = spec
        section.key_lines[name] = line_of(override, name)
    return section


def _merge_version(base: dict[str, Any], override: dict[str, Any]) -> LineDict:
    """The shared keys of an item file with one version's overrides on top."""
    line = override.line if isinstance(override, LineDict) else line_of(base)
    merged = line_dict(base, line, key_lines_of(base))
    for key, value in override.items():
        if key in ("states", "transitions") and isinstance(value, dict) and isinstance(
            base.get(key), dict
        ):
            merged[key] = _merge_section(base[key], value)
        else:
            merged[key] = value
        merged.key_lines[key] = line_of(override, key)
    return merged


def raw_versions(path: Path, problems: Problems) -> list[dict[str, Any]]:
    """Every version written in the item file ``path``, merged with the shared keys."""
    data = load_yaml_with_lines(path, problems)
    if data is None:
        if not problems.items:
            problems.add(1, "empty item file")
        return []
    if not isinstance(data, dict):
        problems.add(line_of(data) or 1, "an item file is a mapping (code, name, states, …)")
        return []
    check_keys(data, ITEM_KEYS, "item", problems)
    versions = data.get("versions")
    base = line_dict({k: v for k, v in data.items() if k != "versions"}, line_of(data), key_lines_of(data))
    if versions is None:
        return [base]
    if not isinstance(versions, list) or not versions:
        problems.add(line_of(data, "versions"), "versions must be a non-empty list")
        return []
    result: list[dict[str, Any]] = []
    for entry in versions:
        if not isinstance(entry, dict):
            problems.add(line_of(versions), "each version is a mapping")
            continue
        check_keys(entry, VERSION_KEYS, "version", problems)
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


def definition_hash(definition: dict[str, Any]) -> str:
    """The SHA-256 of a plain definition written as canonical JSON."""
    text = json.dumps(definition, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_item_file(path: Path, label: str | None = None) -> tuple[list[LoadedVersion], list[str]]:
    """The valid versions in one item file and its problems (``label`` names the file in them)."""
    problems = Problems(label or str(path))
    loaded = []
    versions = raw_versions(path, problems)
    seen_versions: dict[int, int] = {}
    previous: ItemVersion | None = None
    for raw in versions:
        item = build_item_version(raw, problems, require_types=raw is versions[-1])
        if item is None:
            continue
        if item.version in seen_versions:
            problems.add(line_of(raw, "version"), f"duplicate version {item.version}")
        seen_versions[item.version] = 1
        if previous and (
            item.version <= previous.version or item.effective_from <= previous.effective_from
        ):
            problems.add(line_of(raw, "effective_from"),
                         "versions must be listed oldest first with increasing effective_from")
        previous = item
        plain = to_plain(raw)
        loaded.append(LoadedVersion(item, plain, definition_hash(plain)))
    return loaded, problems.items


def load_catalogue_files(
    path: Path, root: Path | None = None
) -> tuple[list[LoadedVersion], list[str]]:
    """Load and validate every item file below ``path``; problems are ``file:line: message``."""
    loaded: list[LoadedVersion] = []
    problems: list[str] = []
    files = yaml_files(path)
    if not files:
        problems.append(f"{path}:0: no item files (*.yaml) found")
    codes: dict[str, str] = {}
    for file in files:
        label = display_path(file, root)
        versions, file_problems = load_item_file(file, label)
        problems.extend(file_problems)
        for v in versions:
            owner = codes.setdefault(v.item.code, label)
            if owner != label:
                problems.append(f"{label}:1: item code '{v.item.code}' is also defined in {owner}")
        loaded.extend(versions)
    return loaded, problems
