"""Create or upgrade the schema: tables from every model module, plus the append-only triggers."""

from __future__ import annotations

from sqlalchemy import Engine, text
from sqlmodel import SQLModel

from gkflow.db import models  # noqa: F401  (registers the core tables)

SQLITE_TRIGGERS = [
    """CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE refused'); END""",
    """CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: DELETE refused'); END""",
]

POSTGRES_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION gkflow_events_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'events are append-only: %% refused', TG_OP; END $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
       FOR EACH ROW EXECUTE FUNCTION gkflow_events_append_only()""",
    """CREATE OR REPLACE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
       FOR EACH STATEMENT EXECUTE FUNCTION gkflow_events_append_only()""",
]


def create_schema(engine: Engine) -> None:
    _import_extension_models()
    SQLModel.metadata.create_all(engine)
    statements = SQLITE_TRIGGERS if engine.dialect.name == "sqlite" else POSTGRES_TRIGGERS
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Concurrent `gkflow init` runs must not race on CREATE OR REPLACE.
            conn.execute(text("SELECT pg_advisory_xact_lock(727001)"))
        for statement in statements:
            conn.exec_driver_sql(statement)


def _import_extension_models() -> None:
    """Tables owned by other parts (notices, publication, web) register themselves on import."""
    import importlib

    for module in EXTENSION_MODEL_MODULES:
        importlib.import_module(module)


EXTENSION_MODEL_MODULES: list[str] = []
