"""Authenticated encryption for personal data and key wrapping.

ChaCha20-Poly1305 with a fresh random 96-bit nonce per message: keys here seal at most a few
fields per person, far below the nonce-collision bound. The associated data binds a sealed
blob to where it belongs (log origin and person id), so it cannot be moved elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from station_app.errors import CryptoFailure

NONCE_BYTES = 12
KEY_BYTES = 32


def new_secret(size: int = KEY_BYTES) -> bytes:
    return os.urandom(size)


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + ChaCha20Poly1305(key).encrypt(nonce, plaintext, aad)


def unseal(key: bytes, blob: bytes, aad: bytes) -> bytes:
    try:
        return ChaCha20Poly1305(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError):
        raise CryptoFailure() from None


def keyed_digest(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA256: a blind index that finds a person by ID number without storing it."""
    return hmac.new(key, data, hashlib.sha256).digest()
