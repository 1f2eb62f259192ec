"""行政许可结果公示: a licence granted in a case opens its directory ledger row (due 7 working days
after the decision, the 双公示 rule) and is published on the site's licence page and feed, which
closes the row. The decision's transition writes a ``licence.granted`` trigger in its own
transaction; this consumer claims those rows from the outbox with a lease, like the milestones.

Personal data stays out: no case number (half of a look-up credential), no ID number or phone, and
an applicant who is a natural person appears masked (张*); an organisation's name is shown in full.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import socket
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, text

from gkflow.db.case_rows import case_row
from gkflow.db.engine import write_connection
from gkflow.delivery import outbox
from gkflow.domain.errors import GkflowError, NotFound
from gkflow.domain.masking import mask_name
from gkflow.domain.openness import Entry
from gkflow.publication.config import load_publication_config
from gkflow.publication.rendering import environment
from gkflow.runtime import Runtime
from gkflow.services.openness import load_directory
from gkflow.services.openness_ledger import close_row, ledger_t, open_event_row

LICENCE_TOPIC = "licence.granted"
PAGE_DIR = "xzxk"  # 行政许可
MAX_ATTEMPTS = 5
_ORGANISATION = re.compile(r"(公司|厂|店|部|社|中心|馆|所|院|场|行|会|站|超市|企业|集团|合作社|门市)$")
_ADDRESS_KEYS = ("shop_address", "business_address", "venue_address")
_WITHHELD = {"reason", "remedy"}
LOCK_ID = 727012  # PostgreSQL advisory lock: one writer of the licence page at a time


def public_holder(name: str) -> str:
    """The licence holder as published: an organisation in full, a natural person masked."""
    name = name.strip()
    return name if len(name) > 4 and _ORGANISATION.search(name) else mask_name(name)


def _entry_for(rt: Runtime, item_code: str, on: Any) -> Entry | None:
    directory = load_directory(rt.settings)
    for code in directory.codes():
        version = directory.in_force(code, on)
        if version and version.cadence.item == item_code and version.cadence.trigger == LICENCE_TOPIC:
            return version
    return None


def decision_detail(rt: Runtime, payload: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """What the public sees of one decision, and the item version of its case."""
    with rt.engine.connect() as conn:
        case = case_row(conn, payload["case_no"])
    item = rt.item(case["item_code"], case["item_version"])
    granting = next((t for t in item.transitions.values() if LICENCE_TOPIC in t.triggers), None)
    labels = {f.name: f.label for f in granting.fields} if granting else {}
    reported = payload.get("fields") or {}
    submitted = json.loads(case["fields"] or "{}")
    content = [f"{labels[k]}：{v}" for k, v in reported.items() if k in labels and k not in _WITHHELD and v]
    address = next((str(submitted[k]) for k in _ADDRESS_KEYS if submitted.get(k)), "")
    decided_on = datetime.strptime(payload["occurred_at"], "%Y-%m-%d %H:%M").date()
    detail = {
        "item": item.name,
        "holder": public_holder(case["applicant_name"]),
        "licence_no": str(reported.get("licence_no", "")),
        "content": "；".join(content),
        "address": address,
        "decided_on": decided_on.isoformat(),
        "valid_until": str(reported.get("valid_until", "")),
        "authority": item.department,
    }
    return detail, decided_on


def _rows(conn: Connection, codes: list[str]) -> list[dict[str, Any]]:
    found = conn.execute(
        select(ledger_t.c.id, ledger_t.c.detail, ledger_t.c.entry)
        .where(ledger_t.c.entry.in_(codes), ledger_t.c.case_no.is_not(None))
        .order_by(ledger_t.c.formed_on.desc(), ledger_t.c.id.desc())
    ).all()
    return [{"id": row_id, "entry": entry, **json.loads(detail)} for row_id, detail, entry in found]


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)


COLUMNS = (
    ("holder", "行政相对人"),
    ("item", "许可事项"),
    ("licence_no", "许可证编号"),
    ("content", "许可内容"),
    ("address", "经营场所"),
    ("decided_on", "许可决定日期"),
    ("valid_until", "有效期至"),
    ("authority", "许可机关"),
)


def render_page(site_dir: Path, rows: list[dict[str, Any]], generated: str) -> None:
    """The licence page, its CSV and its JSON feed, rewritten whole (atomically per file)."""
    folder = site_dir / PAGE_DIR
    html = (
        environment()
        .get_template("licence-decisions.html")
        .render(rows=rows, columns=COLUMNS, generated=generated)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([label for _, label in COLUMNS])
    for row in rows:
        writer.writerow([_safe_cell(str(row.get(key, ""))) for key, _ in COLUMNS])
    feed = {
        "title": "行政许可结果公示",
        "generated": generated,
        "decisions": [{"id": r["id"], **{k: r.get(k, "") for k, _ in COLUMNS}} for r in rows],
    }
    _write(folder / "index.html", html.encode("utf-8"))
    _write(folder / "data.csv", buffer.getvalue().encode("utf-8-sig"))
    _write(folder / "data.json", json.dumps(feed, ensure_ascii=False, indent=1).encode("utf-8"))


def _safe_cell(value: str) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def publish_decision(rt: Runtime, payload: dict[str, Any], *, worker: str) -> dict[str, Any]:
    """Open the decision's row, publish the page with it and close the row; idempotent."""
    detail, decided_on = decision_detail(rt, payload)
    entry = _entry_for(rt, payload["item_code"], decided_on)
    if entry is None:
        return {"case_no": payload["case_no"], "status": "untracked"}  # before the entry took effect
    directory = load_directory(rt.settings)
    codes = [c for c in directory.codes() if directory.latest(c).cadence.trigger == LICENCE_TOPIC]
    config = load_publication_config(rt.settings)
    now = rt.now()
    due = entry.time_limit.due(decided_on, rt.calendar)
    with write_connection(rt.engine) as conn, conn.begin():
        if rt.engine.dialect.name == "postgresql":
            conn.execute(text(f"SELECT pg_advisory_xact_lock({LOCK_ID})"))
        row_id = open_event_row(
            conn,
            entry,
            subject=payload["case_no"],
            formed_on=decided_on,
            due=due,
            at=now,
            actor=worker,
            case_no=payload["case_no"],
            title=f"{detail['holder']} {detail['licence_no']}".strip(),
            detail=detail,
        )
        status = conn.execute(select(ledger_t.c.status).where(ledger_t.c.id == row_id)).scalar_one()
        url = f"{config.public_url}/{PAGE_DIR}/#d{row_id}"
        if status == "open":
            render_page(
                config.site_dir, _rows(conn, codes), now.astimezone(rt.settings.tz).strftime("%Y-%m-%d %H:%M")
            )
            close_row(conn, row_id, published_on=rt.local_date(now), at=now, url=url, recorded_by=worker)
    published_on = rt.local_date(now)
    return {
        "case_no": payload["case_no"],
        "status": "published",
        "entry": entry.code,
        "url": url,
        "decided_on": decided_on.isoformat(),
        "due_on": due.date.isoformat(),
        "on_time": published_on <= due.date,
    }


