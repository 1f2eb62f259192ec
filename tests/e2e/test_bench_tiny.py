"""Every benchmark module runs on its tiny size and prints well-formed figures, so a benchmark that
breaks (a missing config file, a renamed service, a figure of 0) fails CI instead of `make bench`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import MODULES

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize("module", MODULES)
def test_each_benchmark_module_runs_on_its_tiny_size_and_prints_valid_figures(module, tmp_path):
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    done = subprocess.run([sys.executable, "-m", "bench", "--tiny", module], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr[-3000:]}"
    assert lines, f"bench {module} printed no figure"
    for line in lines:
        assert line["tiny"] is True and "error" not in line, line
        if "skipped" not in line:
            assert line["value"] > 0 and line["ceiling"] > 0 and line["ratio"] > 0, line
