"""Checkpoint signatures: Ed25519 (`cryptography`, the default) or SM2 with SM3 (`tongsuopy`).

SM2 goes only through tongsuopy, whose statically linked BabaSSL 8.3.2 draws the nonce with
`BN_priv_rand_range` (OpenSSL's private DRBG, seeded by the OS): a CSPRNG. `gmssl` 3.2.2 draws
it with Python's `random` and is not acceptable (docs/decisions.md). The private key lives in the
key dir, owner-only; the public key is published beside the checkpoint roots.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gkflow.domain.errors import InvalidConfig
from gkflow.integrity.keys import write_private
from gkflow.settings import Settings

ALGORITHMS = ("ed25519", "sm2")


@dataclass(frozen=True)
class Signer:
    alg: str
    key_id: str
    public_pem: bytes
    sign: Callable[[bytes], bytes]


def key_file(settings: Settings, alg: str | None = None) -> Path:
    return settings.keys_path / f"checkpoint-{alg or settings.checkpoint_signature}.pem"


def key_id_of(public_pem: bytes) -> str:
    """A short id of a public key: the first 16 hex digits of SM3 over its PEM text."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(public_pem.strip())
    return digest.finalize().hex()[:16]


def _sm2() -> Any:
    try:
        from tongsuopy.crypto import hashes as sm_hashes
        from tongsuopy.crypto import serialization as sm_serialization
        from tongsuopy.crypto.asymciphers import ec as sm_ec
    except ImportError:
        raise InvalidConfig(
            "GKFLOW_CHECKPOINT_SIGNATURE=sm2 needs tongsuopy: pip install 'gkflow[sm2]'") from None
    return sm_ec, sm_hashes, sm_serialization


def _new_private_pem(alg: str) -> bytes:
    if alg == "ed25519":
        return Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    sm_ec, _, sm_ser = _sm2()
    key = sm_ec.generate_private_key(sm_ec.SM2())
    pem: bytes = key.private_bytes(sm_ser.Encoding.PEM, sm_ser.PrivateFormat.PKCS8, sm_ser.NoEncryption())
    return pem


def ensure_signing_key(settings: Settings) -> bool:
    """Write the checkpoint signing key of the configured algorithm if absent; True if written."""
    path = key_file(settings)
    if path.exists():
        return False
    write_private(path, _new_private_pem(settings.checkpoint_signature))
    return True


def load_signer(settings: Settings) -> Signer:
    """The checkpoint signer; InvalidConfig if its key file is missing or unreadable."""
    alg = settings.checkpoint_signature
    path = key_file(settings)
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        raise InvalidConfig(f"no checkpoint signing key at {path}: run `gkflow init` (embedded) or "
                            "`gkflow audit keygen`") from None
    try:
        if alg == "ed25519":
            key = serialization.load_pem_private_key(pem, password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError("not an Ed25519 key")
            ed_key = key
            public = ed_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            return Signer(alg, key_id_of(public), public, ed_key.sign)
        sm_ec, sm_hashes, sm_ser = _sm2()
        sm_key = sm_ser.load_pem_private_key(pem, None)
        public = sm_key.public_key().public_bytes(sm_ser.Encoding.PEM,
                                                  sm_ser.PublicFormat.SubjectPublicKeyInfo)

        def sign_sm2(message: bytes) -> bytes:
            signature: bytes = sm_key.sign(message, sm_ec.ECDSA(sm_hashes.SM3()))
            return signature

        return Signer(alg, key_id_of(public), public, sign_sm2)
    except InvalidConfig:
        raise
    except (ValueError, TypeError) as exc:
        raise InvalidConfig(f"{path}: not a usable {alg} private key ({exc})") from None


def verify_signature(alg: str, public_pem: bytes, signature_b64: str, message: bytes) -> bool:
    """Whether ``signature_b64`` signs ``message`` under ``public_pem`` with ``alg``."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except ValueError:
        return False
    if alg == "ed25519":
        key = serialization.load_pem_public_key(public_pem)
        if not isinstance(key, Ed25519PublicKey):
            return False
        try:
            key.verify(signature, message)
        except InvalidSignature:
            return False
        return True
    if alg == "sm2":
        sm_ec, sm_hashes, sm_ser = _sm2()
        from tongsuopy.crypto.exceptions import InvalidSignature as SmInvalidSignature

        try:
            sm_ser.load_pem_public_key(public_pem).verify(signature, message, sm_ec.ECDSA(sm_hashes.SM3()))
        except SmInvalidSignature:
            return False
        return True
    raise InvalidConfig(f"unknown checkpoint signature algorithm {alg!r} (expected {', '.join(ALGORITHMS)})")
