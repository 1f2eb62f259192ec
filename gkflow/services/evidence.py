"""Evidence files (佐证材料) attached to a recorded publication or a scorecard entry: PDF, OFD, PNG or
JPEG, checked by content, stored once under ``<var dir>/evidence/<sha256>``."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from gkflow.domain.errors import InvalidInput, NotFound
from gkflow.settings import Settings

MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
# Leading bytes of the accepted kinds (OFD is a zip container).
_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"PK\x03\x04", "application/ofd"),
)


def evidence_dir(settings: Settings) -> Path:
    """Where evidence files live."""
    return settings.var_dir / "evidence"


def media_type(content: bytes) -> str | None:
    """The media type the content's leading bytes show, or None for an unaccepted kind."""
    for signature, kind in _SIGNATURES:
        if content.startswith(signature):
            return kind
    return None


def store_evidence(settings: Settings, name: str, content: bytes) -> tuple[str, str]:
    """Store a file (same content, same file); returns (a clean file name, its SHA-256)."""
    if not content:
        raise InvalidInput("佐证材料为空文件 (the evidence file is empty)", fields=["evidence"])
    if len(content) > MAX_EVIDENCE_BYTES:
        raise InvalidInput("佐证材料不能超过10 MB (evidence files are limited to 10 MB)", fields=["evidence"])
    if media_type(content) is None:
        raise InvalidInput(
            "佐证材料须为PDF、OFD、PNG或JPEG文件 (evidence must be PDF, OFD, PNG or JPEG)",
            fields=["evidence"],
        )
    digest = hashlib.sha256(content).hexdigest()
    folder = evidence_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / digest
    if not target.exists():
        tmp = folder / f".{digest}.{os.getpid()}.tmp"
        tmp.write_bytes(content)
        os.replace(tmp, target)
    clean = Path(name or "evidence").name.strip()[:120] or "evidence"
    return clean, digest


def read_evidence(settings: Settings, digest: str) -> tuple[bytes, str]:
    """The content and media type of a stored evidence file; NotFound for an unknown hash."""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise NotFound("no such evidence file")
    path = evidence_dir(settings) / digest
    if not path.is_file():
        raise NotFound("no such evidence file")
    content = path.read_bytes()
    return content, media_type(content) or "application/octet-stream"
