"""Ed25519 signing for checkpoints and documents."""

from __future__ import annotations

from collections.abc import Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)


class Signer:
    """Holds one Ed25519 private key; the raw 32-byte seed never leaves this object."""

    __slots__ = ("_key", "public_key")

    def __init__(self, seed: bytes) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key: bytes = self._key.public_key().public_bytes(
            Encoding.Raw, PublicFormat.Raw)

    @classmethod
    def generate(cls) -> tuple[Signer, bytes]:
        """A new key pair; returns the signer and the seed to store in the key file."""
        key = Ed25519PrivateKey.generate()
        seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return cls(seed), seed

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


def signature_checker(public_key: bytes) -> Callable[[bytes, bytes], bool]:
    """A function ``(message, signature) -> bool`` bound to one Ed25519 public key."""
    try:
        key = Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError:
        return lambda message, signature: False

    def check(message: bytes, signature: bytes) -> bool:
        try:
            key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    return check
