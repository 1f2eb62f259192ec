"""worklist.search: p99 of a clerk's realistic query mix at GKFLOW_BENCH_CASES cases (default
1,000,000, varied Chinese names) through `search_cases` (a page of 50 read models and the tab
counts), against the raw SQL of the same queries in the same run.

The ceiling is exact: each query's statements and parameters are captured from SQLAlchemy once and
replayed on a bare sqlite3 connection, so the ratio is what gkflow adds (building the query,
SQLAlchemy, deadline arithmetic and read models), not a different plan.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import event

from bench.common import figure, sqlite_runtime
from gkflow.domain.identifiers import CASE_NO_ALPHABET
from gkflow.domain.search import case_terms
from gkflow.runtime import Runtime
from gkflow.services.accounts import Account
from gkflow.services.case_search import search_cases

N_CASES = int(os.environ.get("GKFLOW_BENCH_CASES", "1000000"))
N_QUERIES = int(os.environ.get("GKFLOW_BENCH_QUERIES", "2000"))
DEPARTMENTS = [f"基准部门{i}" for i in range(9)]
# The commonest surnames with rough shares (per mille), then a long tail of rarer ones.
SURNAMES = ("王71 李70 张67 刘54 陈45 杨31 黄22 赵20 吴20 周19 徐15 孙14 马13 朱12 胡11 郭11 何10 高10 "
            "林10 罗9 郑8 梁8 谢6 宋6 唐6 许5 韩5 冯5 邓5 曹5 彭4 曾4 肖4 田4 董4 袁4 潘3 于3 蒋3 蔡3 "
            "余3 杜3 叶3 程3 苏3 魏3 吕3 丁3 任3 沈3 姚2 卢2 姜2 崔2 钟2 谭2 陆2 汪2 范2 金2 石2 廖2 "
            "贾2 夏2 韦2 付2 方2 白2 邹2 孟2 熊2 秦2 邱2 江2 尹2 薛2 闫2 段2 雷2 侯2 龙2 史2 陶1 黎1 "
            "贺1 顾1 毛1 郝1 龚1 邵1 万1 钱1 严1 覃1 武1 戴1 莫1 孔1 向1 汤1 才1 拉1 祁1 鲁1 安1 索1")
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红鹏辉建国建华建军志强志明海燕"
         "晓东晓明晓燕文斌文杰丹丹宁宁玲玲欣怡子涵梓萱浩然宇轩俊杰思远雨桐诗琪佳怡一鸣卓玛才让扎西德吉"
         "措央金索南多杰拉姆次仁旦增尼玛格桑巴桑永红永平春梅春生秋菊冬梅海林海波国庆国强立新立军卫东卫国")


def _names(rng: random.Random) -> Callable[[], str]:
    pairs = [(s[0], int(s[1:])) for s in SURNAMES.split()]
    surnames = [s for s, _ in pairs]
    weights = [w for _, w in pairs]
    chars = list(dict.fromkeys(GIVEN))

    def draw() -> str:
        surname = rng.choices(surnames, weights)[0]
        return surname + "".join(rng.choice(chars) for _ in range(1 if rng.random() < 0.35 else 2))

    return draw


def seed(path: str, n: int, today: date, rng: random.Random, batch: int = 20_000) -> list[tuple[Any, ...]]:
    """n cases (15 % open, some with stopped clocks or warnings) and their search terms; returns
    (case_no, name, phone, department, item) of every case to draw queries from."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")
    name = _names(rng)
    columns = ("id", "case_no", "query_hash", "item_code", "item_version", "department",
               "assigned_department", "state", "version", "applicant_name", "applicant_phone",
               "intake_channel", "fields", "received_at", "received_on", "clock_running", "statutory_days",
               "statutory_anchor", "statutory_used", "promised_days", "promised_anchor", "promised_used",
               "extended", "statutory_due", "statutory_due_provisional", "promised_due",
               "promised_due_provisional", "step_entered_on", "step_due_provisional", "step_seq", "last_seq",
               "last_hash", "closed_at", "updated_at")
    case_sql = f"INSERT INTO cases ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    term_sql = "INSERT INTO case_search_terms (term, case_id) VALUES (?, ?)"
    warning_sql = ("INSERT INTO case_warnings (case_id, scope, level, step_seq, due_on, raised_at) "
                   "VALUES (?, 'promised', 'yellow', 0, ?, ?)")
    used: set[str] = set()
    drawn: list[tuple[Any, ...]] = []
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    for first in range(0, n, batch):
        cases, terms, warnings = [], [], []
        for case_id in range(first + 1, min(first + batch, n) + 1):
            is_open = rng.random() < 0.15
            age = rng.randrange(60) if is_open else rng.randrange(30, 730)
            received_on = today - timedelta(days=age)
            received = datetime(received_on.year, received_on.month, received_on.day, 1,
                                rng.randrange(60), tzinfo=UTC) + timedelta(hours=rng.randrange(8))
            while True:
                case_no = f"GK{received_on:%Y%m%d}-" + "".join(rng.choice(CASE_NO_ALPHABET) for _ in range(6))
                if case_no not in used:
                    used.add(case_no)
                    break
            applicant = name()
            phone = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
            department = DEPARTMENTS[rng.randrange(len(DEPARTMENTS))]
            stopped = is_open and rng.random() < 0.03
            due = None if stopped else received_on + timedelta(days=14 + rng.randrange(14))
            closed = None if is_open else (received + timedelta(days=rng.randrange(1, 30))).strftime(fmt)
            at = received.strftime(fmt)
            day = received_on.isoformat()
            cases.append((case_id, case_no, "x", "bench-loop", 1, department, None,
                          "open" if is_open else "done", 2, applicant, phone, "window", "{}", at, day,
                          0 if stopped else 1, 20, day, 0, 10, day, 0, 0,
                          due.isoformat() if due else None, 0, due.isoformat() if due else None, 0, day, 0,
                          1, 2, "h", closed, at))
            terms += [(term, case_id) for term in case_terms(case_no, applicant, phone)]
            if is_open and rng.random() < 0.02:
                warnings.append((case_id, (due or received_on).isoformat(), at))
            drawn.append((case_no, applicant, phone, department, is_open))
        conn.execute("BEGIN")
        conn.executemany(case_sql, cases)
        conn.executemany(term_sql, terms)
        conn.executemany(warning_sql, warnings)
        conn.execute("COMMIT")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("ANALYZE")
    conn.close()
    return drawn


