"""Helpers of the front-door tests: small real files of each kind, the one-time code from the outbox,
and a count of everything a refused request must not have written."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import text

from gkflow.runtime import Runtime

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000") + b"\x00" * 64 + b"\xff\xd9"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489") + b"\x00" * 32
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120
MZ = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 120


def ofd() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("OFD.xml", "<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'/>")
    return buffer.getvalue()


def one_time_code(rt: Runtime, phone: str) -> str:
    """The newest code sent to ``phone`` (read from the outbox's secret part, as the SMS would carry)."""
    with rt.engine.connect() as conn:
        secret = conn.execute(
            text(
                "SELECT secret FROM outbox WHERE topic = 'verification_code' AND recipient = :p "
                "ORDER BY id DESC LIMIT 1"
            ),
            {"p": phone},
        ).scalar()
    assert secret, f"no code was sent to {phone}"
    return str(json.loads(secret)["one_time_code"])


def written(rt: Runtime) -> dict[str, Any]:
    """Rows and stored files that a refused request must leave as they were."""
    with rt.engine.connect() as conn:
        counts = {
            table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608
            for table in ("cases", "events", "outbox", "case_materials", "application_drafts")
        }
        counts["query_hashes"] = sorted(conn.execute(text("SELECT query_hash FROM cases")).scalars())
    root = Path(rt.settings.var_dir) / "materials"
    counts["blobs"] = (
        sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []
    )
    return counts
