"""dispatch.http: notices delivered per second through the whole dispatch path (claim, render, send
with an idempotency key, record each status) to a local HTTP SMS gateway, against a bare
requests.Session loop posting the same number of requests of the same size to the same gateway in
the same run. The gateway runs in its own process on this machine, so the bare loop is the ceiling."""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import requests
from sqlalchemy import func, select

from bench.common import ROOT, figure, no_options, sqlite_runtime
from bench.gateway import gateway_process, received
from gkflow.delivery import outbox
from gkflow.delivery.config import ChannelsConfig
from gkflow.delivery.dispatcher import drain
from gkflow.runtime import Runtime
from gkflow.services.cases import Applicant, submit_case
from notifications.render import render

N_MESSAGES = int(os.environ.get("GKFLOW_BENCH_DISPATCH", "400"))
# The two loops alternate and each figure is the median of its rounds: on a small machine shared with
# the gateway, a single pass of either swings by a quarter.
ROUNDS = int(os.environ.get("GKFLOW_BENCH_DISPATCH_ROUNDS", "9"))


def seed(rt: Runtime, n: int, first: int = 0) -> None:
    """n sms notices due now: one real submission, its row copied with fresh case numbers and keys."""
    case_no = submit_case(rt, "bench-loop", Applicant("基准", "13900000000")).case_no
    t = outbox.outbox_t
    with rt.engine.begin() as conn:
        row = dict(conn.execute(select(t).where(t.c.case_no == case_no)).mappings().one())
        conn.execute(t.delete())
        payload = json.loads(row["payload"])
        rows = []
        for i in range(first, first + n):
            number = f"GK20260302-B{i:06d}"
            rows.append({**{k: v for k, v in row.items() if k != "id"}, "case_no": number,
                         "idempotency_key": f"{number}/1/accepted/sms",
                         "payload": json.dumps({**payload, "case_no": number}, ensure_ascii=False)})
        conn.execute(t.insert(), rows)


def sms_body(rt: Runtime, config: ChannelsConfig) -> bytes:
    """Exactly what the SMS channel posts for one of the benchmark's notices."""
    seed(rt, 1, first=10**6)
    [message] = outbox.claim(rt, worker="sample")
    text = render(message.topic, "sms", message.payload, sms_signature=config.sms_signature).text
    with rt.engine.begin() as conn:
        conn.execute(outbox.outbox_t.delete())
    return json.dumps({"to": "13900000000", "text": text, "idempotency_key": message.idempotency_key,
                       "signature": "【基准】"}, ensure_ascii=False, separators=(",", ":")).encode()


def bare_loop(url: str, n: int, body: bytes) -> float:
    session = requests.Session()
    session.post(url, data=body, headers={"Idempotency-Key": "warm-up"}, timeout=10)
    start = time.perf_counter()
    for i in range(n):
        response = session.post(url, data=body, timeout=(3.05, 10), allow_redirects=False, headers={
            "Content-Type": "application/json; charset=utf-8", "Accept": "application/json",
            "Authorization": "Bearer bench-key", "Idempotency-Key": f"bare-{i}"})
        response.raise_for_status()
        response.json()
    elapsed = time.perf_counter() - start
    session.close()
    return n / elapsed


def dispatch_path(rt: Runtime, config: ChannelsConfig, n: int, first: int) -> tuple[float, dict[str, int]]:
    seed(rt, n, first)
    start = time.perf_counter()
    report = drain(rt, worker="bench", channels_config=config, max_batches=10_000)
    elapsed = time.perf_counter() - start
    t = outbox.outbox_t
    with rt.engine.connect() as conn:
        statuses = dict(conn.execute(select(t.c.status, func.count()).group_by(t.c.status)).all())
    assert report.delivered == n and statuses == {"delivered": n}, (report.to_dict(), statuses)
    return n / elapsed, statuses


def run(*, tiny: bool = False, args: Sequence[str] = ()) -> list[dict[str, object]]:
    no_options("dispatch", args)
    n_messages, rounds = (20, 1) if tiny else (N_MESSAGES, ROUNDS)
    with gateway_process() as url:
        config = ChannelsConfig(
            inbox_dir=ROOT / "var" / "bench-inbox", sandbox_all=False,
            live={"sms": {"gateway_url": url, "api_key": "bench-key", "signature": "【基准】"}},
            quiet_start="00:00", quiet_end="00:00",
        )
        gkflow_rates, ceilings = [], []
        with sqlite_runtime() as rt:
            body = sms_body(rt, config)
            for round_no in range(rounds):
                rate, statuses = dispatch_path(rt, config, n_messages, round_no * n_messages)
                gkflow_rates.append(rate)
                ceilings.append(bare_loop(url, n_messages, body))
        keys = len({key for key, _ in received(url) if key})
    return [figure("dispatch.http", statistics.median(gkflow_rates), "notices/s", statistics.median(ceilings),
                   messages=n_messages, rounds=rounds,
                   statuses=statuses, gateway_distinct_keys=keys, database="sqlite",
                   measured_at=datetime.now(UTC).isoformat(timespec="seconds"))]


if __name__ == "__main__":
    for line in run():
        print(json.dumps(line, ensure_ascii=False))
