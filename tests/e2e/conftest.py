"""One Prefect test harness for the whole session (≈13 s to enter; PREFECT.md), heartbeats off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    # Heartbeats off only in tests: a sync flow otherwise waits for its 1 s heartbeat thread.
    with prefect_test_harness(server_startup_timeout=180), \
            temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


@pytest.fixture
def flows_use(prefect_harness: None) -> Iterator[object]:
    """Install a Runtime for flows run in this process; forget it afterwards."""
    from flows.runtime import use_runtime

    def install(rt: object) -> object:
        use_runtime(rt)  # type: ignore[arg-type]
        return rt

    yield install
    use_runtime(None)
