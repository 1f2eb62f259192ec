"""The keys of the tamper-evident history: generate what is missing, rotate the chain key."""

from __future__ import annotations

from gkflow.integrity.keys import ensure_chain_key, rotate_chain_key
from gkflow.integrity.signing import ensure_signing_key, key_file
from gkflow.settings import Settings


def generate_missing_keys(settings: Settings) -> list[str]:
    """Write the chain key and the checkpoint signing key if absent (owner-only files in the key
    dir); the paths written."""
    written = []
    if ensure_chain_key(settings):
        written.append(str(settings.keys_path / "chain.keys"))
    if ensure_signing_key(settings):
        written.append(str(key_file(settings)))
    return written


def rotate_key(settings: Settings) -> str:
    """A new chain key seals from now on (older ones still verify); its id."""
    return rotate_chain_key(settings)
