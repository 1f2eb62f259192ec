"""One embedded scheduler among many processes: the leader lock (PostgreSQL advisory lock, or a flock
beside the SQLite file), takeover when the holder goes, and what /healthz reports about it."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import text

from gkflow.db.leader import FileLeaderLock, current_leader, leader_lock
from gkflow.runtime import Runtime
from gkflow.scheduling.election import LeaderElection
from gkflow.services.cases import Applicant, submit_case
from gkflow.services.health import LEADER_STALE_S, health


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def election(self, rt: Runtime, name: str) -> LeaderElection:
        return LeaderElection(rt, identity=name, interval_s=0.1,
                              on_elected=lambda: self.calls.append(f"{name} elected"),
                              on_deposed=lambda: self.calls.append(f"{name} deposed"))


def test_exactly_one_of_several_processes_leads_and_another_takes_over_when_it_stops(rt):
    calls = Recorder()
    first, second, third = (calls.election(rt, name) for name in ("web-a:1", "web-b:2", "web-c:3"))
    for election in (first, second, third, first, second, third):
        election.tick()
    assert [e.is_leader for e in (first, second, third)] == [True, False, False]
    assert calls.calls == ["web-a:1 elected"]
    assert current_leader(rt.engine).holder == "web-a:1"

    first.stop()  # a clean shutdown: scheduler stopped, lock released, row removed
    assert current_leader(rt.engine) is None
    second.tick()
    third.tick()
    assert [second.is_leader, third.is_leader] == [True, False]
    assert calls.calls == ["web-a:1 elected", "web-a:1 deposed", "web-b:2 elected"]
    assert current_leader(rt.engine).holder == "web-b:2"
    for election in (second, third):
        election.stop()


def test_a_leader_whose_postgres_session_is_killed_steps_down_and_a_follower_takes_over(pg_rt):
    calls = Recorder()
    leader, follower = calls.election(pg_rt, "web-a:1"), calls.election(pg_rt, "web-b:2")
    leader.tick()
    follower.tick()
    assert leader.is_leader and not follower.is_leader
    with pg_rt.engine.connect() as conn:  # what the server does when the holder's process dies
        killed = conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = 727002"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )).scalars().all()
    assert killed == [True]
    follower.tick()
    assert follower.is_leader
    leader.tick()  # the old holder notices on its next round
    assert not leader.is_leader
    assert calls.calls == ["web-a:1 elected", "web-b:2 elected", "web-a:1 deposed"]
    follower.stop()


def test_a_killed_process_gives_up_the_sqlite_file_lock(sqlite_rt, tmp_path):
    lock = leader_lock(sqlite_rt.engine, sqlite_rt.settings.var_dir)
    assert isinstance(lock, FileLeaderLock) and lock.path.name == "gkflow.db.scheduler.lock"
    with subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from gkflow.db.leader import FileLeaderLock; "
         f"held = FileLeaderLock(Path({str(lock.path)!r})); assert held.try_acquire(); "
         "print('held', flush=True); "
         "time.sleep(60)"], stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout.readline().strip() == "held"
            assert not lock.try_acquire()
            holder.kill()
            holder.wait(10)
            assert lock.try_acquire()
        finally:
            holder.kill()
            lock.release()


def test_an_election_that_fails_to_start_the_scheduler_gives_the_lock_back(sqlite_rt):
    def broken() -> None:
        raise RuntimeError("bad schedules")

    election = LeaderElection(sqlite_rt, identity="web-a:1", on_elected=broken, on_deposed=lambda: None)
    with pytest.raises(RuntimeError):
        election.tick()
    assert not election.is_leader
    other = leader_lock(sqlite_rt.engine, sqlite_rt.settings.var_dir)
    assert other.try_acquire()
    other.release()


def test_health_names_the_leader_and_calls_a_silent_one_gone(rt, clock):
    calls = Recorder()
    election = calls.election(rt, "web-a:1")
    report = health(rt, embedded_scheduler=True, leads=False)
    assert report.status == "degraded" and report.problems == ["no process runs the embedded scheduler"]
    election.tick()
    report = health(rt, embedded_scheduler=True, leads=True)
    assert report.status == "ok" and report.ok and report.database.ok
    assert report.scheduler.leader.holder == "web-a:1" and report.scheduler.this_process_leads
    clock.advance(timedelta(seconds=LEADER_STALE_S + 1))  # the leader stopped beating its heart
    report = health(rt, embedded_scheduler=False, leads=False)
    assert report.scheduler.leader is None and report.status == "ok"  # not expected here: no problem
    election.stop()


def test_health_reports_the_outbox_lag_as_the_age_of_the_oldest_due_notice(rt, clock):
    assert health(rt, embedded_scheduler=False, leads=False).outbox.model_dump() == {"due": 0, "lag_s": 0.0}
    submit_case(rt, "gov-info-request", Applicant("张三", "13912345678"),
                fields={"requested_information": "预算"})
    clock.advance(timedelta(seconds=12))
    report = health(rt, embedded_scheduler=False, leads=False)
    assert report.outbox.due >= 1 and report.outbox.lag_s == 12.0 and report.status == "ok"
    clock.advance(timedelta(seconds=60))
    report = health(rt, embedded_scheduler=False, leads=False)
    assert report.status == "degraded" and report.problems == ["the oldest due notice has waited 72 s"]


def test_health_is_down_when_the_database_does_not_answer(tmp_path, clock):
    from gkflow.settings import Settings

    rt = Runtime(Settings(var_dir=tmp_path, database_url="postgresql://nobody@127.0.0.1:1/none"), clock)
    started = time.monotonic()
    report = health(rt, embedded_scheduler=True, leads=False)
    assert not report.ok and report.status == "down" and report.database.error
    assert report.scheduler is None and time.monotonic() - started < 10
