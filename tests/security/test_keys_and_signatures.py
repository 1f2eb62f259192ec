"""Keys and checkpoint signatures: generated owner-only by `gkflow init`, never defaulted, and an
SM2 signature that an independent implementation accepts and whose nonce is fresh every time."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes

from gkflow.integrity.signing import load_signer, verify_signature
from gkflow.services.checkpoints import signed_bytes, write_checkpoint
from gkflow.services.keys import generate_missing_keys
from gkflow.settings import Settings
from tests.helpers import with_settings

ROOT = Path(__file__).resolve().parents[2]
GKFLOW = [sys.executable, "-m", "gkflow"]

# The SM2 curve (GB/T 32918.5-2017), for an independent check of tongsuopy's signatures.
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
G = (0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
     0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0)


def _add(p, q):
    if p is None:
        return q
    if q is None:
        return p
    if p[0] == q[0] and (p[1] + q[1]) % P == 0:
        return None
    if p == q:
        slope = (3 * p[0] * p[0] + A) * pow(2 * p[1], -1, P) % P
    else:
        slope = (q[1] - p[1]) * pow(q[0] - p[0], -1, P) % P
    x = (slope * slope - p[0] - q[0]) % P
    return x, (slope * (p[0] - x) - p[1]) % P


def _mul(k, point):
    result = None
    while k:
        if k & 1:
            result = _add(result, point)
        point = _add(point, point)
        k >>= 1
    return result


def _sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def sm2_verify(public_xy: tuple[int, int], message: bytes, r: int, s: int, uid: bytes = b"1234567812345678"):
    """GB/T 32918.2 verification with the default distinguishing identifier, written from the standard."""
    def b32(v: int) -> bytes:
        return v.to_bytes(32, "big")

    z = _sm3(len(uid * 8).to_bytes(2, "big") + uid + b32(A) + b32(B) + b32(G[0]) + b32(G[1])
             + b32(public_xy[0]) + b32(public_xy[1]))
    e = int.from_bytes(_sm3(z + message), "big")
    t = (r + s) % N
    x1 = _add(_mul(s, G), _mul(t, public_xy))[0]
    return (e + x1) % N == r


def _der_rs(signature: bytes) -> tuple[int, int]:
    assert signature[0] == 0x30
    i, out = 2, []
    for _ in range(2):
        assert signature[i] == 0x02
        length = signature[i + 1]
        out.append(int.from_bytes(signature[i + 2:i + 2 + length], "big"))
        i += 2 + length
    return out[0], out[1]


def test_init_generates_owner_only_keys_and_seals_the_history_with_checkpoint_1(tmp_path):
    env = {**os.environ, "GKFLOW_VAR_DIR": str(tmp_path / "var"), "GKFLOW_CONFIG_DIR": str(ROOT / "config")}
    env.pop("GKFLOW_DATABASE_URL", None)
    done = subprocess.run([*GKFLOW, "init", "--json"], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["first_checkpoint"] == 1 and len(out["keys_written"]) == 2
    keys = tmp_path / "var" / "keys"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    for name in ("chain.keys", "checkpoint-ed25519.pem"):
        assert stat.S_IMODE((keys / name).stat().st_mode) == 0o600
    again = json.loads(subprocess.run([*GKFLOW, "init", "--json"], env=env, cwd=tmp_path, capture_output=True,
                                      text=True, timeout=120).stdout)
    assert again["keys_written"] == [] and again["first_checkpoint"] is None  # keys are never replaced
    cp = json.loads(subprocess.run([*GKFLOW, "audit", "checkpoint", "--json"], env=env, cwd=tmp_path,
                                   capture_output=True, text=True, timeout=120).stdout)
    assert cp["number"] == 2 and cp["signature"]["alg"] == "ed25519"
    verified = json.loads(subprocess.run([*GKFLOW, "audit", "verify", "--json"], env=env, cwd=tmp_path,
                                         capture_output=True, text=True, timeout=120).stdout)
    assert verified["ok"] and verified["checkpoint"]["number"] == 2


def test_with_postgresql_init_does_not_invent_keys_and_says_what_to_do(tmp_path, postgres_server):
    env = {**os.environ, "GKFLOW_VAR_DIR": str(tmp_path / "var"), "GKFLOW_CONFIG_DIR": str(ROOT / "config"),
           "GKFLOW_DATABASE_URL": postgres_server}
    done = subprocess.run([*GKFLOW, "init", "--json"], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "invalid_config" and "GKFLOW_CHAIN_KEY" in error["message"]
    assert not (tmp_path / "var" / "keys").exists()


def test_a_checkpoint_signed_with_sm2_verifies_independently_and_its_nonce_is_fresh(sqlite_rt, tmp_path):
    settings = sqlite_rt.settings.model_copy(update={"checkpoint_signature": "sm2"})
    generate_missing_keys(settings)
    rt = with_settings(sqlite_rt, checkpoint_signature="sm2")
    statement = write_checkpoint(rt)
    assert statement["signature"]["alg"] == "sm2"
    signer = load_signer(settings)
    message = signed_bytes(statement)
    assert verify_signature("sm2", signer.public_pem, statement["signature"]["value"], message)
    from tongsuopy.crypto import serialization

    point = serialization.load_pem_public_key(signer.public_pem).public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    public_xy = (int.from_bytes(point[1:33], "big"), int.from_bytes(point[33:], "big"))
    first, second = signer.sign(message), signer.sign(message)
    assert first != second  # a nonce drawn afresh (a fixed or predictable one would repeat)
    for signature in (first, second):
        r, s = _der_rs(signature)
        assert sm2_verify(public_xy, message, r, s)  # real SM2, not ECDSA over the SM2 curve
        assert not sm2_verify(public_xy, message + b"x", r, s)


def test_a_chain_key_from_the_environment_is_used_and_a_bad_one_refused(sqlite_rt):
    from gkflow.integrity.keys import load_keyring, new_chain_key

    key = new_chain_key("env1")
    ring = load_keyring(Settings(var_dir=sqlite_rt.settings.var_dir, chain_key=key,
                                 chain_retired_keys=new_chain_key("old")))
    assert ring.current_key_id == "env1" and set(ring.keys) == {"env1", "old"}
    from gkflow.domain.errors import InvalidConfig

    with pytest.raises(InvalidConfig, match="GKFLOW_CHAIN_KEY"):
        load_keyring(Settings(chain_key="env1:c2hvcnQ="))
