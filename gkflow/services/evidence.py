"""Evidence files (佐证材料) attached to a recorded publication or a scorecard entry: PDF, OFD, PNG or
JPEG, checked by content like the applicants' materials, stored once under
``<var dir>/evidence/<sha256>``."""

from __future__ import annotations

from pathlib import Path

from gkflow.domain.errors import InvalidInput, NotFound
from gkflow.services.materials import sniff
from gkflow.settings import Settings
from gkflow.storage import BlobStore, FileBlobStore

MAX_EVIDENCE_BYTES = 10 * 1024 * 1024


def evidence_store(settings: Settings) -> BlobStore:
    """Where evidence files live (one flat folder, as from the start)."""
    return FileBlobStore(settings.var_dir / "evidence", fan_out=False)


def store_evidence(settings: Settings, name: str, content: bytes) -> tuple[str, str]:
    """Store a file (same content, same file); returns (a clean file name, its SHA-256)."""
    if not content:
        raise InvalidInput("佐证材料为空文件 (the evidence file is empty)", fields=["evidence"])
    if len(content) > MAX_EVIDENCE_BYTES:
        raise InvalidInput("佐证材料不能超过10 MB (evidence files are limited to 10 MB)", fields=["evidence"])
    if sniff(content) is None:
        raise InvalidInput(
            "佐证材料须为PDF、OFD、PNG或JPEG文件 (evidence must be PDF, OFD, PNG or JPEG)",
            fields=["evidence"],
        )
    digest, _created = evidence_store(settings).put(content)
    clean = Path(name or "evidence").name.strip()[:120] or "evidence"
    return clean, digest


def read_evidence(settings: Settings, digest: str) -> tuple[bytes, str]:
    """The content and media type of a stored evidence file; NotFound for an unknown hash."""
    try:
        content = evidence_store(settings).get(digest)
    except (ValueError, FileNotFoundError):
        raise NotFound("no such evidence file") from None
    return content, sniff(content) or "application/octet-stream"
