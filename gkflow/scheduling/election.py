"""Exactly one embedded scheduler among many web processes (`gkflow serve --workers N`, or several
`gkflow serve` on one PostgreSQL): each process runs an election thread that tries the leader lock
(gkflow.db.leader) every few seconds; the winner starts the scheduler, the others wait. When the
holder dies its lock is released (PostgreSQL ends the session, the kernel drops the flock), and the
next try of another process takes over.

Between a holder losing its database session and noticing it (one interval) two schedulers may
overlap for a moment; every job tolerates that: claims skip locked rows, warnings are unique per
case and level, a published period is never published again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from gkflow.db import leader as leader_rows
from gkflow.db.leader import LeaderLock, leader_lock, process_identity
from gkflow.runtime import Runtime
from gkflow.scheduling.config import load_schedules
from gkflow.scheduling.embedded import EmbeddedScheduler

log = logging.getLogger("gkflow.scheduler")

INTERVAL_S = 2.0


class LeaderElection:
    """A daemon thread: try the lock while a follower, check it and beat the heart while the leader."""

    def __init__(self, rt: Runtime, *, on_elected: Callable[[], None], on_deposed: Callable[[], None],
                 lock: LeaderLock | None = None, interval_s: float = INTERVAL_S,
                 identity: str | None = None) -> None:
        self.rt = rt
        self.lock = lock or leader_lock(rt.engine, rt.settings.var_dir)
        self.identity = identity or process_identity()
        self.interval_s = interval_s
        self._on_elected = on_elected
        self._on_deposed = on_deposed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.is_leader = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="gkflow-leader-election", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the election
                log.exception("leader election: this round failed; trying again")
            self._stop.wait(self.interval_s)

    def tick(self) -> None:
        """One round (the thread calls it every interval; tests call it directly)."""
        if self.is_leader:
            if self.lock.still_held():
                leader_rows.record_heartbeat(self.rt.engine, self.identity, self.rt.now())
            else:
                log.warning("lost the scheduler lock (database session gone): stopping the scheduler")
                self._step_down()
            return
        if not self.lock.try_acquire():
            return
        self.is_leader = True
        log.warning("elected to run the embedded scheduler as %s", self.identity)
        try:
            self._on_elected()
            # Told only once the scheduler runs, so /healthz never names a leader that is starting.
            leader_rows.record_elected(self.rt.engine, self.identity, self.rt.now())
        except Exception:
            self._step_down()
            raise

    def _step_down(self) -> None:
        self.is_leader = False
        try:
            self._on_deposed()
        finally:
            self.lock.release()

    def stop(self) -> None:
        """Stop trying; a leader stops its scheduler, releases the lock and removes its row."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval_s + 5)
        if self.is_leader:
            self._step_down()
            try:
                leader_rows.record_resigned(self.rt.engine, self.identity)
            except Exception:  # noqa: BLE001 - the row goes stale and /healthz says so
                log.warning("could not remove the scheduler leader row", exc_info=True)


class ElectedScheduler:
    """The embedded scheduler of one web process, run only while this process holds the lock."""

    def __init__(self, rt: Runtime, *, warm_prefect: bool) -> None:
        self.rt = rt
        self.warm_prefect = warm_prefect
        load_schedules(rt.settings.config_dir)  # a bad schedules.yaml fails at start-up, not at election
        self._scheduler: EmbeddedScheduler | None = None
        self.election = LeaderElection(rt, on_elected=self._start, on_deposed=self._stop)

    def _start(self) -> None:
        scheduler = EmbeddedScheduler(self.rt, warm_prefect=self.warm_prefect)
        scheduler.start()
        self._scheduler = scheduler

    def _stop(self) -> None:
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:
            scheduler.shutdown()

    @property
    def leads(self) -> bool:
        return self.election.is_leader

    def start(self) -> None:
        self.election.start()

    def stop(self) -> None:
        self.election.stop()
