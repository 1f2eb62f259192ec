"""Reading the small YAML files under config/: one place for "missing", syntax errors (file:line) and
"the top must be a mapping", so every settings file fails the same clear way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gkflow.config.yaml_lines import MAX_FILE_BYTES, BoundedSafeLoader, syntax_error
from gkflow.domain.errors import InvalidConfig


def read_mapping(path: Path | str, *, required_for: str | None = None) -> dict[str, Any]:
    """The file's top-level mapping. A missing file is an empty mapping unless ``required_for`` says
    what needs it; a syntax error names the file and line."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InvalidConfig(f"{path}:1: the file is larger than {MAX_FILE_BYTES // 1024} KiB")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required_for:
            raise InvalidConfig(f"{path}: missing ({required_for})") from None
        return {}
    try:
        data = yaml.load(text, Loader=BoundedSafeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        line, message = syntax_error(exc)
        raise InvalidConfig(f"{path}:{line}: {message}") from None
    except yaml.YAMLError as exc:
        raise InvalidConfig(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidConfig(f"{path}:1: expected a mapping at the top, got {type(data).__name__}")
    return data


def yaml_files(path: Path) -> list[Path]:
    """``path`` itself if it is a file, else the *.yaml and *.yml files directly in it, sorted."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))


def display_path(file: Path, root: Path | None) -> str:
    """``file`` relative to ``root`` (default: the working directory) when it lies below it."""
    try:
        return str(file.resolve().relative_to((root or Path.cwd()).resolve()))
    except ValueError:
        return str(file)
