"""Who runs the embedded scheduler: the lock that elects one process, and the row that tells others.

The lock is the authority: a PostgreSQL session advisory lock held on a connection of its own (the
server releases it when that connection ends, so a killed process gives it up at once), or on SQLite
an exclusive `flock` on a file beside the database (the kernel releases it when the process dies).
The `scheduler_leader` row only reports who holds it, with a heartbeat, for `/healthz`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, Engine, select
from sqlmodel import Field, SQLModel

from gkflow.db.models import table_of

# One advisory lock key for "the embedded scheduler of this database" (init uses 727001).
ADVISORY_KEY = 727002
ROLE = "scheduler"


class SchedulerLeaderRow(SQLModel, table=True):
    """The process holding the scheduler lock, as it last reported itself."""

    __tablename__ = "scheduler_leader"

    role: str = Field(primary_key=True)
    holder: str  # host:pid
    elected_at: datetime
    heartbeat_at: datetime


leader_t = table_of(SchedulerLeaderRow)


def process_identity() -> str:
    """This process as other processes see it in the leader row: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class LeaderLock(Protocol):
    def try_acquire(self) -> bool: ...
    def still_held(self) -> bool: ...
    def release(self) -> None: ...


class PostgresLeaderLock:
    """`pg_try_advisory_lock` on a connection outside the pool, in autocommit (an open transaction
    would hold back vacuum for as long as the process leads)."""

    def __init__(self, engine: Engine, key: int = ADVISORY_KEY) -> None:
        self.engine = engine
        self.key = key
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        conn.detach()  # never back into the pool: the lock lives and dies with this session
        try:
            won = bool(conn.exec_driver_sql("SELECT pg_try_advisory_lock(%s)", (self.key,)).scalar())
        except Exception:
            conn.close()
            raise
        if not won:
            conn.close()
            return False
        self._conn = conn
        return True

    def still_held(self) -> bool:
        if self._conn is None:
            return False
        try:
            # The lock is the session's until unlocked or the session ends: a live session holds it.
            self._conn.exec_driver_sql("SELECT 1").scalar()
            return True
        except Exception:  # noqa: BLE001 - any failure means the session, and so the lock, is gone
            self._close()
            return False

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (self.key,))
            self._close()

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


class FileLeaderLock:
    """An exclusive, non-blocking `flock` on a file: one holder among every process on this machine."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def still_held(self) -> bool:
        return self._file is not None

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def leader_lock(engine: Engine, var_dir: Path) -> LeaderLock:
    """The lock for this database: advisory on PostgreSQL, a file beside the SQLite database."""
    if engine.dialect.name == "postgresql":
        return PostgresLeaderLock(engine)
    database = engine.url.database
    if database and database != ":memory:":
        return FileLeaderLock(Path(database).resolve().with_name(Path(database).name + ".scheduler.lock"))
    return FileLeaderLock(var_dir.resolve() / "scheduler.lock")


# -- the report row (written only by the lock holder) ------------------------------------------------


@dataclass(frozen=True)
class LeaderRecord:
    holder: str
    elected_at: datetime
    heartbeat_at: datetime


def record_elected(engine: Engine, holder: str, now: datetime) -> None:
    """Say that ``holder`` leads from ``now`` (only the lock holder calls this, so no race)."""
    with engine.begin() as conn:
        updated = conn.execute(leader_t.update().where(leader_t.c.role == ROLE).values(
            holder=holder, elected_at=now, heartbeat_at=now)).rowcount
        if updated == 0:
            conn.execute(leader_t.insert().values(role=ROLE, holder=holder, elected_at=now, heartbeat_at=now))


def record_heartbeat(engine: Engine, holder: str, now: datetime) -> None:
    """Refresh the heartbeat of ``holder``'s leadership."""
    with engine.begin() as conn:
        conn.execute(leader_t.update().where(leader_t.c.role == ROLE, leader_t.c.holder == holder)
                     .values(heartbeat_at=now))


def record_resigned(engine: Engine, holder: str) -> None:
    """Remove ``holder``'s row (a process stepping down cleanly)."""
    with engine.begin() as conn:
        conn.execute(leader_t.delete().where(leader_t.c.role == ROLE, leader_t.c.holder == holder))


def current_leader(engine: Engine) -> LeaderRecord | None:
    """The row as last written, fresh or not (the caller judges the heartbeat's age)."""
    with engine.connect() as conn:
        row = conn.execute(select(leader_t.c.holder, leader_t.c.elected_at, leader_t.c.heartbeat_at)
                           .where(leader_t.c.role == ROLE)).first()
    return LeaderRecord(row.holder, row.elected_at, row.heartbeat_at) if row else None
