"""Slow PIN hashes (scrypt), checked in constant time."""

from __future__ import annotations

import base64
import hmac
import os

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

# 2^15 × 8 × 128 B = 32 MiB and ~0.1 s per guess on a village PC: cheap for one sign-in,
# expensive for someone trying every 6-digit PIN against a copied database. The lock-out
# after repeated failures (services.users) is the first line of defence.
N, R, P = 2**15, 8, 1


def hash_pin(pin: str) -> str:
    salt = os.urandom(16)
    digest = Scrypt(salt=salt, length=32, n=N, r=R, p=P).derive(pin.encode())
    return "$".join(("scrypt", str(N), str(R), str(P), _b64(salt), _b64(digest)))


def check_pin_hash(stored: str, pin: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        fresh = Scrypt(salt=base64.b64decode(salt), length=32, n=int(n), r=int(r),
                       p=int(p)).derive(pin.encode())
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(fresh, base64.b64decode(digest))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
