"""The standard directory of openness items (政务公开事项标准目录): ``config/openness/*.yaml``, one
file per pilot area, each entry versioned by effective date and checked with ``file:line`` problems."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from gkflow.domain.errors import NotFound
from gkflow.domain.openness import Area, Entry
from gkflow.openness.files import load_directory_files
from gkflow.openness.validate import References

__all__ = ["Directory", "References", "directory_from", "load_directory_files"]


@dataclass
class Directory:
    """Every version of every entry, and the areas they belong to, in file order."""

    areas: list[Area] = field(default_factory=list)
    versions: dict[str, list[Entry]] = field(default_factory=dict)

    def codes(self) -> list[str]:
        """Entry codes in directory order (area by area, as written)."""
        return list(self.versions)

    def latest(self, code: str) -> Entry:
        """The newest version of entry ``code``."""
        return self._chain(code)[-1]

    def first(self, code: str) -> Entry:
        """The first version: the entry's ledger starts at its effective date."""
        return self._chain(code)[0]

    def in_force(self, code: str, on: date) -> Entry | None:
        """The version in force on ``on`` (None before the first version takes effect)."""
        chosen = None
        for entry in self._chain(code):
            if entry.effective_from <= on:
                chosen = entry
        return chosen

    def entries(self, on: date | None = None) -> list[Entry]:
        """The version of each entry in force on ``on`` (default: the newest), in directory order."""
        found = [self.latest(c) if on is None else self.in_force(c, on) for c in self.versions]
        return [e for e in found if e is not None]

    def area(self, code: str) -> Area:
        """The area with file stem ``code``."""
        for area in self.areas:
            if area.code == code:
                return area
        raise NotFound(f"no openness area '{code}'")

    def departments(self) -> list[str]:
        """Every responsible department, sorted."""
        return sorted({e.department for chain in self.versions.values() for e in chain})

    def _chain(self, code: str) -> list[Entry]:
        chain = self.versions.get(code)
        if not chain:
            raise NotFound(f"no directory entry '{code}'")
        return chain


def directory_from(areas: Iterable[Area], entries: Iterable[Entry]) -> Directory:
    """A directory of ``areas`` holding ``entries`` (versions kept in version order)."""
    ordered = sorted(areas, key=lambda a: a.order)
    directory = Directory(ordered)
    rank = {a.code: n for n, a in enumerate(ordered)}
    for entry in sorted(entries, key=lambda e: rank.get(e.area_code, len(rank))):
        chain = directory.versions.setdefault(entry.code, [])
        chain.append(entry)
        chain.sort(key=lambda e: e.version)
    return directory
