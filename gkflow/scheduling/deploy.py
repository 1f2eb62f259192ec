"""`gkflow deploy`: the flows as deployments on a Prefect server, with config/schedules.yaml's schedules.

Deployments name their flows by module path (the gkflow package is installed on every worker),
so a process work pool needs no code storage: `prefect worker start --pool P --type process` on any
machine with gkflow installed and GKFLOW_* set runs them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from gkflow.scheduling.config import load_schedules
from gkflow.settings import Settings

if TYPE_CHECKING:
    from prefect import Flow



def maintenance_flow(name: str) -> Flow[..., Any] | None:
    """The Prefect flow that does a schedules.yaml maintenance job on a server (dispatch is not one:
    long-running dispatcher processes do it, decision 14)."""
    if name == "sweep":
        from flows.sweep import sweep_flow

        return sweep_flow
    if name == "milestones":
        from flows.triggers import milestone_flow

        return milestone_flow
    if name == "checkpoint":
        from flows.audit import checkpoint_flow

        return checkpoint_flow
    if name == "licences":
        from flows.openness import licence_flow

        return licence_flow
    return None


def ensure_process_pool(pool: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(pool)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(
                name=pool, type="process", base_job_template=ProcessWorker.get_default_base_job_template()))


def deploy_all(settings: Settings, *, pool: str) -> list[dict[str, Any]]:
    from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule
    from prefect.deployments.runner import RunnerDeployment
    from prefect.types.entrypoint import EntrypointType

    from flows.publication import publish_scheduled_flow

    schedules = load_schedules(settings.config_dir)
    tz = schedules.timezone.key
    ensure_process_pool(pool)
    deployed = []
    for schedule in schedules.publications:
        deployment = publish_scheduled_flow.to_deployment(
            name=schedule.task, schedules=[CronSchedule(cron=schedule.cron, timezone=tz)],
            parameters={"task_name": schedule.task}, entrypoint_type=EntrypointType.MODULE_PATH,
            description=f"{schedule.task} (late runs: {schedule.late_runs.value})",
            tags=["gkflow", "publication"],
        )
        assert isinstance(deployment, RunnerDeployment)  # called synchronously: not a coroutine
        deployment_id = deployment.apply(work_pool_name=pool)
        deployed.append({"name": f"{publish_scheduled_flow.name}/{schedule.task}", "id": str(deployment_id),
                         "schedule": f"cron {schedule.cron} ({tz})", "pool": pool})
    for job in schedules.maintenance:
        flow_obj = maintenance_flow(job.name)
        if flow_obj is None:
            continue
        deployment = flow_obj.to_deployment(
            name=job.name, schedules=[IntervalSchedule(interval=timedelta(seconds=job.interval_seconds))],
            entrypoint_type=EntrypointType.MODULE_PATH, tags=["gkflow", "maintenance"],
        )
        assert isinstance(deployment, RunnerDeployment)
        deployment_id = deployment.apply(work_pool_name=pool)
        deployed.append({"name": f"{flow_obj.name}/{job.name}", "id": str(deployment_id),
                         "schedule": f"every {job.interval_seconds} s", "pool": pool})
    return deployed
