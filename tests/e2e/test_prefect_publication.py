"""Real Prefect flows (session-scoped test harness): publication, sweep, milestones, catch-up, CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import column, table, update
from typer.testing import CliRunner

from gkflow.domain.cases import Actor
from gkflow.publication import ledger
from gkflow.services.cases import Applicant, fire, submit_case
from tests.helpers import sample_rows, submit, write_csv

pytestmark = [pytest.mark.slow, pytest.mark.prefect]  # the Prefect harness runs a server process
NOW = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)


@pytest.fixture
def flow_rt(flow_rt, clock):
    """The shared flow runtime (tests/e2e/conftest.py), on 10 November 2026 (10:00 in Golmud)."""
    clock.set(NOW)
    return flow_rt


@pytest.fixture
def cli(sqlite_rt, monkeypatch, flows_use):
    from gkflow.cli import app

    monkeypatch.setenv("GKFLOW_DATABASE_URL", sqlite_rt.settings.db_url)
    monkeypatch.setenv("GKFLOW_VAR_DIR", str(sqlite_rt.settings.var_dir))
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> object:
        result = runner.invoke(app, [*args, "--json"])
        assert result.exit_code == code, result.output
        return json.loads(result.stdout)

    return run


def test_a_publication_flow_run_is_recorded_in_prefect_and_in_the_ledger(flow_rt):
    from prefect.client.orchestration import get_client

    from flows.publication import publish_period_flow, run_flow

    [outcome] = run_flow(publish_period_flow("fiscal-monthly", "2026-10"))
    assert outcome["status"] == "published" and outcome["flow_run_id"]
    [row] = ledger.rows(flow_rt, "fiscal-monthly")
    assert row["flow_run_id"] == outcome["flow_run_id"]
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(outcome["flow_run_id"])
    assert run.state is not None and run.state.is_completed()
    assert run_flow(publish_period_flow("fiscal-monthly", "2026-10"))[0]["status"] == "unchanged"


def test_bad_data_through_the_flow_fails_the_period_not_the_flow(flow_rt, tmp_path):
    from flows.publication import publish_period_flow, run_flow

    rows = sample_rows("land/land-2026-Q3.csv")
    rows.append(dict(rows[0]))
    bad = write_csv(tmp_path / "land.csv", rows)
    [outcome] = run_flow(publish_period_flow("land-quarterly", "2026-Q3", source=str(bad)))
    assert outcome["status"] == "failed" and "duplicate of row 2" in outcome["reasons"][0]


def test_publish_run_status_and_backfill_from_the_command_line(cli):
    [run] = cli("publish", "run", "fiscal-monthly", "--period", "2026-10")
    assert run["status"] == "published" and run["url"].endswith("/gk/fiscal-monthly/2026-10/")
    assert cli("publish", "run", "fiscal-monthly", "--period", "2026-10")[0]["status"] == "unchanged"
    backfilled = cli("publish", "backfill", "fiscal-monthly", "--from", "2026-07", "--to", "2026-09")
    assert [(o["period"], o["status"]) for o in backfilled] == [
        ("2026-07", "published"), ("2026-08", "published"), ("2026-09", "published")]
    status = cli("publish", "status", "--task", "fiscal-monthly")
    states = {e["period"]: e["status"] for e in status}
    assert states["2026-10"] == "published" and states["2026-06"] == "due"
    failed = cli("publish", "run", "fiscal-monthly", "--period", "2026-10", "--source", "/nope.csv", code=1)
    assert failed[0]["status"] == "failed"
    assert cli("publish", "run", "budget", "--period", "2026-10", code=1)["error"]["code"] == "not_found"
    assert cli("publish", "run", "fiscal-monthly", "--period", "2026-13", code=1)["error"]["code"] == \
        "invalid_input"


def test_the_sweep_flow_from_the_command_line_raises_each_warning_once(cli, sqlite_rt):
    submit(sqlite_rt, received_at=datetime(2026, 3, 2, 1, tzinfo=UTC))  # 09:00 on Monday 2 March
    raised = cli("sweep", "--at", "2026-03-24T09:00")
    assert sorted((w["scope"], w["level"]) for w in raised) == [("case", "red"), ("step", "red")]
    assert cli("sweep", "--at", "2026-03-25T09:00") == []


def test_a_milestone_trigger_is_published_by_the_polled_flow(flow_rt):
    from flows.triggers import poll_milestones

    assert poll_milestones() == 0  # nothing due: no flow run at all
    unit = Applicant("格尔木市交通运输局", "13900000002")
    case_no = submit_case(flow_rt, "construction-project", unit, fields={
        "project_name": "G109线格尔木过境段改造", "project_code": "2026-632801-48-01-000321",
        "plan_document": "格政〔2026〕3号", "total_investment": "56000"}).case_no
    fire(flow_rt, case_no, "approve", Actor("zhao", "handler", "格尔木市发展和改革委员会"),
         fields={"milestone": "立项批复", "approval_no": "格发改〔2026〕90号",
                 "approved_investment": "56000"})
    assert poll_milestones() == 1
    [row] = ledger.rows(flow_rt, "construction-progress")
    assert (row["subject"], row["period"], row["trigger"]) == ("2026-632801-48-01-000321", "2026-11-10",
                                                                "milestone")
    assert row["status"] == "published" and row["flow_run_id"]


def test_after_a_downtime_the_scheduler_backfills_missed_months_with_real_flows(flow_rt):
    from zoneinfo import ZoneInfo

    from gkflow.scheduling.config import LateRuns, PublicationSchedule, Schedules
    from gkflow.scheduling.embedded import JOBSTORE_TABLE, EmbeddedScheduler

    only_fiscal = Schedules(ZoneInfo("Asia/Shanghai"),
                            [PublicationSchedule("fiscal-monthly", "0 9 5 * *", LateRuns.BACKFILL)], [])
    first = EmbeddedScheduler(flow_rt, only_fiscal)
    first.start(now=NOW, background_catch_up=False)
    first.shutdown()
    jobs = table(JOBSTORE_TABLE, column("id"), column("next_run_time"))
    with flow_rt.engine.begin() as conn:  # it stopped before the September run and was down since
        conn.execute(update(jobs).values(next_run_time=datetime(2026, 9, 5, 1, tzinfo=UTC).timestamp()))
    second = EmbeddedScheduler(flow_rt, only_fiscal)
    second.start(now=NOW, background_catch_up=False)
    second.shutdown()
    rows = ledger.rows(flow_rt, "fiscal-monthly")
    assert [(r["period"], r["status"], r["trigger"]) for r in rows] == [
        ("2026-08", "published", "catch-up"), ("2026-09", "published", "catch-up"),
        ("2026-10", "published", "catch-up")]
    assert all(r["flow_run_id"] for r in rows)
    assert Path(flow_rt.settings.var_dir, "site", "fiscal-monthly", "2026-08", "current").exists()
