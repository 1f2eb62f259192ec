"""Signed checkpoints of the history (`gkflow audit checkpoint`, hourly from the schedulers).

A checkpoint is a Merkle root (SM3) over every case's chain head, with the number of cases and
events and the time, linked to the previous checkpoint and signed (Ed25519 or SM2). It is kept
outside the database: the statement and the full list of heads in the private folder
<var>/audit/checkpoints (0700), and the statement alone (root, counts, time, signature) published
on the 主动公开 site under /gk/audit/ with the public key. The heads stay private: case numbers are
half of a look-up credential. `gkflow audit verify` then catches a truncated or rewritten tail.
"""

from __future__ import annotations

import base64
import fcntl
import html
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from gkflow.db.case_rows import cases_t
from gkflow.domain.errors import CorruptRecord
from gkflow.domain.events import canonical_time
from gkflow.integrity.merkle import MERKLE_ALG, heads_root, sm3
from gkflow.integrity.signing import load_signer, verify_signature
from gkflow.publication.config import site_dir
from gkflow.runtime import Runtime
from gkflow.settings import Settings

FORMAT = "gkflow-checkpoint/1"
SITE_FOLDER = "audit"


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint as stored: its signed statement and the heads it seals (case_no -> seq, head)."""

    statement: dict[str, Any]
    heads: dict[str, tuple[int, str]]

    @property
    def number(self) -> int:
        return int(self.statement["number"])


def checkpoint_dir(settings: Settings) -> Path:
    return settings.var_dir / "audit" / "checkpoints"


def signed_bytes(statement: dict[str, Any]) -> bytes:
    """What the signature covers: the statement without its signature, as canonical JSON."""
    body = {k: v for k, v in statement.items() if k != "signature"}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def _write_atomically(path: Path, content: bytes, mode: int = 0o600) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    with open(folder / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _numbers(folder: Path) -> list[int]:
    if not folder.is_dir():
        return []
    return sorted(int(p.name[:6]) for p in folder.glob("[0-9][0-9][0-9][0-9][0-9][0-9].json"))


def write_checkpoint(rt: Runtime) -> dict[str, Any]:
    """Seal every case's chain head now: write, sign and publish a checkpoint; its statement."""
    signer = load_signer(rt.settings)  # a missing key stops here, before anything is written
    folder = checkpoint_dir(rt.settings)
    with _locked(folder):
        with rt.engine.connect() as conn, conn.begin():
            heads = [(no, int(seq), h) for no, seq, h in conn.execute(
                select(cases_t.c.case_no, cases_t.c.last_seq, cases_t.c.last_hash))]
        numbers = _numbers(folder)
        number = numbers[-1] + 1 if numbers else 1
        previous = None
        if numbers:
            previous = sm3((folder / f"{numbers[-1]:06d}.json").read_bytes()).hex()
        statement: dict[str, Any] = {
            "format": FORMAT, "number": number, "created_at": canonical_time(rt.now()),
            "cases": len(heads), "events": sum(seq for _, seq, _ in heads), "merkle": MERKLE_ALG,
            "root": heads_root(heads), "previous": previous,
        }
        statement["signature"] = {
            "alg": signer.alg, "key_id": signer.key_id,
            "value": base64.b64encode(signer.sign(signed_bytes(statement))).decode("ascii"),
        }
        keys_folder = folder / "keys"
        keys_folder.mkdir(exist_ok=True)
        key_path = keys_folder / f"{signer.key_id}.pem"
        if not key_path.exists():
            _write_atomically(key_path, signer.public_pem, 0o644)
        heads_doc = json.dumps([list(h) for h in sorted(heads)], ensure_ascii=False).encode("utf-8")
        # Heads first: a statement on disk always has its heads.
        _write_atomically(folder / f"{number:06d}.heads.json", heads_doc)
        _write_atomically(folder / f"{number:06d}.json",
                          json.dumps(statement, ensure_ascii=False, indent=1).encode("utf-8"))
        publish_roots(rt)
    return statement


