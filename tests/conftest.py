"""Shared fixtures: an isolated var dir, real SQLite and real PostgreSQL runtimes, a fixed clock."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

# Before anything imports Prefect: keep it offline, quiet, and out of ~/.prefect.
_PREFECT_HOME = Path(tempfile.mkdtemp(prefix="gkflow-test-prefect-"))
os.environ["PREFECT_HOME"] = str(_PREFECT_HOME)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.setdefault("PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED", "false")

from gkflow.clock import FixedClock  # noqa: E402
from gkflow.runtime import Runtime  # noqa: E402
from gkflow.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"
PG_ADMIN_URL = os.environ.get(
    "GKFLOW_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's var/ or .env: each gets its own var dir."""
    monkeypatch.setenv("GKFLOW_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("GKFLOW_CONFIG_DIR", str(CONFIG_DIR))
    monkeypatch.delenv("GKFLOW_DATABASE_URL", raising=False)


def _pg_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {exc}".strip()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A fresh database on the machine's real PostgreSQL for this test session."""
    problem = _pg_reachable()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL must be reachable in CI at {PG_ADMIN_URL}: {problem}")
        pytest.skip(f"no PostgreSQL reachable at {PG_ADMIN_URL} ({problem}); set GKFLOW_TEST_PG_URL")
    import psycopg

    name = f"gkflow_test_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _reset_postgres(url: str) -> None:
    from sqlalchemy import text

    from gkflow.db.engine import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def make_runtime(url: str, tmp_path: Path, clock: FixedClock) -> Runtime:
    from gkflow.services.catalogue_sync import init_database
    from gkflow.services.keys import generate_missing_keys

    settings = Settings(var_dir=tmp_path / "var", database_url=url, config_dir=CONFIG_DIR)
    generate_missing_keys(settings)  # as `gkflow init` does on the embedded default
    rt = Runtime(settings, clock)
    init_database(rt)
    return rt


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))  # Monday 09:30 in Golmud


@pytest.fixture
def sqlite_rt(tmp_path: Path, clock: FixedClock) -> Iterator[Runtime]:
    rt = make_runtime(f"sqlite:///{tmp_path / 'gkflow.db'}", tmp_path, clock)
    yield rt
    rt.engine.dispose()


@pytest.fixture
def pg_rt(postgres_server: str, tmp_path: Path, clock: FixedClock) -> Iterator[Runtime]:
    _reset_postgres(postgres_server)
    rt = make_runtime(postgres_server, tmp_path, clock)
    yield rt
    rt.engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def rt(request: pytest.FixtureRequest) -> Runtime:
    """The same test on real SQLite and on real PostgreSQL (that half is marked ``postgres``)."""
    return request.getfixturevalue(f"{request.param}_rt" if request.param == "sqlite" else "pg_rt")


POSTGRES_FIXTURES = frozenset({"postgres_server", "pg_rt"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``postgres`` every test that reaches PostgreSQL through a fixture, directly or through
    another fixture, so that ``-m "not postgres"`` leaves them all out (``rt`` marks its own half)."""
    for item in items:
        if POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright (no browser download); skipped without it
    outside CI, a failure in CI."""
    if not os.path.exists(CHROMIUM):
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing in CI (.ci/run installs Debian's chromium package)")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium) — browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()
