"""Keys and cryptography of the tamper-evident history: the chain's HMAC-SM3 keys, checkpoint
signatures (Ed25519, or SM2 through tongsuopy) and the Merkle tree over chain heads."""
