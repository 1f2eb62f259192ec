"""SQLite writers of one process queue on a lock before BEGIN IMMEDIATE (decision 61): the gate is
let go after every way a write transaction can end, and it never turns a wait into a lost write."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from gkflow.db import engine as engine_module
from gkflow.db.engine import make_engine, write_connection
from gkflow.db.fastsql import write_transaction


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    yield eng
    eng.dispose()


def _held(engine: Engine) -> bool:
    return engine_module.sqlite_gate(engine).locked()  # type: ignore[union-attr]


def test_the_gate_is_held_inside_a_write_and_let_go_after_commit_rollback_and_close(engine: Engine) -> None:
    with write_connection(engine) as conn, conn.begin():
        conn.execute(text("INSERT INTO t VALUES (1)"))
        assert _held(engine)
    assert not _held(engine)

    with pytest.raises(ValueError), write_connection(engine) as conn, conn.begin():
        conn.execute(text("INSERT INTO t VALUES (2)"))
        raise ValueError
    assert not _held(engine)

    conn = write_connection(engine)
    conn.begin()
    conn.execute(text("INSERT INTO t VALUES (3)"))
    conn.close()  # given back with its transaction open: rolled back, gate open
    assert not _held(engine)

    with pytest.raises(ValueError), write_transaction(engine) as db:
        db.execute("INSERT INTO t VALUES (4)", {})
        assert _held(engine)
        raise ValueError
    assert not _held(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT x FROM t")).scalars().all() == [1]


def test_readers_do_not_take_the_gate(engine: Engine) -> None:
    with write_connection(engine) as conn, conn.begin(), engine.connect() as reader:
        assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0


def test_concurrent_writers_on_both_paths_all_land(engine: Engine) -> None:
    def core(n: int) -> None:
        for i in range(50):
            with write_connection(engine) as conn, conn.begin():
                conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": n * 1000 + i})

    def fast(n: int) -> None:
        for i in range(50):
            with write_transaction(engine) as db:
                db.execute("INSERT INTO t VALUES (:x)", {"x": n * 1000 + i})

    threads = [threading.Thread(target=f, args=(n,)) for n, f in enumerate([core, fast, core, fast])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(DISTINCT x) FROM t")).scalar() == 200
    assert not _held(engine)


def test_a_writer_does_not_wait_forever_on_a_gate_nobody_lets_go(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_S", 0.2)
    gate = engine_module.sqlite_gate(engine)
    assert gate is not None
    gate.acquire()  # a holder that never lets go (no transaction open in SQLite)
    try:
        with write_connection(engine) as conn, conn.begin():
            conn.execute(text("INSERT INTO t VALUES (9)"))
    finally:
        gate.release()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT x FROM t")).scalars().all() == [9]
