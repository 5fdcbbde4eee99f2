"""Passphrase-sealed backup files: Argon2id, then ChaCha20-Poly1305 in 1 MiB chunks.

Layout (docs/backup.md)::

    MAGIC (8 bytes) ‖ u32 header length ‖ header (JSON) ‖ SHA-256 of everything before (32)
    ‖ chunk 0 ‖ chunk 1 ‖ … ‖ chunk n (final)

The key comes from the passphrase through Argon2id with the salt and cost stored in the
header; a 16-byte check value derived beside it tells a wrong passphrase from a damaged
file. Chunk *i* is ``ChaCha20-Poly1305(key, nonce = u64 i ‖ u32 final, plaintext, aad =
header digest)``, each holding ``CHUNK`` bytes of plaintext except the final one (0 to
``CHUNK`` bytes) — the STREAM construction (Hoang et al., 2015): a flipped byte, a chunk
moved, dropped or repeated, a file cut at a chunk boundary or with bytes added after the
end all fail to open, and the header (salt, cost, the clear facts in ``meta``) cannot be
changed without every chunk failing. Only one chunk is ever held in memory.

The header digest is not a secret: it only lets a damaged header be named as such instead
of being mistaken for a wrong passphrase.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import struct
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

MAGIC = b"VSSBAK1\n"
FORMAT = "vss-backup/1"
AEAD = "chacha20-poly1305"
CHUNK = 1 << 20
TAG = 16
MAX_HEADER = 64 * 1024
# RFC 9106 §4, the second recommended option (for machines without 2 GiB to spare):
# t = 3 passes over 64 MiB, 4 lanes — ≈ 0.1–0.3 s on a village PC, per passphrase guessed.
ITERATIONS, LANES, MEMORY_KIB = 3, 4, 64 * 1024
# A file may ask for more (a later version may raise the cost), within reason: a forged
# header must not make the restoring PC allocate gigabytes or spin for minutes.
MAX_ITERATIONS, MAX_LANES, MAX_MEMORY_KIB = 16, 16, 1024 * 1024


class SealedFileError(Exception):
    """Why a sealed file did not open: ``magic``, ``header``, ``truncated``, ``passphrase``
    or ``chunk`` (then ``chunk`` is its index). Services turn it into the user's error."""

    def __init__(self, problem: str, chunk: int | None = None) -> None:
        super().__init__(problem if chunk is None else f"{problem} {chunk}")
        self.problem, self.chunk = problem, chunk


@dataclass(frozen=True, slots=True)
class KdfParams:
    salt: bytes
    iterations: int = ITERATIONS
    lanes: int = LANES
    memory_kib: int = MEMORY_KIB

    @classmethod
    def fresh(cls) -> KdfParams:
        return cls(salt=os.urandom(16))

    def as_dict(self) -> dict[str, Any]:
        return {"alg": "argon2id", "salt": _b64(self.salt), "iterations": self.iterations,
                "lanes": self.lanes, "memory_kib": self.memory_kib}


def _keys(passphrase: str, params: KdfParams) -> tuple[bytes, bytes]:
    """(encryption key, check value). NFC first: the same words typed with another input
    method must give the same key."""
    secret = unicodedata.normalize("NFC", passphrase).encode()
    master = Argon2id(salt=params.salt, length=32, iterations=params.iterations,
                      lanes=params.lanes, memory_cost=params.memory_kib).derive(secret)
    key = hmac.new(master, b"vss-backup/1 key", hashlib.sha256).digest()
    check = hmac.new(master, b"vss-backup/1 check", hashlib.sha256).digest()[:16]
    return key, check


def _nonce(index: int, final: bool) -> bytes:
    return struct.pack(">QI", index, 1 if final else 0)