def due_licence_decisions(rt: Runtime) -> int:
    """The cheap poll: licence triggers waiting."""
    return outbox.due_count(rt, kind="trigger", topics=[LICENCE_TOPIC])


def consume_licence_decisions(
    rt: Runtime, *, limit: int = 20, worker: str | None = None
) -> list[dict[str, Any]]:
    """Publish every due licence decision; a failure leaves its row open and the trigger retried."""
    worker = worker or f"licences@{socket.gethostname()}"
    done: list[dict[str, Any]] = []
    for message in outbox.claim(rt, worker=worker, kind="trigger", topics=[LICENCE_TOPIC], limit=limit):
        try:
            outcome = publish_decision(rt, message.payload, worker=worker)
        except (GkflowError, OSError, KeyError, ValueError) as exc:
            reason = exc.message if isinstance(exc, GkflowError) else f"{type(exc).__name__}: {exc}"
            final = isinstance(exc, NotFound) or message.attempts >= MAX_ATTEMPTS
            outbox.mark_failed(
                rt,
                message.id,
                worker,
                status=outbox.DEAD if final else outbox.TEMPORARY_FAILURE,
                error=reason,
                retry_at=None if final else rt.now() + timedelta(minutes=10),
            )
            done.append({"case_no": message.case_no, "status": "error", "error": reason})
            continue
        outbox.mark_delivered(rt, message.id, worker, provider_ref=outcome.get("url") or outcome["status"])
        done.append(outcome)
    return done
