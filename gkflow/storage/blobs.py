"""Blobs by SHA-256: written once (temporary file, optional fsync, atomic rename), read back, deleted
only by the service that knows nothing refers to them any more."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class BlobStore(Protocol):
    """Where uploaded files live, by content."""

    def put(self, data: bytes) -> tuple[str, bool]:
        """Store ``data``; its SHA-256 (hex) and whether this call created it."""
        ...

    def get(self, sha256: str) -> bytes:
        """The bytes of a stored blob (FileNotFoundError if absent)."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def delete(self, sha256: str) -> None:
        """Remove a blob (a missing one is fine)."""
        ...


class FileBlobStore:
    """Blobs as files ``<root>/ab/cdef…`` (the first two hex digits as a folder) or ``<root>/abcdef…``."""

    def __init__(self, root: Path, *, fsync: bool = False, fan_out: bool = True) -> None:
        self.root = root
        self.fsync = fsync
        self.fan_out = fan_out  # False: ``<root>/<sha256>``, one flat folder

    def _path(self, sha256: str) -> Path:
        if not _HEX64.fullmatch(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:] if self.fan_out else self.root / sha256

    def put(self, data: bytes) -> tuple[str, bool]:
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if path.exists():
            return digest, False
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                if self.fsync:
                    out.flush()
                    os.fsync(out.fileno())
            if path.exists():  # written meanwhile by another request: same bytes
                os.unlink(tmp)
                return digest, False
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return digest, True

    def get(self, sha256: str) -> bytes:
        return self._path(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).exists()

    def delete(self, sha256: str) -> None:
        self._path(sha256).unlink(missing_ok=True)


def blob_store(var_dir: Path, *, fsync: bool = False) -> BlobStore:
    """The default store: files under ``<var dir>/materials``."""
    return FileBlobStore(var_dir / "materials", fsync=fsync)
