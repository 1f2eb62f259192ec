"""Shared set-up for benchmarks: a throw-away gkflow instance with a looping bench item."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from gkflow.runtime import Runtime
from gkflow.services.catalogue_sync import init_database
from gkflow.services.keys import generate_missing_keys
from gkflow.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("GKFLOW_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

# One state, one self-loop transition with a notice: each fire = case UPDATE + event + outbox row.
BENCH_ITEM = """
code: bench-loop
name: 基准测试事项
area: 基准
department: 基准测试部门
basis: [基准测试用，不对外]
statutory_limit: {days: 20, unit: working}
promised_limit: {days: 10, unit: working}
notice_channels: [sms]
initial: open
states:
  open: {label: 办理中}
  done: {label: 已办结, final: true}
transitions:
  touch:
    label: 记录
    from: open
    to: open
    roles: [handler]
    fields: {note: {label: 备注, type: text}}
    notices: [accepted]
  close:
    label: 办结
    from: open
    to: done
    roles: [handler]
version: 1
effective_from: 2020-01-01
"""


# A whole lifecycle, as an applicant's case lives it: submitted, accepted, decided, closed; every step
# one sms notice to the applicant (bench/bench_sustained.py drives it over the HTTP API).
LIFECYCLE_ITEM = """
code: bench-life
name: 基准测试事项（全流程）
area: 基准
department: 基准测试部门
basis: [基准测试用，不对外]
statutory_limit: {days: 20, unit: working}
promised_limit: {days: 10, unit: working}
notice_channels: [sms]
initial: received
submit_notices: [accepted]
states:
  received: {label: 已收件}
  under_review: {label: 审查中}
  decided: {label: 已决定}
  closed: {label: 已办结, final: true}
transitions:
  accept: {label: 受理, from: received, to: under_review, roles: [handler], notices: [accepted]}
  decide:
    label: 作出决定
    from: under_review
    to: decided
    roles: [handler]
    fields: {outcome: {label: 决定, type: text}}
    notices: [decided]
  close: {label: 办结, from: decided, to: closed, roles: [handler], notices: [delivered]}
version: 1
effective_from: 2020-01-01
"""
LIFECYCLE_STEPS = (("accept", {}), ("decide", {"outcome": "准予许可"}), ("close", {}))


def bench_config(tmp: Path) -> Path:
    config = tmp / "config"
    (config / "items").mkdir(parents=True)
    shutil.copy(ROOT / "config" / "calendar.yaml", config / "calendar.yaml")
    (config / "items" / "bench-loop.yaml").write_text(BENCH_ITEM, encoding="utf-8")
    (config / "items" / "bench-life.yaml").write_text(LIFECYCLE_ITEM, encoding="utf-8")
    return config


@contextmanager
def sqlite_runtime() -> Iterator[Runtime]:
    tmp = Path(tempfile.mkdtemp(prefix="gkflow-bench-"))
    try:
        settings = Settings(var_dir=tmp / "var", database_url=f"sqlite:///{tmp / 'bench.db'}",
                            config_dir=bench_config(tmp))
        generate_missing_keys(settings)
        rt = Runtime(settings)
        init_database(rt)
        yield rt
        rt.engine.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001
        return False


@contextmanager
def postgres_runtime() -> Iterator[Runtime]:
    import psycopg

    tmp = Path(tempfile.mkdtemp(prefix="gkflow-bench-"))
    name = f"gkflow_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    try:
        settings = Settings(var_dir=tmp / "var", database_url=url, config_dir=bench_config(tmp))
        generate_missing_keys(settings)
        rt = Runtime(settings)
        init_database(rt)
        yield rt
        rt.engine.dispose()
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(tmp, ignore_errors=True)


def figure(name: str, value: float, unit: str, ceiling: float, higher_is_better: bool = True,
           **extra: object) -> dict[str, object]:
    ratio = value / ceiling if higher_is_better else ceiling / value
    return {"figure": name, "value": round(value, 3), "unit": unit, "ceiling": round(ceiling, 3),
            "ratio": round(ratio, 3), **extra}


def no_options(name: str, args: Sequence[str]) -> None:
    """Refuse options a module does not take (a typo must not run the default silently)."""
    if args:
        raise ValueError(f"bench {name} takes no options, got: {' '.join(args)}")
