"""CPU seconds used by groups of processes (Linux /proc), to say where a benchmark's time went: the
web workers, the dispatchers, PostgreSQL's backends for the benchmark's database, the clients."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_EARLY_S = 0.5


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # after "pid (comm) "


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far (0 if it is gone)."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / _TICK if fields else 0.0


def with_descendants(pids: list[int]) -> list[int]:
    """The processes and every process below them (uvicorn's workers, a pool's clients)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


class CpuMeter:
    """CPU seconds each group used between two moments (the processes are looked up at each)."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self.groups = groups
        self.start: dict[int, float] = {}
        self.used: dict[str, float] = {}

    def _sample(self) -> dict[str, dict[int, float]]:
        return {name: {pid: cpu_seconds(pid) for pid in pids()} for name, pids in self.groups.items()}

    def measure_between(self, start_at: float, stop_at: float) -> threading.Thread:
        """Sample at the two wall-clock times in a thread; read `used` (scaled to the whole window)
        after joining it. The second sample is taken a little early, while the clients still run."""
        def run() -> None:
            time.sleep(max(0.0, start_at - time.time()))
            first, t0 = self._sample(), time.time()
            time.sleep(max(0.0, stop_at - _EARLY_S - time.time()))
            second, t1 = self._sample(), time.time()
            scale = (stop_at - start_at) / max(t1 - t0, 1e-6)
            self.used = {name: round(scale * sum(t - first[name].get(pid, 0.0)
                                                 for pid, t in second[name].items()), 2)
                         for name in self.groups}

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread
