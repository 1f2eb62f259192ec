"""The chain's HMAC-SM3 keys: from Settings (GKFLOW_CHAIN_KEY) or the key file in the key dir.

A missing key is an error, never a built-in default. `generate_keys` writes a fresh chain key and
checkpoint signing key into the key dir, readable by the owner only (`gkflow init` on the embedded
default, `gkflow audit keygen` otherwise). Rotation: `gkflow audit rotate-key` appends a key to
`chain.keys`; the last line signs, earlier lines still verify.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes, hmac

from gkflow.domain.errors import InvalidConfig
from gkflow.settings import Settings

CHAIN_KEY_FILE = "chain.keys"
MIN_KEY_BYTES = 32


@dataclass(frozen=True)
class ChainKeyring:
    """HMAC-SM3 keys by id; `current_key_id` seals new events (gkflow.domain.events.ChainKeys)."""

    keys: dict[str, bytes]
    current_key_id: str
    source: str = field(default="", compare=False)

    def mac(self, key_id: str, message: bytes) -> str:
        """Hex HMAC-SM3 of ``message`` under ``key_id`` (KeyError for an unknown id)."""
        h = hmac.HMAC(self.keys[key_id], hashes.SM3())
        h.update(message)
        return h.finalize().hex()


def parse_key(text: str, where: str) -> tuple[str, bytes]:
    """One "ID:BASE64" key; InvalidConfig naming ``where`` if it is malformed or short."""
    key_id, sep, encoded = text.strip().partition(":")
    if not sep or not key_id or not key_id.replace("-", "").replace("_", "").isalnum():
        raise InvalidConfig(f"{where}: a chain key is written ID:BASE64 (e.g. k1:…), got a malformed value")
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidConfig(f"{where}: key {key_id!r} is not valid base64") from None
    if len(key) < MIN_KEY_BYTES:
        raise InvalidConfig(f"{where}: key {key_id!r} has {len(key)} bytes; at least {MIN_KEY_BYTES} needed")
    return key_id, key


def load_keyring(settings: Settings) -> ChainKeyring:
    """The chain keys from the settings, else from `chain.keys` in the key dir; InvalidConfig if none."""
    keys: dict[str, bytes] = {}
    if settings.chain_key is not None:
        current, key = parse_key(settings.chain_key.get_secret_value(), "GKFLOW_CHAIN_KEY")
        retired = settings.chain_retired_keys.get_secret_value() if settings.chain_retired_keys else ""
        for part in filter(None, (p.strip() for p in retired.split(","))):
            key_id, old = parse_key(part, "GKFLOW_CHAIN_RETIRED_KEYS")
            keys[key_id] = old
        keys[current] = key
        return ChainKeyring(keys, current, "GKFLOW_CHAIN_KEY")
    path = settings.keys_path / CHAIN_KEY_FILE
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except FileNotFoundError:
        raise InvalidConfig(
            f"no chain key: set GKFLOW_CHAIN_KEY, or create {path} with `gkflow init` (embedded) or "
            "`gkflow audit keygen`; the history is never sealed with a built-in key"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidConfig(f"{path}: cannot read the chain keys ({type(exc).__name__})") from None
    current = ""
    for number, line in enumerate(lines, 1):
        if line.strip() and not line.lstrip().startswith("#"):
            current, key = parse_key(line, f"{path}:{number}")
            keys[current] = key
    if not current:
        raise InvalidConfig(f"{path}: no chain key in the file")
    return ChainKeyring(keys, current, str(path))


def new_chain_key(key_id: str) -> str:
    """A fresh "ID:BASE64" chain key of 32 random bytes."""
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(MIN_KEY_BYTES)).decode('ascii')}"


def write_private(path: Path, content: bytes) -> None:
    """Create ``path`` readable by its owner only (0600, in a 0700 folder); never overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)


def ensure_chain_key(settings: Settings) -> bool:
    """Write `chain.keys` with a first key if no key is configured; True if one was written."""
    if settings.chain_key is not None:
        return False
    path = settings.keys_path / CHAIN_KEY_FILE
    if path.exists():
        return False
    write_private(path, (new_chain_key("k1") + "\n").encode("ascii"))
    return True


def rotate_chain_key(settings: Settings) -> str:
    """Append a new key to `chain.keys` (it seals from now on; older keys still verify)."""
    if settings.chain_key is not None:
        raise InvalidConfig("the chain key comes from GKFLOW_CHAIN_KEY: rotate it there (and list the "
                            "old one in GKFLOW_CHAIN_RETIRED_KEYS)")
    ring = load_keyring(settings)
    number = len(ring.keys) + 1
    while f"k{number}" in ring.keys:
        number += 1
    key_id = f"k{number}"
    path = settings.keys_path / CHAIN_KEY_FILE
    with open(path, "a", encoding="ascii") as handle:
        handle.write(new_chain_key(key_id) + "\n")
    return key_id
