"""Create or upgrade the schema: tables from every model module, plus the append-only triggers."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlmodel import SQLModel

# Importing the model modules registers their tables on SQLModel.metadata.
from gkflow.db import door_models, leader, models, openness_models, publication_models, web_models  # noqa: F401

SQLITE_TRIGGERS = [
    """CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE refused'); END""",
    """CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: DELETE refused'); END""",
    """CREATE TRIGGER IF NOT EXISTS scorecard_entries_no_update BEFORE UPDATE ON scorecard_entries
       BEGIN SELECT RAISE(ABORT, 'scorecard entries are append-only: UPDATE refused'); END""",
    """CREATE TRIGGER IF NOT EXISTS scorecard_entries_no_delete BEFORE DELETE ON scorecard_entries
       BEGIN SELECT RAISE(ABORT, 'scorecard entries are append-only: DELETE refused'); END""",
]

POSTGRES_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION gkflow_events_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'events are append-only: %% refused', TG_OP; END $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
       FOR EACH ROW EXECUTE FUNCTION gkflow_events_append_only()""",
    """CREATE OR REPLACE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
       FOR EACH STATEMENT EXECUTE FUNCTION gkflow_events_append_only()""",
    """CREATE OR REPLACE TRIGGER scorecard_entries_no_update_delete BEFORE UPDATE OR DELETE
       ON scorecard_entries FOR EACH ROW EXECUTE FUNCTION gkflow_events_append_only()""",
]


def create_schema(engine: Engine) -> None:
    """Create the tables, add new nullable columns, install the append-only triggers."""
    SQLModel.metadata.create_all(engine)
    _add_missing_columns(engine)
    _add_missing_indexes(engine)
    statements = SQLITE_TRIGGERS if engine.dialect.name == "sqlite" else POSTGRES_TRIGGERS
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Concurrent `gkflow init` runs must not race on CREATE OR REPLACE.
            conn.execute(text("SELECT pg_advisory_xact_lock(727001)"))
        for statement in statements:
            conn.exec_driver_sql(statement)


def _add_missing_indexes(engine: Engine) -> None:
    """An index added to a model is created on an existing table (create_all only makes new tables)."""
    for table in SQLModel.metadata.sorted_tables:
        for index in table.indexes:
            index.create(engine, checkfirst=True)


def _add_missing_columns(engine: Engine) -> None:
    """Additive upgrades: a nullable column added to a model is added to an existing table.

    Anything else (a new NOT NULL column, a type change) needs a real migration and is refused.
    """
    from sqlalchemy import inspect
    from sqlalchemy.schema import CreateColumn

    from gkflow.domain.errors import InvalidConfig

    inspector = inspect(engine)
    for table in SQLModel.metadata.sorted_tables:
        existing = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in existing:
                continue
            if not column.nullable or column.primary_key:
                raise InvalidConfig(
                    f"table {table.name} lacks NOT NULL column {column.name}: this upgrade needs a migration"
                )
            ddl = CreateColumn(column).compile(dialect=engine.dialect)
            with engine.begin() as conn:
                conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {ddl}")