class SealedWriter:
    """A write-only file object: what is written is sealed chunk by chunk into ``out``."""

    def __init__(self, out: BinaryIO, passphrase: str, meta: dict[str, Any], *,
                 params: KdfParams | None = None) -> None:
        params = params or KdfParams.fresh()
        key, check = _keys(passphrase, params)
        header = json.dumps({"format": FORMAT, "kdf": params.as_dict(), "aead": AEAD,
                             "chunk": CHUNK, "check": _b64(check), "meta": meta},
                            sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
        lead = MAGIC + struct.pack(">I", len(header)) + header
        self._digest = hashlib.sha256(lead).digest()
        out.write(lead + self._digest)
        self._out, self._aead = out, ChaCha20Poly1305(key)
        self._buffer = bytearray()
        self._index = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self._buffer += data
        # Strictly more than a chunk: the last full chunk may turn out to be the final one.
        while len(self._buffer) > CHUNK:
            self._seal(bytes(self._buffer[:CHUNK]), final=False)
            del self._buffer[:CHUNK]
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._seal(bytes(self._buffer), final=True)
            self._buffer.clear()
            self.closed = True

    def _seal(self, chunk: bytes, *, final: bool) -> None:
        self._out.write(self._aead.encrypt(_nonce(self._index, final), chunk, self._digest))
        self._index += 1


@dataclass(frozen=True, slots=True)
class SealedHeader:
    params: KdfParams
    check: bytes
    digest: bytes
    meta: dict[str, Any]


def read_header(src: BinaryIO) -> SealedHeader:
    """The clear header (no passphrase needed); leaves ``src`` at the first chunk."""
    magic = src.read(len(MAGIC))
    if magic != MAGIC:
        raise SealedFileError("truncated" if MAGIC.startswith(magic) else "magic")
    raw_len = src.read(4)
    if len(raw_len) < 4:
        raise SealedFileError("truncated")
    (length,) = struct.unpack(">I", raw_len)
    if length > MAX_HEADER:
        raise SealedFileError("header")
    header, digest = src.read(length), src.read(32)
    if len(header) < length or len(digest) < 32:
        raise SealedFileError("truncated")
    if not hmac.compare_digest(hashlib.sha256(magic + raw_len + header).digest(), digest):
        raise SealedFileError("header")
    try:
        return _parse_header(json.loads(header), digest)
    except (ValueError, KeyError, TypeError) as exc:
        raise SealedFileError("header") from exc


def _parse_header(raw: dict[str, Any], digest: bytes) -> SealedHeader:
    kdf = raw["kdf"]
    if raw["format"] != FORMAT or raw["aead"] != AEAD or raw["chunk"] != CHUNK \
            or kdf["alg"] != "argon2id":
        raise ValueError("unknown format")
    params = KdfParams(salt=_unb64(kdf["salt"]), iterations=int(kdf["iterations"]),
                       lanes=int(kdf["lanes"]), memory_kib=int(kdf["memory_kib"]))
    if not (1 <= params.iterations <= MAX_ITERATIONS and 1 <= params.lanes <= MAX_LANES
            and 8 * params.lanes <= params.memory_kib <= MAX_MEMORY_KIB
            and len(params.salt) >= 8):
        raise ValueError("cost out of range")
    meta = raw["meta"]
    if not isinstance(meta, dict):
        raise ValueError("meta")
    return SealedHeader(params, _unb64(raw["check"]), digest, meta)


def open_sealed(src: BinaryIO, passphrase: str) -> tuple[SealedHeader, Iterator[bytes]]:
    """The header and the plaintext, chunk by chunk. The passphrase is checked at once;
    a damaged chunk raises when the iteration reaches it, so a caller must not act on
    anything before the iteration ended without an error."""
    header = read_header(src)
    key, check = _keys(passphrase, header.params)
    if not hmac.compare_digest(check, header.check):
        raise SealedFileError("passphrase")
    return header, _chunks(src, ChaCha20Poly1305(key), header.digest)


def _chunks(src: BinaryIO, aead: ChaCha20Poly1305, digest: bytes) -> Iterator[bytes]:
    size = CHUNK + TAG
    current, index = _read(src, size), 0
    if len(current) < TAG:
        raise SealedFileError("truncated")
    while True:
        ahead = _read(src, size)  # always: bytes added after the final chunk must show
        final = not ahead
        try:
            yield aead.decrypt(_nonce(index, final), current, digest)
        except InvalidTag:
            raise SealedFileError("chunk", index) from None
        if final:
            return
        if len(ahead) < TAG:
            raise SealedFileError("chunk", index + 1)
        current, index = ahead, index + 1


def _read(src: BinaryIO, size: int) -> bytes:
    """Exactly ``size`` bytes unless the file ends first (a pipe may return fewer)."""
    parts, left = [], size
    while left:
        part = src.read(left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
