"""Fixtures of the unit tests."""

from __future__ import annotations

import pytest

from gkflow.config.calendar import package_schedules
from gkflow.domain.calendar import WorkingCalendar


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    """The national working-day calendar from chinese-calendar's schedules (no festival data)."""
    return WorkingCalendar(package_schedules())
