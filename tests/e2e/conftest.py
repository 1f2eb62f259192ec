"""One Prefect test harness for the whole session (≈13 s to enter; PREFECT.md), heartbeats off, and
a runtime installed for the flows run in the test process."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from gkflow.delivery.config import ChannelsConfig
from gkflow.runtime import Runtime


@pytest.fixture(scope="session")
def prefect_harness(pytestconfig: pytest.Config) -> Iterator[None]:
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    # Heartbeats off only in tests: a sync flow otherwise waits for its 1 s heartbeat thread.
    with prefect_test_harness(server_startup_timeout=180), \
            temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        # Prefect 3.9's flow engine reads the server's default result storage through a client it
        # never closes (prefect/results.py, _read_server_default_result_storage_block_id): one
        # socket to the harness server per flow run, "unclosed" whenever the collector gets to it,
        # in whichever test runs then. Ignore exactly those: unclosed sockets to this server's port.
        port = urlsplit(PREFECT_API_URL.value()).port
        unclosed = rf"Exception ignored in. <socket\.socket .*raddr=\('127\.0\.0\.1', {port}\)>"
        # For the tests still to run (pytest reads its filters as each test starts) and this one:
        pytestconfig.addinivalue_line("filterwarnings",
                                      f"ignore:{unclosed}:pytest.PytestUnraisableExceptionWarning")
        warnings.filterwarnings("ignore", unclosed, pytest.PytestUnraisableExceptionWarning)
        yield
        # Finalise the leaked sockets now, inside the last test's warning filters: collected later, at
        # the session's end, they would be reported under the plain "error" filter.
        gc.collect()


@pytest.fixture
def flows_use(prefect_harness: None) -> Iterator[object]:
    """Install a Runtime for flows run in this process; forget it afterwards."""
    from flows.runtime import use_runtime

    def install(rt: object) -> object:
        use_runtime(rt)  # type: ignore[arg-type]
        return rt

    yield install
    use_runtime(None)


@pytest.fixture
def flow_rt(sqlite_rt: Runtime, flows_use: Callable[[Runtime], Runtime], tmp_path: Path) -> Iterator[Runtime]:
    """``sqlite_rt`` installed for flows run in this process; notices the flows dispatch go to a
    sandbox inbox in ``tmp_path / "inbox"``, at any hour."""
    from flows.dispatch import use_channels_config

    flows_use(sqlite_rt)
    use_channels_config(ChannelsConfig(inbox_dir=tmp_path / "inbox", quiet_start="00:00", quiet_end="00:00"))
    yield sqlite_rt
    use_channels_config(None)
