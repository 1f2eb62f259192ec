"""The item loader under hostile files: every crash a fuzzer found is a ``file:line: message``, an
alias bomb is refused at once, and no generated edit of a valid file makes the loader raise."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gkflow.catalogue import load_catalogue_files
from gkflow.config.yaml_lines import MAX_FILE_BYTES
from tests.unit.test_catalogue import BASE, edit


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "permit.yaml"
    path.write_text(text, encoding="utf-8")
    loaded, problems = load_catalogue_files(path, root=tmp_path)
    assert problems or loaded
    return problems


def test_an_alias_bomb_inside_a_valid_field_is_refused_at_once(tmp_path):
    bomb = ["description: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    bomb += [f"fee: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
             f"*a{i - 1}, *a{i - 1}, *a{i - 1}]" if i == 1 else
             f"x{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
             f"*a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 10)]
    text = BASE + "\n".join(bomb) + "\n"
    started = time.monotonic()
    problems = problems_of(tmp_path, text)
    assert time.monotonic() - started < 2
    assert len(problems) == 1 and "aliases expand this document beyond" in problems[0], problems
    assert re.match(r"permit\.yaml:\d+: ", problems[0])


def test_a_self_referring_alias_is_refused(tmp_path):
    text = edit(BASE, 6, "basis: [《测试条例》第一条]", "basis: &b [《测试条例》第一条, *b]")
    assert problems_of(tmp_path, text) == ["permit.yaml:6: an alias refers to a value that contains it"]


def test_a_file_over_the_size_cap_is_refused_unread(tmp_path):
    text = BASE + "# " + "x" * MAX_FILE_BYTES + "\n"
    assert problems_of(tmp_path, text) == ["permit.yaml:1: the file is larger than 256 KiB"]


@pytest.mark.parametrize(("line", "old", "new", "expected"), [
    (18, "    to: awaiting_correction", "    to: [awaiting_correction, under_review]",
     "permit.yaml:18: transition 'request_correction': 'to' names one state, got LineList"),
    (18, "    to: awaiting_correction", "    to: {a: 1}",
     "permit.yaml:18: transition 'request_correction': 'to' names one state, got LineDict"),
    (25, "    clock: restart", "    clock: [restart]",
     "permit.yaml:25: transition 'submit_correction': clock must be stop, resume, restart or extend, "
     "got ['restart']"),
    (9, "initial: received", "initial: [received]", "permit.yaml:9: 'initial' must be text, got LineList"),
    (7, "statutory_limit: {days: 20, unit: working}", "statutory_limit: {days: 20, unit: [working]}",
     "permit.yaml:7: statutory_limit: unit must be 'working' or 'calendar', got ['working']"),
    (7, "statutory_limit: {days: 20, unit: working}", "statutory_limit: {days: 20, unit: {a: 1}}",
     "permit.yaml:7: statutory_limit: unit must be 'working' or 'calendar', got {'a': 1}"),
    (2, "name: 测试许可", "name: !!set {a, b}", "permit.yaml:2: a YAML set (!!set) is not allowed here "
     "(use a list or a mapping)"),
    (25, "    clock: restart", "    clock: !!set {restart}", "permit.yaml:25: a YAML set (!!set) is not "
     "allowed here (use a list or a mapping)"),
    (2, "name: 测试许可", "name: !!binary aGVsbG8=", "permit.yaml:2: binary data (!!binary) is not "
     "allowed here (use a list or a mapping)"),
    (2, "name: 测试许可", "name: 测试许可\nmaterials: 2020-01-01",
     "permit.yaml:3: materials must be a list (a name, or {name, required, note})"),
    (2, "name: 测试许可", "name: [测试许可]", "permit.yaml:2: 'name' must be text, got LineList"),
    (2, "name: 测试许可", "name: 测试许可\n? [a, b]\n: x",
     "permit.yaml:3: a key must be a name, not a list or a mapping"),
    (18, "    to: awaiting_correction", "    to:", "permit.yaml:18: transition 'request_correction': "
     "needs 'to' (one state)"),
])
def test_each_crash_the_fuzzer_found_is_a_file_line_message(tmp_path, line, old, new, expected):
    assert expected in problems_of(tmp_path, edit(BASE, line, old, new))


def test_a_deeply_nested_value_is_a_problem_not_a_crash(tmp_path):
    text = edit(BASE, 2, "name: 测试许可", "name: " + "[" * 20_000 + "]" * 20_000)
    assert problems_of(tmp_path, text) == ["permit.yaml:1: the document nests too deeply"]


# -- the fuzzer: replace the value on one line of a valid file with a hostile YAML value -------------

_VALUE_LINE = re.compile(r"^(\s*(?:- )?[\w-]+:)\s*\S.*$")
VALUE_LINES = [i for i, text in enumerate(BASE.splitlines()) if _VALUE_LINE.match(text)]

_SCALARS = st.one_of(
    st.sampled_from(["null", "true", "0", "-1", "1.5", ".nan", "2020-01-01", "2020-01-01 10:00:00", "''",
                     "'\\0'", "\"\\0\"", "received", "working", "stop", "*nowhere", "&x 1", "!!set {a}",
                     "!!binary aGVsbG8=", "!!omap [a: 1]", "!!pairs [a: 1]", "!!python/name:os.system",
                     "!!int x", "{", "[", "!!str", "|", ">-"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=20),
)
VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(st.tuples(st.sampled_from(["a", "to", "days", "unit", "label", "[x]", "{y: 1}"]), inner),
                 max_size=3).map(lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"),
    ),
    max_leaves=8,
)


@given(line=st.sampled_from(VALUE_LINES), value=VALUES)
@settings(max_examples=400, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_no_edit_of_a_valid_file_makes_the_loader_raise(tmp_path, line, value):
    lines = BASE.splitlines()
    key = _VALUE_LINE.match(lines[line]).group(1)
    lines[line] = f"{key} {value}"
    path = tmp_path / "permit.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded, problems = load_catalogue_files(path, root=tmp_path)
    for problem in problems:
        assert re.match(r"permit\.yaml:\d+: \S", problem), problem