def load_checkpoint(settings: Settings, number: int) -> Checkpoint:
    """Checkpoint ``number`` with its heads, its root and signature checked; CorruptRecord if not."""
    folder = checkpoint_dir(settings)
    where = folder / f"{number:06d}.json"
    try:
        statement = json.loads(where.read_text(encoding="utf-8"))
        rows = json.loads((folder / f"{number:06d}.heads.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CorruptRecord(f"checkpoint {where}: unreadable ({type(exc).__name__})") from None
    heads = {str(no): (int(seq), str(h)) for no, seq, h in rows}
    signature = statement.get("signature") or {}
    public = folder / "keys" / f"{signature.get('key_id')}.pem"
    if not public.is_file():
        raise CorruptRecord(f"checkpoint #{number}: its public key {signature.get('key_id')} is missing")
    if not verify_signature(str(signature.get("alg")), public.read_bytes(), str(signature.get("value")),
                            signed_bytes(statement)):
        raise CorruptRecord(f"checkpoint #{number}: the signature does not match its statement")
    if heads_root((no, seq, h) for no, (seq, h) in heads.items()) != statement.get("root"):
        raise CorruptRecord(f"checkpoint #{number}: the private list of heads does not give the signed root")
    if len(heads) != statement.get("cases"):
        raise CorruptRecord(
            f"checkpoint #{number}: {len(heads)} heads listed, {statement.get('cases')} signed")
    return Checkpoint(statement, heads)


def first_and_latest(settings: Settings) -> tuple[Checkpoint | None, Checkpoint | None]:
    """The first checkpoint (it sealed the unkeyed chains) and the latest one, verified."""
    numbers = _numbers(checkpoint_dir(settings))
    if not numbers:
        return None, None
    for earlier, later in zip(numbers, numbers[1:], strict=False):
        if later != earlier + 1:
            raise CorruptRecord(f"checkpoint #{earlier + 1} is missing (found #{earlier} and #{later})")
    first = load_checkpoint(settings, numbers[0])
    latest = first if len(numbers) == 1 else load_checkpoint(settings, numbers[-1])
    if numbers[0] != 1:
        raise CorruptRecord(f"checkpoint #1 is missing (the first one found is #{numbers[0]})")
    if len(numbers) > 1:
        before = checkpoint_dir(settings) / f"{numbers[-2]:06d}.json"
        if latest.statement.get("previous") != sm3(before.read_bytes()).hex():
            raise CorruptRecord(f"checkpoint #{numbers[-1]} does not link to checkpoint #{numbers[-2]}")
    return first, latest


def publish_roots(rt: Runtime) -> Path:
    """Publish every checkpoint's statement (never the heads) and the public keys under /gk/audit/."""
    folder = checkpoint_dir(rt.settings)
    statements = [json.loads((folder / f"{n:06d}.json").read_text(encoding="utf-8"))
                  for n in _numbers(folder)]
    target = site_dir(rt.settings) / SITE_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    for key in sorted((folder / "keys").glob("*.pem")):
        _write_atomically(target / key.name, key.read_bytes(), 0o644)
    _write_atomically(target / "checkpoints.json",
                      json.dumps(statements, ensure_ascii=False, indent=1).encode("utf-8"), 0o644)
    _write_atomically(target / "index.html", _page(rt, statements).encode("utf-8"), 0o644)
    return target


def _page(rt: Runtime, statements: list[dict[str, Any]]) -> str:
    items = []
    for s in reversed(statements):
        at = datetime.strptime(s["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        sig = s.get("signature") or {}
        key_id = html.escape(str(sig.get("key_id")))
        items.append(
            f"<li><p><strong>第 {s['number']} 号</strong> · {at.astimezone(rt.settings.tz):%Y-%m-%d %H:%M}"
            f" · 办件 {s['cases']} 件 · 办理记录 {s['events']} 条</p>"
            f"<p class='muted'>根值（SM3）</p><p class='h'>{html.escape(s['root'])}</p>"
            f"<p class='muted'>签名：{html.escape(str(sig.get('alg', '')).upper())} · "
            f"<a href='{key_id}.pem'>公钥 {key_id}</a></p></li>")
    return (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>办理记录校验点</title><style>body{font-family:sans-serif;margin:1rem auto;max-width:50rem;"
        "padding:0 1rem;line-height:1.5}ol{list-style:none;padding:0}li{border:1px solid #cbd2d9;"
        "border-radius:6px;padding:.2rem .8rem;margin:.6rem 0}li p{margin:.3rem 0}.muted{color:#52606d;"
        "font-size:.9rem}.h{font-family:monospace;word-break:break-all}</style></head><body>"
        "<h1>办理记录校验点</h1>"
        "<p>本系统每小时对全部办件的办理记录生成一个校验点：以 SM3 计算的默克尔树根值，连同办件数、"
        "记录数和生成时间，经数字签名后在此公开。任何对已记录办理过程的删改，都会与已公开的根值不符。"
        "<a href='checkpoints.json'>下载全部校验点（JSON）</a></p>"
        f"<ol>{''.join(items)}</ol></body></html>"
    )


def ensure_first_checkpoint(rt: Runtime) -> dict[str, Any] | None:
    """Write checkpoint #1 if there is none (it seals the unkeyed chains written before keys);
    its statement, or None if one exists."""
    if _numbers(checkpoint_dir(rt.settings)):
        return None
    return write_checkpoint(rt)


def require_keys(settings: Settings) -> None:
    """Raise InvalidConfig unless both the chain key and the checkpoint key are configured."""
    from gkflow.integrity.keys import load_keyring

    load_keyring(settings)
    load_signer(settings)
