"""The Runtime a flow works with: the one its process installed (gkflow serve, tests), else from env."""

from __future__ import annotations

import threading

from gkflow.runtime import Runtime, runtime_from_env

_lock = threading.Lock()
_runtime: Runtime | None = None


def use_runtime(rt: Runtime | None) -> None:
    """Install ``rt`` for flows run in this process (None: build from GKFLOW_* again)."""
    global _runtime
    with _lock:
        _runtime = rt


def current_runtime() -> Runtime:
    global _runtime
    with _lock:
        if _runtime is None:
            # A worker process: everything comes from GKFLOW_* settings, as in `gkflow serve`.
            _runtime = runtime_from_env()
        return _runtime
