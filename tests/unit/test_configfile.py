"""Every settings file under config/ fails the same clear way."""

from __future__ import annotations

import pytest

from gkflow.config.files import read_mapping
from gkflow.domain.errors import InvalidConfig


def test_a_syntax_error_names_the_file_and_line(tmp_path):
    path = tmp_path / "schedules.yaml"
    path.write_text("timezone: Asia/Shanghai\npublications:\n  fiscal: {cron: '0 9 5 * *'\n",
                    encoding="utf-8")
    with pytest.raises(InvalidConfig, match=r"schedules\.yaml:4: YAML syntax error"):
        read_mapping(path)


def test_a_missing_file_is_empty_unless_something_needs_it(tmp_path):
    assert read_mapping(tmp_path / "ratings.yaml") == {}
    with pytest.raises(InvalidConfig, match="missing \\(cadences are configured there\\)"):
        read_mapping(tmp_path / "schedules.yaml", required_for="cadences are configured there")


def test_the_top_must_be_a_mapping(tmp_path):
    path = tmp_path / "channels.yaml"
    path.write_text("- sms\n- email\n", encoding="utf-8")
    with pytest.raises(InvalidConfig, match=r"channels\.yaml:1: expected a mapping at the top, got list"):
        read_mapping(path)
    path.write_text("", encoding="utf-8")
    assert read_mapping(path) == {}
