"""The scorecard's manual entries: an administrator's score for an annex item, a bonus (加分项) or a
deduction (减分项), each with reason and evidence, appended to the department's chain and sealed with
the same keyed MAC as a case's history (``gkflow.domain.events.seal_event``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gkflow.db.engine import write_connection
from gkflow.db.models import table_of
from gkflow.db.openness_models import ScorecardEntryRow
from gkflow.domain.errors import Conflict, InvalidInput
from gkflow.domain.events import GENESIS_HASH, ChainBreak, seal_event, verify_chain
from gkflow.runtime import Runtime
from gkflow.services.scorecard_config import ScorecardConfig

entries_t = table_of(ScorecardEntryRow)
KINDS = {"manual": "考核项目评分", "bonus": "加分项", "deduction": "减分项"}
ROLE = "admin"


@dataclass(frozen=True)
class ManualEntry:
    id: int
    department: str
    seq: int
    period: str
    kind: str
    item: str
    points: Decimal
    reason: str
    evidence: str
    evidence_name: str | None
    evidence_sha256: str | None
    actor: str
    at: datetime
    hash: str


def chain_name(department: str) -> str:
    """What the hash covers as the chain's name (a case number, for a case)."""
    return f"scorecard:{department}"


def _fields(
    points: str, evidence: str, evidence_name: str | None, evidence_sha256: str | None
) -> dict[str, str]:
    return {
        "points": points,
        "evidence": evidence,
        "evidence_name": evidence_name or "",
        "evidence_sha256": evidence_sha256 or "",
    }


def _points(text: str, kind: str, item: str, config: ScorecardConfig) -> Decimal:
    try:
        points = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidInput(
            f"分值须为数字 (points must be a number, got '{text}')", fields=["points"]
        ) from None
    if kind == "manual":
        spec = config.manual_item(item)
        if spec is None:
            known = "、".join(f"{m.key}（{m.label}）" for m in config.manual)
            raise InvalidInput(f"未知考核项目 '{item}'（可选：{known}）", fields=["item"])
        most = spec.max
    else:
        most = config.bonus_max if kind == "bonus" else config.deduction_max
    if points < 0 or points > most or points.as_tuple().exponent < -1:  # type: ignore[operator]
        raise InvalidInput(
            f"分值须在0至{most}之间，最多一位小数 (points from 0 to {most})", fields=["points"]
        )
    return points


def record_entry(
    rt: Runtime,
    config: ScorecardConfig,
    *,
    department: str,
    period: str,
    kind: str,
    item: str = "",
    points: str,
    reason: str,
    evidence: str = "",
    evidence_file: tuple[str, str] | None = None,
    actor: str,
) -> ManualEntry:
    """Append one entry to the department's chain (one transaction; a concurrent writer retries)."""
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}", fields=["kind"])
    department, reason, evidence = department.strip(), reason.strip(), evidence.strip()
    if not department:
        raise InvalidInput("请选择部门 (department is required)", fields=["department"])
    if not reason:
        raise InvalidInput("请写明评分理由 (a reason is required)", fields=["reason"])
    if not evidence and evidence_file is None:
        raise InvalidInput("请提供佐证（文号、网址或上传文件）(evidence is required)", fields=["evidence"])
    value = _points(points, kind, item if kind == "manual" else "", config)
    item = item if kind == "manual" else ""
    text = str(value)
    name, digest = evidence_file if evidence_file else (None, None)
    for _attempt in range(5):
        at = rt.now()
        try:
            with write_connection(rt.engine) as conn, conn.begin():
                head = conn.execute(
                    select(entries_t.c.seq, entries_t.c.hash)
                    .where(entries_t.c.chain == department)
                    .order_by(entries_t.c.seq.desc())
                    .limit(1)
                ).first()
                seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
                event: dict[str, Any] = {
                    "chain": department, "seq": seq, "period": period, "kind": kind, "item": item,
                    "points": text, "reason": reason, "evidence": evidence, "evidence_name": name,
                    "evidence_sha256": digest, "actor": actor, "at": at, "prev_hash": prev,
                }
                digest_hash = seal_event(rt.keyring, event, chain_name(department))
                row_id = conn.execute(
                    entries_t.insert().values(**event).returning(entries_t.c.id)
                ).scalar_one()
            return ManualEntry(
                row_id,
                department,
                seq,
                period,
                kind,
                item,
                value,
                reason,
                evidence,
                name,
                digest,
                actor,
                at,
                digest_hash,
            )
        except IntegrityError:
            continue  # another administrator took this seq: chain onto theirs
    raise Conflict("could not record the entry: too many concurrent entries for this department")


def _entry(row: Mapping[str, Any]) -> ManualEntry:
    return ManualEntry(
        int(str(row["id"])),
        str(row["chain"]),
        int(str(row["seq"])),
        str(row["period"]),
        str(row["kind"]),
        str(row["item"]),
        Decimal(str(row["points"])),
        str(row["reason"]),
        str(row["evidence"]),
        row["evidence_name"],
        row["evidence_sha256"],
        str(row["actor"]),
        row["at"],
        str(row["hash"]),
    )


def entries_for(rt: Runtime, period: str) -> list[ManualEntry]:
    """Every entry of ``period``, in the order written."""
    with rt.engine.connect() as conn:
        rows = (
            conn.execute(
                select(entries_t)
                .where(entries_t.c.period == period)
                .order_by(entries_t.c.chain, entries_t.c.seq)
            )
            .mappings()
            .all()
        )
    return [_entry(dict(r)) for r in rows]


def broken_chains(rt: Runtime) -> dict[str, ChainBreak]:
    """Department -> the first broken link of its scorecard chain (only the broken ones)."""
    with rt.engine.connect() as conn:
        rows = conn.execute(select(entries_t).order_by(entries_t.c.chain, entries_t.c.seq)).mappings().all()
    chains: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        chains.setdefault(str(row["chain"]), []).append(dict(row))
    found = {}
    for department, records in chains.items():
        broken = verify_chain(records, chain_name(department), rt.keyring)
        if broken is not None:
            found[department] = broken
    return found
