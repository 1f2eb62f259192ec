"""State diagrams: laid out by grandalf, every state and label readable (no two boxes overlap)."""

from __future__ import annotations

import re
from itertools import combinations
from pathlib import Path

import pytest

from gkflow.catalogue import load_catalogue_files
from gkflow.web.diagrams import state_diagram, text_width, wrap

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = load_catalogue_files(ROOT / "config" / "items", root=ROOT)[0]
BOX = re.compile(r'<rect class="(state-box|label-box)" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" '
                 r'height="([\d.]+)"')


@pytest.mark.parametrize("loaded", VERSIONS, ids=lambda v: f"{v.item.code}-v{v.item.version}")
def test_no_two_boxes_of_a_state_diagram_intersect(loaded):
    item = loaded.item
    svg = str(state_diagram(item))
    boxes = [(kind, float(x), float(y), float(w), float(h)) for kind, x, y, w, h in BOX.findall(svg)]
    labels = sum(len(t.sources) for t in item.transitions.values())
    assert sum(1 for b in boxes if b[0] == "state-box") == len(item.states)
    assert sum(1 for b in boxes if b[0] == "label-box") == labels
    for a, b in combinations(boxes, 2):
        apart = (a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1] or a[2] + a[4] <= b[2] or b[2] + b[4] <= a[2])
        assert apart, f"{item.code}: {a} overlaps {b}"
    for t in item.transitions.values():  # every label is shown whole, never cut with "…"
        assert "".join(wrap(t.label)) == t.label and "…" not in svg


def test_labels_wrap_after_punctuation_and_widths_count_chinese_as_square():
    assert wrap("逾期未补正，视为放弃申请并告知") == ["逾期未补正，", "视为放弃申请并告知"]
    assert text_width("受理") == 24 and text_width("ab") == pytest.approx(14.4)
