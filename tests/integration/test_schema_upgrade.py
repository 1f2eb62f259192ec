"""`gkflow init` upgrades an older database additively and refuses what needs a migration."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import Column, Integer

from gkflow.db.engine import make_engine
from gkflow.db.schema import create_schema
from gkflow.domain.errors import InvalidConfig


def columns(path, table: str) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def indexes(path, table: str) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[1] for row in conn.execute(f"PRAGMA index_list({table})")}


def test_a_nullable_column_missing_from_an_older_database_is_added(tmp_path):
    path = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    with sqlite3.connect(path) as conn:  # as a database made before the column and its index
        conn.execute("DROP INDEX ix_cases_assigned")
        conn.execute("ALTER TABLE cases DROP COLUMN assigned_department")
    assert "assigned_department" not in columns(path, "cases")
    create_schema(engine)
    assert "assigned_department" in columns(path, "cases")
    assert "ix_cases_assigned" in indexes(path, "cases")  # indexes added to a model are created too


def test_a_new_not_null_column_is_refused_with_a_clear_message(tmp_path):
    from sqlmodel import SQLModel

    path = tmp_path / "old.db"
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    table = SQLModel.metadata.tables["case_warnings"]
    extra = Column("required_new", Integer, nullable=False)
    table.append_column(extra)
    try:
        with pytest.raises(InvalidConfig, match="case_warnings lacks NOT NULL column required_new"):
            create_schema(engine)
    finally:
        table._columns.remove(extra)
