"""Helpers shared by the tests (import them; fixtures live in the conftest files)."""

from __future__ import annotations

from typing import Any

from gkflow.runtime import Runtime


def with_settings(rt: Runtime, **changes: Any) -> Runtime:
    """The same database and clock under settings with ``changes`` (settings are read once, at
    start-up, as a process would: a test changes them here, not through the environment)."""
    return Runtime(rt.settings.model_copy(update=changes), rt.clock, engine_override=rt.engine)
