"""The catalogue (事项目录): every version of every item, in memory. Item files under config/items/ are
read by ``files``, each version is checked by ``validate`` (problems are ``file:line: message``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from gkflow.catalogue.files import (
    LoadedVersion,
    definition_hash,
    load_catalogue_files,
    load_item_file,
    raw_versions,
    to_plain,
)
from gkflow.catalogue.validate import build_item_version
from gkflow.config.yaml_lines import Problems, load_yaml_with_lines
from gkflow.domain.errors import InvalidConfig, NotFound
from gkflow.domain.items import ItemVersion

__all__ = [
    "Catalogue",
    "LoadedVersion",
    "Problems",
    "build_item_version",
    "catalogue_from",
    "definition_hash",
    "item_from_definition",
    "load_catalogue_files",
    "load_item_file",
    "load_yaml_with_lines",
    "raw_versions",
    "to_plain",
]


@dataclass
class Catalogue:
    """Every version of every item, in memory. Versions are immutable once loaded."""

    versions: dict[str, list[ItemVersion]] = field(default_factory=dict)

    def add(self, item: ItemVersion) -> None:
        """Add one version to its item's chain (kept in version order)."""
        chain = self.versions.setdefault(item.code, [])
        chain.append(item)
        chain.sort(key=lambda v: v.version)

    def codes(self) -> list[str]:
        """The codes of all items, sorted."""
        return sorted(self.versions)

    def latest(self, code: str) -> ItemVersion:
        """The newest version of item ``code``."""
        return self._chain(code)[-1]

    def get(self, code: str, version: int) -> ItemVersion:
        """Version ``version`` of item ``code``."""
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


def catalogue_from(versions: Iterable[ItemVersion]) -> Catalogue:
    """A catalogue holding ``versions``."""
    catalogue = Catalogue()
    for item in versions:
        catalogue.add(item)
    return catalogue


def item_from_definition(definition: dict[str, Any], source: str = "database") -> ItemVersion:
    """The item version of a definition stored in the database; InvalidConfig if it is invalid."""
    problems = Problems(source)
    item = build_item_version(definition, problems)
    if item is None:
        raise InvalidConfig("stored item definition is invalid: " + "; ".join(problems.items))
    return item
