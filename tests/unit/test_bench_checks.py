"""`make bench` refuses figures that are not figures: an error, a missing or non-finite number."""

from __future__ import annotations

import math

import pytest

from bench.__main__ import figure_problem, main, split_argv

GOOD = {"figure": "x", "value": 2.0, "unit": "ms", "ceiling": 1.0, "ratio": 0.5}


def test_a_complete_figure_has_no_problem():
    assert figure_problem(GOOD) is None


@pytest.mark.parametrize("change", [{"value": 0}, {"ceiling": math.nan}, {"ratio": None}, {"value": True},
                                    {"ratio": math.inf}, {"unit": None}, {"error": "boom"}])
def test_a_figure_without_a_finite_positive_number_or_with_an_error_is_a_problem(change):
    assert figure_problem({**GOOD, **change})


def test_options_go_to_the_one_module_named_before_them():
    assert split_argv(["--tiny", "sustained", "--minutes", "1"]) == (True, ["sustained"], ["--minutes", "1"])
    assert split_argv(["a", "b"]) == (False, ["a", "b"], [])


def test_an_unknown_module_or_options_without_one_module_exit_non_zero(capsys):
    assert main(["no-such-module"]) == 1
    assert '"error": "no such benchmark module"' in capsys.readouterr().out
    assert main(["a", "b", "--minutes", "1"]) == 2
