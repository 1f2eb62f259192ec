"""SMS accounting: UCS-2 for anything non-ASCII, counted in UTF-16 code units."""

from __future__ import annotations

import pytest

from notifications.sms_length import is_ucs2, parse_max_parts, sms_parts, utf16_units


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("", 0),
        ("办" * 70, 1),
        ("办" * 71, 2),
        ("办" * 134, 2),
        ("办" * 135, 3),
        ("a" * 69 + "办", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
    ],
)
def test_parts_follow_the_ucs2_and_gsm7_limits(text: str, parts: int):
    assert sms_parts(text) == parts


def test_one_non_ascii_character_makes_the_whole_text_ucs2():
    assert is_ucs2("Your case GEM-1 is accepted。")
    assert not is_ucs2("Your case GEM-1 is accepted.")
    assert sms_parts("a" * 100 + "。") == 2


def test_characters_outside_the_bmp_count_as_two_code_units():
    assert utf16_units("😀") == 2
    assert sms_parts("办" * 69 + "😀") == 2


def test_max_parts_header_is_read_from_the_template_source():
    assert parse_max_parts("{# max_parts: 3 #}\n{{ x }}") == 3
    assert parse_max_parts("{#- max_parts:12 -#}") == 12
    assert parse_max_parts("{{ x }}") is None
