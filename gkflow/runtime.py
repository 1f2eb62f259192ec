"""The wiring of one process: settings, database engine, catalogue, calendar and clock."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select

from gkflow.catalogue import Catalogue, item_from_definition
from gkflow.clock import Clock, SystemClock
from gkflow.db.engine import make_engine
from gkflow.db.models import ItemVersionRow, table_of
from gkflow.domain.errors import InvalidConfig, NotFound
from gkflow.domain.items import ItemVersion
from gkflow.settings import Settings

if TYPE_CHECKING:
    from gkflow.domain.calendar import WorkingCalendar
    from gkflow.integrity.keys import ChainKeyring


@dataclass
class Runtime:
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    engine_override: Engine | None = None
    _catalogue: Catalogue | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @cached_property
    def engine(self) -> Engine:
        return self.engine_override or make_engine(self.settings.db_url)

    @cached_property
    def keyring(self) -> ChainKeyring:
        """The chain's HMAC keys (read once; InvalidConfig when none is configured)."""
        from gkflow.integrity.keys import load_keyring

        return load_keyring(self.settings)

    @property
    def calendar(self) -> WorkingCalendar:
        from gkflow.config.calendar import load_calendar

        return load_calendar(self.settings.config_dir)

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.settings.tz).date()

    def now(self) -> datetime:
        return self.clock.now().astimezone(UTC)

    # -- catalogue (item versions are immutable, so caching them is safe) -------------------

    @property
    def catalogue(self) -> Catalogue:
        if self._catalogue is None:
            self.reload_catalogue()
        assert self._catalogue is not None
        return self._catalogue

    def reload_catalogue(self) -> Catalogue:
        with self._lock:
            catalogue = Catalogue()
            with self.engine.connect() as conn:
                versions = table_of(ItemVersionRow)
                rows = conn.execute(
                    select(versions.c.definition).order_by(versions.c.code, versions.c.version)
                ).all()
            for (definition,) in rows:
                catalogue.add(item_from_definition(json.loads(definition)))
            self._catalogue = catalogue
            return catalogue

    def item(self, code: str, version: int) -> ItemVersion:
        try:
            return self.catalogue.get(code, version)
        except NotFound:
            # Another process may have loaded a new version since this one started.
            return self.reload_catalogue().get(code, version)

    def item_in_force(self, code: str, on: date) -> ItemVersion:
        catalogue = self.catalogue
        if not catalogue.versions:
            catalogue = self.reload_catalogue()
            if not catalogue.versions:
                raise InvalidConfig("the catalogue is empty: run `gkflow init` first")
        if code not in catalogue.versions:
            catalogue = self.reload_catalogue()
        return catalogue.in_force(code, on)


def runtime_from_env(clock: Clock | None = None) -> Runtime:
    return Runtime(Settings(), clock or SystemClock())
