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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, Table
from sqlalchemy import types as sqltypes
from sqlalchemy.exc import DBAPIError

from gkflow.db.engine import enter_gate, leave_gate, sqlite_gate

_NAMED = re.compile(r"(?<!:):([A-Za-z_][A-Za-z0-9_]*)")


@lru_cache(maxsize=256)
def _pyformat(sql: str) -> str:
    return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))


def _sqlite_datetime_text(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    # isoformat with fixed microseconds is SQLAlchemy's format and 4x cheaper than strftime.
    return value.isoformat(" ", "microseconds")


# How SQLite stores each Python type that it does not take as it is (dispatch on the exact type:
# a per-value isinstance chain cost ~40 µs per transition).
_SQLITE_STORE: dict[type, Callable[[Any], Any]] = {
    datetime: _sqlite_datetime_text,
    date: date.isoformat,
    bool: int,
}


def _sqlite_value(value: Any) -> Any:
    store = _SQLITE_STORE.get(type(value))
    return value if store is None else store(value)


# The column names of each statement's answer: the hot statements name their columns, so the names
# follow from the text. psycopg builds a Column object per column on every `description` (~60 µs
# of a transition's lock read on PostgreSQL).
_column_names: dict[str, tuple[str, ...]] = {}


class FastSQL:
    """Named-parameter SQL (``:name``) on the connection's own DBAPI cursor."""

    def __init__(self, conn: Connection) -> None:
        self._bind(conn.connection.dbapi_connection, conn.dialect)

    @classmethod
    def on_dbapi(cls, dbapi_connection: Any, dialect: Dialect) -> FastSQL:
        """On a pooled DBAPI connection of no SQLAlchemy Connection (see `write_transaction`)."""
        db = cls.__new__(cls)
        db._bind(dbapi_connection, dialect)
        return db

    def _bind(self, dbapi_connection: Any, dialect: Dialect) -> None:
        self.sqlite = dialect.name == "sqlite"
        self.cursor = dbapi_connection.cursor()
        self._dbapi_error: type[Exception] = dialect.loaded_dbapi.Error

    def _prepare(self, sql: str, params: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
        if self.sqlite:
            return sql, {k: _sqlite_value(v) for k, v in params.items()}
        return _pyformat(sql), params

    def execute(self, sql: str, params: Mapping[str, Any]) -> int:
        text, values = self._prepare(sql, params)
        try:
            self.cursor.execute(text, values)
        except self._dbapi_error as exc:
            raise self._wrapped(text, values, exc) from exc
        rowcount: int = self.cursor.rowcount
        return rowcount

    def executemany(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        if len(rows) == 1:
            # psycopg runs executemany in pipeline mode: for the usual single outbox row, that cost
            # ~15 % of a web worker's CPU (py-spy, bench sustained.postgres).
            self.execute(sql, rows[0])
            return
        text = sql if self.sqlite else _pyformat(sql)
        values = [{k: _sqlite_value(v) for k, v in r.items()} for r in rows] if self.sqlite else rows
        try:
            self.cursor.executemany(text, values)
        except self._dbapi_error as exc:
            raise self._wrapped(text, values, exc) from exc

    def _wrapped(self, text: str, params: Any, exc: Exception) -> Exception:
        # The same exception classes as Core raises (OperationalError, IntegrityError …), so callers
        # handle both paths alike (`gkflow` says "run gkflow init" on a missing table, for one).
        return DBAPIError.instance(text, params, exc, self._dbapi_error)

    def fetch_all(self, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        self.execute(sql, params)
        return list(self.cursor.fetchall())

    def fetch_one(self, sql: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        self.execute(sql, params)
        row = self.cursor.fetchone()
        if row is None:
            return None
        names = _column_names.get(sql)
        if names is None or len(names) != len(row):
            names = _column_names[sql] = tuple(d[0] for d in self.cursor.description)
        return dict(zip(names, row, strict=True))

    def close(self) -> None:
        self.cursor.close()

    def __enter__(self) -> FastSQL:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def write_transaction(engine: Engine) -> Iterator[FastSQL]:
    """One write transaction straight on a pooled DBAPI connection: SQLite `BEGIN IMMEDIATE` (the
    write lock up front, decision 6), PostgreSQL psycopg's own BEGIN; COMMIT on leaving, ROLLBACK on
    an exception. Without SQLAlchemy's Connection, transaction and event objects around it, a
    transition costs ~60 µs less; the pool (and its connect-time PRAGMAs) is still SQLAlchemy's."""
    pooled = engine.raw_connection()
    dbapi = pooled.dbapi_connection
    db = FastSQL.on_dbapi(dbapi, engine.dialect)
    try:
        if db.sqlite:
            enter_gate(sqlite_gate(engine), dbapi)
            db.execute("BEGIN IMMEDIATE", {})
        try:
            yield db
        except BaseException:
            dbapi.rollback()  # type: ignore[union-attr]
            raise
        try:
            dbapi.commit()  # type: ignore[union-attr]
        except db._dbapi_error as exc:
            raise db._wrapped("COMMIT", {}, exc) from exc
    finally:
        if db.sqlite:
            leave_gate(dbapi)
        db.close()
        pooled.close()  # back to the pool


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
Converter = Callable[[Any], Any]


def _sqlite_datetime(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _pg_datetime(value: Any) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def column_converters(table: Table, columns: Sequence[str], dialect: str) -> list[Converter | None]:
    """For each column, how to turn the DBAPI's value into what SQLAlchemy's types return (aware UTC
    datetimes, dates, booleans); None where the value is already right."""
    converters: list[Converter | None] = []
    for name in columns:
        kind = table.c[name].type
        if isinstance(kind, sqltypes.TypeDecorator):
            kind = kind.impl_instance
        if isinstance(kind, sqltypes.DateTime):
            converters.append(_sqlite_datetime if dialect == "sqlite" else _pg_datetime)
        elif isinstance(kind, sqltypes.Date):
            converters.append(as_date if dialect == "sqlite" else None)
        elif isinstance(kind, sqltypes.Boolean):
            converters.append(_bool if dialect == "sqlite" else None)
        else:
            converters.append(None)
    return converters


def convert(values: Sequence[Any], converters: Sequence[Converter | None]) -> list[Any]:
    """A raw row's values as SQLAlchemy would have returned them."""
    return [v if c is None else c(v) for v, c in zip(values, converters, strict=True)]
