"""Hand-written SQL for the hot paths (submit, fire), run on the DBAPI cursor of a SQLAlchemy
connection so pooling, BEGIN IMMEDIATE and commit stay SQLAlchemy's.

Why: building and compiling Core statements costs ~250 µs per transition here, more than the
database work itself (PREFECT.md: ORM ≈ 520/s, Core ≈ 3,000/s, raw ≈ 15,000/s). Values are stored
exactly as SQLAlchemy stores them (SQLite: naive-UTC "YYYY-MM-DD HH:MM:SS.ffffff" text, ISO dates,
0/1 booleans; PostgreSQL: native types), so Core and ORM readers see the same rows; the
integration tests read every hot-path write back through SQLAlchemy on both databases.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection

_NAMED = re.compile(r"(?<!:):([A-Za-z_][A-Za-z0-9_]*)")


@lru_cache(maxsize=256)
def _pyformat(sql: str) -> str:
    return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


class FastSQL:
    """Named-parameter SQL (``:name``) on the connection's own DBAPI cursor."""

    def __init__(self, conn: Connection) -> None:
        self.sqlite = conn.dialect.name == "sqlite"
        self.cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]

    def _prepare(self, sql: str, params: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
        if self.sqlite:
            return sql, {k: _sqlite_value(v) for k, v in params.items()}
        return _pyformat(sql), params

    def execute(self, sql: str, params: Mapping[str, Any]) -> int:
        text, values = self._prepare(sql, params)
        self.cursor.execute(text, values)
        return self.cursor.rowcount

    def executemany(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        text = sql if self.sqlite else _pyformat(sql)
        if self.sqlite:
            self.cursor.executemany(text, [{k: _sqlite_value(v) for k, v in r.items()} for r in rows])
        else:
            self.cursor.executemany(text, rows)

    def fetch_one(self, sql: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        self.execute(sql, params)
        row = self.cursor.fetchone()
        if row is None:
            return None
        names = [d[0] for d in self.cursor.description]
        return dict(zip(names, row, strict=True))

    def close(self) -> None:
        self.cursor.close()

    def __enter__(self) -> FastSQL:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def insert_sql(table: str, columns: Iterable[str], returning: str | None = None) -> str:
    cols = list(columns)
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"
    return sql + (f" RETURNING {returning}" if returning else "")


def as_date(value: Any) -> date | None:
    """Dates come back as ISO text from SQLite and as date objects from PostgreSQL."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def as_utc(value: Any) -> datetime | None:
    """Instants come back as naive-UTC text from SQLite and as aware datetimes from PostgreSQL."""
    if value is None:
        return None
    at: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    if at.tzinfo is None:
        return at.replace(tzinfo=UTC)
    return at.astimezone(UTC)
