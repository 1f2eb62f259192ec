"""Engines for SQLite (embedded) and PostgreSQL (distributed); nothing connects at import time."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

WRITE_OPTION = "gkflow_write"
BUSY_TIMEOUT_S = 10.0

# One gate per SQLite database file in this process. SQLite lets one writer in at a time; threads
# that find the write lock taken poll it from the busy handler, sleeping up to 100 ms between tries,
# so a freed lock sat idle while every waiter slept (bench `apply.http`: p99 258 ms with four
# clients). Waiting on a Python lock wakes the next writer the moment the last one has committed.
# Other processes on the same file still queue on busy_timeout.
_gates: dict[str, threading.Lock] = {}
_holders: dict[int, threading.Lock] = {}  # id(DBAPI connection) → the gate it holds
_gates_lock = threading.Lock()


def writer_gate(database: str) -> threading.Lock:
    """The in-process gate of writers to one SQLite database file."""
    gate = _gates.get(database)
    if gate is None:
        with _gates_lock:
            gate = _gates.setdefault(str(Path(database).resolve()), threading.Lock())
            _gates[database] = gate
    return gate


def _raw_id(connection: Any) -> int:
    # SQLAlchemy hands the dialect its pool proxy (which has `dbapi_connection`), the pool the raw one.
    return id(getattr(connection, "dbapi_connection", connection))


def enter_gate(gate: threading.Lock | None, dbapi_connection: Any) -> None:
    """Before BEGIN IMMEDIATE: wait for the gate (at most the busy timeout; then SQLite decides)."""
    key = _raw_id(dbapi_connection)
    if gate is not None and key not in _holders and gate.acquire(timeout=BUSY_TIMEOUT_S):
        _holders[key] = gate


def leave_gate(dbapi_connection: Any) -> None:
    """After COMMIT or ROLLBACK (or when the connection goes back to the pool)."""
    gate = _holders.pop(_raw_id(dbapi_connection), None)
    if gate is not None:
        gate.release()


def sqlite_gate(engine: Engine) -> threading.Lock | None:
    """The writer gate of a SQLite engine on a file, else None."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return writer_gate(database)


def write_connection(engine: Engine) -> Connection:
    """A connection whose transactions take the write lock at BEGIN (SQLite: BEGIN IMMEDIATE)."""
    return engine.connect().execution_options(**{WRITE_OPTION: True})


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here (psycopg2 is not a dependency)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """An engine for ``url``: SQLite with WAL and BEGIN IMMEDIATE for writers, or PostgreSQL. Statement
    parameters (names, phone and ID numbers) never appear in SQLAlchemy's errors or logs."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, pool_size=pool_size, max_overflow=20, connect_args={"check_same_thread": False},
            hide_parameters=True,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=False,
                         hide_parameters=True)


def _configure_sqlite(engine: Engine) -> None:
    gate = sqlite_gate(engine)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        # Writers take the write lock up front: a deferred transaction that later upgrades
        # fails with SQLITE_BUSY at once instead of waiting on busy_timeout.
        # Straight on the DBAPI connection: SQLAlchemy's execution context would cost ~40 µs.
        options = conn.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return  # Runtime.read_engine: each statement on its own
        dbapi_connection = conn.connection.dbapi_connection
        if not options.get(WRITE_OPTION):
            dbapi_connection.execute("BEGIN")
            return
        enter_gate(gate, dbapi_connection)
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
        except BaseException:
            leave_gate(dbapi_connection)
            raise

    # The gate opens after the COMMIT or ROLLBACK itself (a "commit" event would run before it).
    dialect: Any = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_connection: Any) -> None:
        try:
            commit(dbapi_connection)
        finally:
            leave_gate(dbapi_connection)

    def do_rollback(dbapi_connection: Any) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            leave_gate(dbapi_connection)

    dialect.do_commit, dialect.do_rollback = do_commit, do_rollback

    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        if dbapi_connection is not None:
            leave_gate(dbapi_connection)  # given back with a transaction still open
