"""Run every benchmark module (or those named) and print one JSON line per figure.

    python -m bench                                # every module of MODULES
    python -m bench transitions lookup             # bench/bench_transitions.py, bench/bench_lookup.py
    python -m bench sustained --minutes 10 --workers 1 2 4    # options after one module's name
    python -m bench --tiny                         # every module on a tiny size: a check, not a figure

A module is `bench/bench_<name>.py` with `run(*, tiny: bool = False, args: Sequence[str] = ())`
returning its figures. The exit status is 1 when a module is unknown or raises, or when a figure
comes back without a finite, positive value, ceiling and ratio: a broken benchmark cannot pass
silently (tests/e2e/test_bench_tiny.py runs each module on its tiny size).
"""

from __future__ import annotations

import importlib
import json
import math
import os
import sys
import tempfile
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# The registry: one name per bench/bench_<name>.py, in the order `make bench` runs them.
MODULES = ["transitions", "lookup", "search", "dispatch", "publication", "web", "apply", "sustained"]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def figure_problem(line: Mapping[str, Any]) -> str | None:
    """Why a figure line is not a usable figure, or None if it is."""
    if "error" in line:
        return str(line["error"])
    if "skipped" in line:
        return f"skipped in CI: {line['skipped']}" if IN_CI else None
    if not isinstance(line.get("figure"), str) or not isinstance(line.get("unit"), str):
        return "a figure needs a name and a unit"
    for key in ("value", "ceiling", "ratio"):
        number = line.get(key)
        if isinstance(number, bool) or not isinstance(number, int | float):
            return f"{key} is not a number: {number!r}"
        if not math.isfinite(number) or number <= 0:
            return f"{key} is not a finite positive number: {number!r}"
    return None


def split_argv(argv: list[str]) -> tuple[bool, list[str], list[str]]:
    """(tiny, module names, options for the one named module)."""
    tiny = "--tiny" in argv[:1]
    rest = argv[1:] if tiny else argv
    names = []
    while rest and not rest[0].startswith("-"):
        names.append(rest.pop(0))
    return tiny, names, rest


def run_module(name: str, *, tiny: bool, args: list[str]) -> int:
    """Print the module's figures; the number of failed figures (an exception counts as one)."""
    path = Path(__file__).with_name(f"bench_{name}.py")
    if not path.exists():
        print(json.dumps({"figure": name, "error": "no such benchmark module"}), flush=True)
        return 1
    failed = 0
    try:
        module = importlib.import_module(f"bench.bench_{name}")
        for line in module.run(tiny=tiny, args=args):
            problem = figure_problem(line)
            if problem is not None and "error" not in line:
                line = {**line, "error": problem}
            if tiny:
                line = {**line, "tiny": True}
            print(json.dumps(line, ensure_ascii=False), flush=True)
            failed += problem is not None
    except Exception as exc:  # noqa: BLE001 - report and go on with the other modules
        traceback.print_exc(file=sys.stderr)
        print(json.dumps({"figure": name, "error": f"{type(exc).__name__}: {exc}"}), flush=True)
        failed += 1
    return failed


def main(argv: list[str]) -> int:
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="gkflow-bench-prefect-"))
    for key, value in {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
                       "PREFECT_LOGGING_LEVEL": "WARNING",
                       "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"}.items():
        os.environ.setdefault(key, value)
    tiny, names, options = split_argv(list(argv))
    if options and len(names) != 1:
        print("options go after exactly one module name, e.g. `python -m bench sustained --minutes 10`",
              file=sys.stderr)
        return 2
    failed = sum(run_module(name, tiny=tiny, args=options) for name in names or MODULES)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
