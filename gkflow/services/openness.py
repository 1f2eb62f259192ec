"""The standard directory (政务公开事项标准目录) as the rest of gkflow sees it: loaded from
``config/openness/`` with its references checked against the publication tasks, their schedules and
the catalogue's items, cached per process until a file changes."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gkflow.catalogue import load_catalogue_files
from gkflow.config.files import read_mapping
from gkflow.domain.errors import InvalidConfig
from gkflow.openness import Directory, References, directory_from, load_directory_files
from gkflow.publication.tasks import TASKS
from gkflow.settings import Settings

OPENNESS_DIR = "openness"
SCHEDULES_FILE = "schedules.yaml"

_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[tuple[str, float], ...], Directory]] = {}


def openness_dir(settings: Settings) -> Path:
    """Where the directory files live (``config/openness``)."""
    return settings.config_dir / OPENNESS_DIR


def references(settings: Settings) -> References:
    """The publication tasks with the cron schedules.yaml gives them, and each item's triggers."""
    schedules = read_mapping(settings.config_dir / SCHEDULES_FILE).get("publications") or {}
    crons: dict[str, str | None] = {
        task: str(schedules[task]["cron"])
        if isinstance(schedules.get(task), Mapping) and schedules[task].get("cron")
        else None
        for task in TASKS
    }
    loaded, _problems = load_catalogue_files(settings.items_dir, settings.config_dir.parent)
    triggers: dict[str, set[str]] = {}
    for version in loaded:
        found = triggers.setdefault(version.item.code, set())
        for transition in version.item.transitions.values():
            found.update(transition.triggers)
    return References(task_crons=crons, item_triggers={k: frozenset(v) for k, v in triggers.items()})


def validate_directory(settings: Settings, path: Path | None = None) -> tuple[Directory, list[str]]:
    """The directory below ``path`` (default ``config/openness``) and every problem as file:line."""
    path = path or openness_dir(settings)
    areas, entries, problems = load_directory_files(path, references(settings), settings.config_dir.parent)
    return directory_from(areas, entries), problems


def _stamp(path: Path) -> tuple[tuple[str, float], ...]:
    files = sorted(path.glob("*.y*ml")) if path.is_dir() else []
    return tuple((str(f), f.stat().st_mtime) for f in files)


def load_directory(settings: Settings) -> Directory:
    """The valid directory (cached until a file changes); InvalidConfig naming every problem."""
    path = openness_dir(settings).resolve()
    stamp = _stamp(path)
    with _lock:
        cached = _cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    directory, problems = validate_directory(settings, path)
    if problems:
        raise InvalidConfig(
            "the openness directory has problems: " + "; ".join(problems[:10]), problems=problems
        )
    with _lock:
        _cache[path] = (stamp, directory)
    return directory


def entry_summary(entry: Any) -> dict[str, Any]:
    """One entry as `openness list --json` prints it."""
    return {
        "code": entry.code,
        "name": entry.name,
        "area": entry.area,
        "department": entry.department,
        "version": entry.version,
        "cadence": entry.cadence.kind.value,
    }
