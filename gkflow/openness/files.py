"""Directory files under config/openness/: one pilot area a file ({area, description, entries}),
entries keyed by code; an entry's shared keys are overridden by each of its ``versions``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gkflow.catalogue.values import check_keys
from gkflow.config.files import display_path, yaml_files
from gkflow.config.yaml_lines import (
    LineDict,
    Problems,
    key_lines_of,
    line_dict,
    line_of,
    load_yaml_with_lines,
)
from gkflow.domain.openness import Area, Entry
from gkflow.openness.validate import ENTRY_KEYS, VERSION_KEYS, References, build_entry

FILE_KEYS = {"area", "description", "order", "entries"}


def _versions(code: str, raw: dict[str, Any], problems: Problems) -> list[LineDict]:
    """Each version of one entry, merged with its shared keys."""
    check_keys(raw, ENTRY_KEYS, f"entry '{code}'", problems)
    versions = raw.get("versions")
    base = line_dict({k: v for k, v in raw.items() if k != "versions"}, line_of(raw), key_lines_of(raw))
    if versions is None:
        return [base]
    if not isinstance(versions, list) or not versions:
        problems.add(line_of(raw, "versions"), f"entry '{code}': versions must be a non-empty list")
        return []
    merged = []
    for override in versions:
        if not isinstance(override, dict):
            problems.add(line_of(versions), f"entry '{code}': each version is a mapping")
            continue
        check_keys(override, VERSION_KEYS, f"entry '{code}' version", problems)
        version = line_dict(
            {**base, **override}, line_of(override), {**key_lines_of(base), **key_lines_of(override)}
        )
        merged.append(version)
    return merged


def load_directory_file(
    path: Path, label: str, refs: References
) -> tuple[Area | None, list[Entry], list[str]]:
    """The area and valid entry versions of one file, and its problems (``label`` names the file)."""
    problems = Problems(label)
    data = load_yaml_with_lines(path, problems)
    if data is None:
        if not problems.items:
            problems.add(1, "empty directory file")
        return None, [], problems.items
    if not isinstance(data, dict):
        problems.add(line_of(data) or 1, "a directory file is a mapping {area, description, entries}")
        return None, [], problems.items
    check_keys(data, FILE_KEYS, "directory file", problems)
    name = data.get("area")
    if not isinstance(name, str) or not name.strip():
        problems.add(line_of(data), "missing 'area' (the pilot area's name, e.g. 财政预决算)")
        return None, [], problems.items
    order = data.get("order", 99)
    if not isinstance(order, int) or isinstance(order, bool):
        problems.add(
            line_of(data, "order"), f"order must be a whole number (the area's place), got {order!r}"
        )
        order = 99
    area = Area(path.stem, name.strip(), str(data.get("description") or "").strip(), order)
    raw_entries = data.get("entries")
    if not isinstance(raw_entries, dict) or not raw_entries:
        problems.add(line_of(data, "entries"), "entries must map each entry code to its definition")
        return area, [], problems.items
    entries: list[Entry] = []
    for code, raw in raw_entries.items():
        if not isinstance(raw, dict):
            problems.add(line_of(raw_entries, code), f"entry '{code}' must be a mapping")
            continue
        previous: Entry | None = None
        for version in _versions(str(code), raw, problems):
            entry = build_entry(
                str(code), version, area=area.name, area_code=area.code, refs=refs, problems=problems
            )
            if entry is None:
                continue
            if previous and (
                entry.version <= previous.version or entry.effective_from <= previous.effective_from
            ):
                problems.add(
                    line_of(version, "effective_from"),
                    f"entry '{code}': versions must be listed "
                    "oldest first with increasing version and effective_from",
                )
            previous = entry
            entries.append(entry)
    return area, entries, problems.items


def load_directory_files(
    path: Path, refs: References, root: Path | None = None
) -> tuple[list[Area], list[Entry], list[str]]:
    """Every area and entry version below ``path``; problems are ``file:line: message``."""
    areas: list[Area] = []
    entries: list[Entry] = []
    problems: list[str] = []
    files = yaml_files(path)
    if not files:
        problems.append(f"{path}:0: no directory files (*.yaml) found")
    owners: dict[str, str] = {}
    for file in files:
        label = display_path(file, root)
        area, found, file_problems = load_directory_file(file, label, refs)
        problems.extend(file_problems)
        if area is not None:
            areas.append(area)
        for entry in found:
            owner = owners.setdefault(entry.code, label)
            if owner != label:
                problems.append(f"{label}:1: entry code '{entry.code}' is also defined in {owner}")
        entries.extend(e for e in found if owners[e.code] == label)
    return areas, entries, problems
