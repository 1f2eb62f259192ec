"""A Merkle tree over chain heads, hashed with SM3 in the shape of RFC 6962 (leaf and node
prefixes 0x00 / 0x01, so a leaf can never pass for a node)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cryptography.hazmat.primitives import hashes

MERKLE_ALG = "sm3-rfc6962"


def sm3(data: bytes) -> bytes:
    """The SM3 digest of ``data``."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def leaf(case_no: str, seq: int, head: str) -> bytes:
    """The leaf of one case's chain head."""
    return sm3(b"\x00" + f"{case_no}\x1f{seq}\x1f{head}".encode())


def root(leaves: Sequence[bytes]) -> str:
    """The hex root over ``leaves`` in their order (SM3 of nothing for an empty tree)."""
    if not leaves:
        return sm3(b"").hex()
    level = list(leaves)
    while len(level) > 1:
        paired = [sm3(b"\x01" + level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])  # an odd node is promoted unchanged
        level = paired
    return level[0].hex()


def heads_root(heads: Iterable[tuple[str, int, str]]) -> str:
    """The root over (case_no, seq, head) triples sorted by case number."""
    return root([leaf(case_no, seq, head) for case_no, seq, head in sorted(heads)])
