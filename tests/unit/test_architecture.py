"""The architecture of docs/architecture.md, checked: the import-linter contracts in pyproject.toml
hold, no module takes part in an import cycle (imports inside functions included), nothing is wired
through importlib, and the domain imports only the standard library."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gkflow", "notifications", "flows")


def python_files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def imported_top_modules(path: Path) -> set[tuple[str, int]]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {(alias.name, node.lineno) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.module, node.lineno))
    return found


def test_the_import_contracts_of_pyproject_hold():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--config", str(ROOT / "pyproject.toml"),
         "--no-cache", "--no-logo"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    kept = re.search(r"Contracts: (\d+) kept, 0 broken", result.stdout)
    assert kept and int(kept.group(1)) >= 6, result.stdout[-2000:]


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the groups of modules that import each other in a loop."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def test_no_module_takes_part_in_an_import_cycle():
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) & graph.modules for m in graph.modules}
    # A package's __init__ re-exporting its own modules is not a cycle between rooms.
    edges = {m: {i for i in imported if not m.startswith(i + ".")} for m, imported in edges.items()}
    assert _strongly_connected(edges) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_nothing_is_wired_through_importlib():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: imports {module}"
        for path in python_files()
        for module, line in imported_top_modules(path)
        if module.split(".")[0] == "importlib" and module != "importlib.metadata"
    ]
    assert offenders == []


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


@pytest.mark.parametrize("path", python_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_module_over_350_lines_says_why_at_its_top(path: Path):
    lines = path.read_text(encoding="utf-8").splitlines()
    if len(lines) <= 350:
        return
    head = "\n".join(lines[:15]).lower()
    assert "why this module is long" in head, f"{len(lines)} lines: split it, or say why at its top"
