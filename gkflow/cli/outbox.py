"""`gkflow outbox dispatch | list` and `gkflow inbox`: deliver notices, see their status, read the sandbox.

`outbox dispatch` calls gkflow.delivery directly (no Prefect), so it starts in well under a second.
"""

from __future__ import annotations

import json
import signal
import time
from datetime import datetime
from typing import Annotated, Any

import typer

from gkflow.cli.common import JsonFlag, emit, handles_errors, runtime
from gkflow.domain.errors import InvalidInput

STATUS_HELP = "created, sending, delivered, temporary-failure, permanent-failure, technical-failure, dead"
app = typer.Typer(no_args_is_help=True, help="The outbox (发件箱): notices and their delivery")


def _local(value: datetime | None, tz: Any) -> str | None:
    if value is None:
        return None
    if value.year >= 9999:
        return "awaiting receipt"
    return value.astimezone(tz).isoformat(timespec="seconds")


@app.command("dispatch")
@handles_errors
def outbox_dispatch(
    once: Annotated[bool, typer.Option("--once", help="deliver what is due now, then exit")] = False,
    batch_size: Annotated[int | None, typer.Option("--batch-size", min=1, max=10_000)] = None,
    interval: Annotated[float | None, typer.Option("--interval", help="seconds between polls")] = None,
    lease_seconds: Annotated[int | None, typer.Option("--lease-seconds", min=5, max=86_400)] = None,
    worker: Annotated[str | None, typer.Option("--worker", help="name recorded on claimed rows")] = None,
    json_: JsonFlag = False,
) -> None:
    """Deliver due notices: with --once drain what is due and exit, else poll until Ctrl-C."""
    from gkflow.delivery.config import load_channels_config, with_overrides
    from gkflow.delivery.dispatcher import Dispatcher, DispatchReport, default_worker

    rt = runtime()
    config = load_channels_config(rt.settings)
    changes: dict[str, Any] = {}
    if batch_size is not None:
        changes["batch_size"] = batch_size
    if lease_seconds is not None:
        changes["lease_seconds"] = lease_seconds
    if changes:
        config = with_overrides(config, **changes)
    dispatcher = Dispatcher(rt, config)
    name = worker or default_worker()

    def show(report: DispatchReport) -> None:
        data = report.to_dict()
        emit(data, json_, lambda: (
            f"{data['claimed']} claimed: {data['delivered']} delivered, {data['accepted']} accepted "
            f"(awaiting receipt), {data['held']} held, {data['retrying']} to retry, {data['failed']} failed, "
            f"{data['dead']} dead" + "".join(f"\n  {e}" for e in data["errors"])))

    if once:
        show(dispatcher.drain(worker=name, max_batches=1_000_000))
        return

    stop = {"requested": False}

    def request_stop(_signum: int, _frame: Any) -> None:
        if stop["requested"]:
            raise KeyboardInterrupt
        stop["requested"] = True  # finish the batch in hand (its rows are leased to us), then exit

    previous = signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    pause = interval if interval is not None else config.poll_seconds
    if not json_:
        typer.echo(f"dispatching as {name}, polling every {pause:g} s; Ctrl-C to stop", err=True)
    try:
        while not stop["requested"]:
            if dispatcher.due():
                report = dispatcher.drain(worker=name, max_batches=1_000_000)
                if report.claimed:
                    if json_:
                        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False))
                    else:
                        show(report)
                continue
            time.sleep(pause)
    finally:
        signal.signal(signal.SIGINT, previous)
    dispatcher.pool.close()


@app.command("list")
@handles_errors
def outbox_list(
    status: Annotated[str | None, typer.Option("--status", help=STATUS_HELP)] = None,
    case: Annotated[str | None, typer.Option("--case", help="only this case")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="notice or trigger")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000)] = 50,
    json_: JsonFlag = False,
) -> None:
    """Notices (and triggers) with their delivery status, newest first; recipients masked."""
    from gkflow.delivery.outbox import STATUSES
    from gkflow.delivery.outbox_admin import list_messages
    from notifications.masking import mask_recipient

    if status is not None and status not in STATUSES:
        raise InvalidInput(f"unknown status '{status}'; one of {', '.join(STATUSES)}", fields=["status"])
    rt = runtime()
    tz = rt.settings.tz
    rows = [
        {"id": r["id"], "case_no": r["case_no"], "kind": r["kind"], "topic": r["topic"],
         "channel": r["channel"], "recipient": mask_recipient(r["recipient"]) if r["recipient"] else None,
         "status": r["status"], "attempts": r["attempts"],
         "next_attempt_at": _local(r["next_attempt_at"], tz),
         "leased": r["lease_until"] is not None, "delivered_at": _local(r["delivered_at"], tz),
         "last_error": r["last_error"], "provider_ref": r["provider_ref"],
         "idempotency_key": r["idempotency_key"], "created_at": _local(r["created_at"], tz)}
        for r in list_messages(rt, status=status, case_no=case, kind=kind, limit=limit)
    ]
    emit(rows, json_, lambda: "\n".join(
        f"{r['id']:>6} {r['status']:<17} {r['attempts']:>2}x {r['channel'] or r['kind']:<8} "
        f"{r['topic']:<20} {r['case_no'] or '-':<20} {r['recipient'] or '-'}"
        + (f"\n         {r['last_error']}" if r["last_error"] else "")
        for r in rows) or "the outbox is empty")


@handles_errors
def inbox(
    case: Annotated[str | None, typer.Option("--case", help="only this case")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000)] = 20,
    json_: JsonFlag = False,
) -> None:
    """What the sandbox channel received, newest first: the rendered text of each notice."""
    from gkflow.delivery.config import load_channels_config
    from notifications.channels.sandbox import read_inbox

    rt = runtime()
    config = load_channels_config(rt.settings)
    messages = read_inbox(config.inbox_dir, case_no=case, limit=limit)
    emit(messages, json_, lambda: "\n\n".join(
        f"[{_local(datetime.fromisoformat(m['stored_at']), rt.settings.tz)}] {m['channel']}/{m['notice']}"
        f" to {m['recipient']} ({m['case_no'] or '-'})"
        + (f"\n{m['subject']}" if m.get("subject") else "") + f"\n{m['text']}"
        for m in messages) or f"the inbox ({config.inbox_dir}) is empty")
