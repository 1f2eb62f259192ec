"""The wiring of one process: settings, database engine, catalogue, calendar and clock."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy import Engine, select

from gkflow.catalogue import Catalogue, item_from_definition
from gkflow.clock import Clock, SystemClock
from gkflow.db.engine import make_engine
from gkflow.db.models import ItemVersionRow, table_of
from gkflow.domain.errors import InvalidConfig, NotFound
from gkflow.domain.items import ItemVersion
from gkflow.domain.masking import mask_personal_text
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

    @cached_property
    def read_engine(self) -> Engine:
        """The same pool in autocommit, for reads that are one statement: no BEGIN and no ROLLBACK
        round trip around it (on PostgreSQL each is one; a look-up is then one round trip, not three).
        SQLite's connections already run without an implicit transaction (gkflow.db.engine), and
        switching their isolation level per checkout would cost a PRAGMA each time."""
        if self.engine.dialect.name == "sqlite":
            return self.engine
        return self.engine.execution_options(isolation_level="AUTOCOMMIT")

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
    """The runtime of a process (server, command, worker): settings from the environment, and log
    records with personal data masked."""
    install_log_masking()
    try:
        settings = Settings()
    except ValidationError as exc:  # a bad GKFLOW_* value: name it, as any config error is named
        problems = "; ".join(
            f"GKFLOW_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidConfig(f"invalid settings: {problems}") from None
    return Runtime(settings, clock or SystemClock())


_PLAIN = (int, float, bool, type(None))


def _masked(value: object) -> object:
    if isinstance(value, str):
        return mask_personal_text(value)
    return value if isinstance(value, _PLAIN) else mask_personal_text(str(value))


def _mask_record(record: logging.LogRecord) -> None:
    """Mask the message, its arguments, the traceback and the stack of one log record in place."""
    record.msg = _masked(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_masked(a) for a in record.args)
    elif isinstance(record.args, dict):
        record.args = {k: _masked(v) for k, v in record.args.items()}
    if record.exc_info and record.exc_info[0] is not None:
        # Formatters use exc_text when it is set: the traceback is formatted (and masked) here once.
        record.exc_text = mask_personal_text(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = mask_personal_text(record.stack_info)


def install_log_masking() -> None:
    """Every log record of this process, whatever its logger or handler, has personal data masked
    (DESIGN.md section 7); installed once, as a record factory, so no handler can be missed."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "gkflow_masks", False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _mask_record(record)
        return record

    factory.gkflow_masks = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
