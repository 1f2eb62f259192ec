"""Run every benchmark module (or those named) and print one JSON line per figure.

    python -m bench                      # all
    python -m bench transitions          # bench/bench_transitions.py only
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import tempfile
import traceback
from pathlib import Path

MODULES = ["transitions", "lookup", "search", "dispatch", "publication", "web", "apply"]


def main(argv: list[str]) -> int:
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="gkflow-bench-prefect-"))
    for key, value in {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
                       "PREFECT_LOGGING_LEVEL": "WARNING",
                       "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"}.items():
        os.environ.setdefault(key, value)
    wanted = argv or MODULES
    failed = 0
    for name in wanted:
        path = Path(__file__).with_name(f"bench_{name}.py")
        if not path.exists():
            print(json.dumps({"figure": name, "error": "no such benchmark module"}), flush=True)
            failed += 1
            continue
        try:
            module = importlib.import_module(f"bench.bench_{name}")
            for figure in module.run():
                print(json.dumps(figure, ensure_ascii=False), flush=True)
        except Exception as exc:  # noqa: BLE001 - report and go on with the other figures
            traceback.print_exc(file=sys.stderr)
            print(json.dumps({"figure": name, "error": f"{type(exc).__name__}: {exc}"}), flush=True)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
