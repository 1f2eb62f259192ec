"""The dispatch flow on real Prefect (the session's test harness): a run only when notices are due,
whole batches per run, and the embedded poll's commit-to-delivery latency."""

from __future__ import annotations

import statistics
import threading
import time
from datetime import datetime

import pytest
from sqlalchemy import func, select

from gkflow.delivery import outbox
from notifications.channels.sandbox import read_inbox
from tests.helpers import submit

pytestmark = [pytest.mark.slow, pytest.mark.prefect]  # the Prefect harness runs a server process


def dispatch_runs() -> int:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["dispatch-outbox"])))
    return len(runs)


def test_the_poll_starts_no_flow_run_when_nothing_is_due_and_one_run_drains_every_batch(flow_rt):
    from flows.dispatch import poll_and_dispatch

    runs = dispatch_runs()
    assert poll_and_dispatch() == 0
    assert dispatch_runs() == runs
    for _ in range(5):
        submit(flow_rt, email="zhang@example.cn")  # sms + email each: 10 rows
    assert poll_and_dispatch(limit=4) == 10  # batches of 4, 4 and 2, in one flow run
    assert dispatch_runs() == runs + 1
    with flow_rt.engine.connect() as conn:
        done = conn.execute(select(func.count()).select_from(outbox.outbox_t)
                            .where(outbox.outbox_t.c.status == "delivered")).scalar_one()
    assert done == 10 and poll_and_dispatch() == 0


def test_the_embedded_poll_delivers_a_notice_within_five_seconds_of_its_commit(flow_rt, tmp_path):
    from flows.dispatch import poll_and_dispatch

    stop = threading.Event()

    def scheduler() -> None:  # what APScheduler does in `gkflow serve`, on a 1 s interval
        while not stop.is_set():
            poll_and_dispatch()
            stop.wait(1.0)

    committed: dict[str, float] = {}
    thread = threading.Thread(target=scheduler, daemon=True)
    thread.start()
    try:
        for _ in range(12):
            committed[submit(flow_rt, email="zhang@example.cn").case_no] = time.time()
            time.sleep(0.3)
        deadline = time.monotonic() + 30
        while len(read_inbox(tmp_path / "inbox", limit=1000)) < 2 * len(committed):
            assert time.monotonic() < deadline, "the notices did not all arrive"
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(30)
    arrived: dict[str, float] = {}
    for message in read_inbox(tmp_path / "inbox", limit=1000):
        stored = datetime.fromisoformat(message["stored_at"]).timestamp()
        arrived[message["case_no"]] = max(arrived.get(message["case_no"], 0.0), stored)
    latencies = sorted(arrived[c] - committed[c] for c in committed)
    p95 = statistics.quantiles(latencies, n=20)[-1]
    print(f"embedded poll + Prefect flow: commit->inbox p50 {statistics.median(latencies):.2f} s, "
          f"p95 {p95:.2f} s")
    assert p95 < 5.0
