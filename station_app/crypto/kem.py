"""HPKE (RFC 9180) with the hybrid post-quantum KEM ML-KEM-768 + X25519.

Sync packages are encrypted to the county (and relayed messages to a station) with
HPKE base mode: ``MLKEM768_X25519`` / ``HKDF_SHA256`` / ``CHACHA20_POLY1305``. The hybrid
KEM stays confidential if either half holds, so ID numbers captured in transit today are
not readable by a future quantum computer. Each message costs 1,136 bytes over the
plaintext (1,120-byte encapsulation + 16-byte tag).

A key is stored as two seeds (64-byte ML-KEM seed, 32-byte X25519 private key); the public
key travels as ``mlkem_public (1,184 B) ‖ x25519_public (32 B)``. HPKE has no associated
data in this API: callers bind their clear-text header through ``info``. Any failure to
open, whatever the cause, raises the one opaque ``CryptoFailure``.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.hpke import (
    AEAD,
    KDF,
    KEM,
    MLKEM768X25519PrivateKey,
    MLKEM768X25519PublicKey,
    Suite,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from station_app.errors import CryptoFailure

# The suite id written in every envelope header, so the suite can change (e.g. to an
# SM2/SM4 suite if 密评 requires it) without a protocol redesign.
SUITE_ID = "MLKEM768_X25519/HKDF_SHA256/CHACHA20_POLY1305"
SEED_BYTES = 64 + 32
PUBLIC_BYTES = 1184 + 32
OVERHEAD = 1120 + 16

_SUITE = Suite(KEM.MLKEM768_X25519, KDF.HKDF_SHA256, AEAD.CHACHA20_POLY1305)


class KemKey:
    """One recipient key pair; the seeds stay inside this object and the key file."""

    __slots__ = ("_private", "public_key")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != SEED_BYTES:
            raise CryptoFailure()
        ml = mlkem.MLKEM768PrivateKey.from_seed_bytes(seed[:64])
        xk = x25519.X25519PrivateKey.from_private_bytes(seed[64:])
        self._private = MLKEM768X25519PrivateKey(ml, xk)
        self.public_key: bytes = (
            ml.public_key().public_bytes_raw()
            + xk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    @classmethod
    def generate(cls) -> tuple[KemKey, bytes]:
        """A new key pair and the seed to keep in the key file."""
        seed = os.urandom(SEED_BYTES)
        return cls(seed), seed

    def open(self, ciphertext: bytes, info: bytes) -> bytes:
        try:
            return _SUITE.decrypt(ciphertext, self._private, info=info)
        except (InvalidTag, ValueError):
            raise CryptoFailure() from None


def seal_to(public_key: bytes, plaintext: bytes, info: bytes) -> bytes:
    """Encrypt ``plaintext`` to the holder of ``public_key``, bound to ``info``."""
    return _SUITE.encrypt(plaintext, _public(public_key), info=info)


def valid_public_key(public_key: bytes) -> bool:
    try:
        _public(public_key)
    except CryptoFailure:
        return False
    return True


def _public(raw: bytes) -> MLKEM768X25519PublicKey:
    if len(raw) != PUBLIC_BYTES:
        raise CryptoFailure()
    try:
        return MLKEM768X25519PublicKey(mlkem.MLKEM768PublicKey.from_public_bytes(raw[:1184]),
                                       x25519.X25519PublicKey.from_public_bytes(raw[1184:]))
    except ValueError:
        raise CryptoFailure() from None
