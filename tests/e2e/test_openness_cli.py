"""`gkflow openness list|show|validate` and `gkflow scorecard` as a user runs them (real processes)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.e2e.test_cli import ROOT, gk, js  # noqa: F401 - the gk fixture

__all__ = ["gk"]


def test_the_directory_from_the_command_line(gk) -> None:  # noqa: F811
    assert js(gk("openness", "validate", "--json")) == {
        "ok": True,
        "areas": 10,
        "entries": 29,
        "versions": 29,
    }
    listed = js(gk("openness", "list", "--area", "work-safety", "--json"))
    assert [e["code"] for e in listed] == ["fireworks-licences", "hazchem-licences", "licence-procedures"]
    assert listed[0]["punctuality"]["open_overdue"] == 0
    shown = js(gk("openness", "show", "government-budget", "--json"))
    assert shown["time_limit"]["rule"] == "20个自然日" and shown["department"] == "格尔木市财政局"
    assert shown["basis"][0]["text"].startswith("经本级人民代表大会")
    missing = gk("openness", "show", "no-such-entry", "--json", ok=False)
    assert missing.returncode == 1 and json.loads(missing.stdout)["error"]["code"] == "not_found"


def test_a_broken_directory_file_fails_validation_with_its_file_and_line(gk, tmp_path: Path) -> None:  # noqa: F811
    copy = tmp_path / "openness"
    shutil.copytree(ROOT / "config" / "openness", copy)
    path = copy / "tax.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "channels: [website, hall, press]", "channels: [website, tv]"
        ),
        encoding="utf-8",
    )
    proc: subprocess.CompletedProcess[str] = gk("openness", "validate", str(copy), ok=False)
    assert proc.returncode == 1
    line = next(
        n
        for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "[website, tv]" in text
    )
    assert f"openness/tax.yaml:{line}: channels: unknown channel 'tv'" in proc.stderr


def test_the_scorecard_prints_every_department_as_json(gk) -> None:  # noqa: F811
    card = js(gk("scorecard", "--period", "2025-11", "--json"))
    assert card["period"] == "2025-11"
    first = card["departments"][0]
    assert {"department", "score", "zeroed", "reason", "indicators"} <= first.keys()
    assert set(first["indicators"]) >= {"statutory_on_time", "satisfaction", "directory_on_time"}
    bad = gk("scorecard", "--period", "2026-13", "--json", ok=False)
    assert bad.returncode == 1 and json.loads(bad.stdout)["error"]["code"] == "invalid_input"