def query_mix(drawn: list[tuple[Any, ...]], today: date, rng: random.Random, n: int) -> list[dict[str, Any]]:
    """A clerk's day: case-number tails, 2- and 3-character names, phone tails, tabs and filters."""
    mix = []
    for _ in range(n):
        case_no, name, phone, department, _is_open = drawn[rng.randrange(len(drawn))]
        kind = rng.random()
        spec: dict[str, Any] = {"department": department if rng.random() < 0.7 else None}
        tail = case_no.split("-")[1]
        if kind < 0.25:
            spec["q"] = tail if rng.random() < 0.5 else tail[rng.randrange(3):][:4]
        elif kind < 0.45:
            spec["q"] = name if len(name) == 2 else (name[1:] if rng.random() < 0.5 else name[:2])
        elif kind < 0.62:
            spec["q"] = name if len(name) == 3 else name + "明"
        elif kind < 0.77:
            spec["q"] = phone[-4:]
        elif kind < 0.87:
            spec["tab"] = rng.choice(["open", "open", "overdue", "week"])
        else:
            spec["q"] = name[:2]
            spec["received_from"] = today - timedelta(days=rng.randrange(30, 365))
            spec["tab"] = rng.choice(["all", "completed"])
        mix.append(spec)
    return mix


def _viewer(department: str | None) -> Account | None:
    if department is None:
        return None
    return Account(username="bench", display_name="基准", roles=("window_clerk",), department=department,
                   password_hash="")


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(*, tiny: bool = False, args: Sequence[str] = ()) -> list[dict[str, object]]:
    n_cases, n_queries = (2000, 50) if tiny else (N_CASES, N_QUERIES)
    rng = random.Random(10)
    with sqlite_runtime() as rt:
        today = rt.local_date(rt.now())
        started = time.perf_counter()
        drawn = seed(str(rt.engine.url.database), n_cases, today, rng)
        seeded_s = time.perf_counter() - started
        mix = query_mix(drawn, today, rng, n_queries)
        return [_measure(rt, mix, seeded_s, n_cases)]


def _measure(rt: Runtime, mix: list[dict[str, Any]], seeded_s: float, n_cases: int) -> dict[str, object]:
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        captured.append((statement, parameters))

    def gk(spec: dict[str, Any]) -> int:
        viewer = _viewer(spec["department"])
        page = search_cases(rt, viewer, q=spec.get("q"), tab=spec.get("tab"),
                            received_from=spec.get("received_from"))
        return len(page.items)

    statements: list[list[tuple[str, Any]]] = []
    event.listen(rt.engine, "before_cursor_execute", capture)
    try:
        for spec in mix:
            captured.clear()
            gk(spec)
            statements.append([(s, p) for s, p in captured if s.lstrip().upper().startswith("SELECT")])
    finally:
        event.remove(rt.engine, "before_cursor_execute", capture)
    raw = sqlite3.connect(str(rt.engine.url.database))

    def bare(queries: list[tuple[str, Any]]) -> int:
        return sum(len(raw.execute(sql, params).fetchall()) for sql, params in queries)

    timings: dict[str, list[float]] = {"gk": [], "raw": []}
    found = 0
    for spec, queries in zip(mix, statements, strict=True):
        t0 = time.perf_counter()
        found += gk(spec) > 0
        t1 = time.perf_counter()
        bare(queries)
        t2 = time.perf_counter()
        timings["gk"].append((t1 - t0) * 1000)
        timings["raw"].append((t2 - t1) * 1000)
    raw.close()
    if os.environ.get("GKFLOW_BENCH_SLOWEST"):  # which queries make the tail
        import sys

        slowest = sorted(zip(timings["gk"], timings["raw"], mix, strict=True), key=lambda t: -t[0])[:15]
        for gk_ms, raw_ms, spec in slowest:
            print(f"{gk_ms:8.1f} {raw_ms:8.1f} {spec}", file=sys.stderr)
    return figure(
        "worklist.search", percentile(timings["gk"], 0.99), "ms", percentile(timings["raw"], 0.99),
        higher_is_better=False, cases=n_cases, queries=len(mix), found_share=round(found / len(mix), 3),
        p50=round(percentile(timings["gk"], 0.5), 3), raw_p50=round(percentile(timings["raw"], 0.5), 3),
        seed_s=round(seeded_s, 1),
    )
