"""`gkflow init`: create the schema and load the catalogue files into the database."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select

from gkflow.catalogue import load_catalogue_files
from gkflow.db.models import ItemVersionRow, table_of
from gkflow.db.schema import create_schema
from gkflow.domain.errors import InvalidConfig
from gkflow.runtime import Runtime


@dataclass(frozen=True)
class SyncReport:
    added: list[tuple[str, int]]
    unchanged: int


def init_database(rt: Runtime) -> SyncReport:
    """Create or upgrade the schema, index cases made before search existed, load the catalogue."""
    from gkflow.services.case_search import backfill_search_terms

    create_schema(rt.engine)
    report = sync_catalogue(rt)
    backfill_search_terms(rt)
    return report


def sync_catalogue(rt: Runtime) -> SyncReport:
    """Add new item versions; refuse edits of a version already loaded (running cases use it)."""
    loaded, problems = load_catalogue_files(rt.settings.items_dir, root=rt.settings.config_dir.parent)
    if problems:
        raise InvalidConfig("the catalogue has problems:\n" + "\n".join(problems), problems=problems)
    now = rt.now()
    added: list[tuple[str, int]] = []
    unchanged = 0
    table = table_of(ItemVersionRow)
    with rt.engine.connect().execution_options(gkflow_write=True) as conn, conn.begin():
        existing = {
            (code, version): content_hash
            for code, version, content_hash in conn.execute(
                select(table.c.code, table.c.version, table.c.content_hash)
            )
        }
        for v in loaded:
            key = (v.item.code, v.item.version)
            if key in existing:
                if existing[key] != v.content_hash:
                    raise InvalidConfig(
                        f"{v.item.source}: item '{key[0]}' version {key[1]} differs from the version "
                        "already loaded; cases may be bound to it — add a new version instead of editing it"
                    )
                unchanged += 1
                continue
            conn.execute(
                table.insert().values(
                    code=v.item.code, version=v.item.version, effective_from=v.item.effective_from,
                    name=v.item.name, department=v.item.department,
                    definition=json.dumps(v.definition, ensure_ascii=False),
                    content_hash=v.content_hash, loaded_at=now,
                )
            )
            added.append(key)
    rt.reload_catalogue()
    return SyncReport(added, unchanged)
