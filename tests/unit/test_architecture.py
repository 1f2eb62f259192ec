"""The domain imports only the standard library; notifications imports nothing from gkflow."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_top_modules(path: Path) -> set[tuple[str, int]]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {(alias.name, node.lineno) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.module, node.lineno))
    return found


def test_domain_imports_only_the_standard_library():
    offenders = []
    for path in sorted((ROOT / "gkflow" / "domain").rglob("*.py")):
        for module, line in imported_top_modules(path):
            top = module.split(".")[0]
            if module.startswith("gkflow.domain") or top == "__future__":
                continue
            if top not in sys.stdlib_module_names:
                offenders.append(f"{path.relative_to(ROOT)}:{line}: imports {module}")
    assert offenders == []


def test_notifications_import_nothing_from_gkflow():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: imports {module}"
        for path in sorted((ROOT / "notifications").rglob("*.py"))
        for module, line in imported_top_modules(path)
        if module.split(".")[0] in ("gkflow", "flows")
    ]
    assert offenders == []
