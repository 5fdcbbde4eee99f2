"""What is inside a backup once opened: a manifest and the data folder's files, compressed.

The plaintext is one zlib stream of records ``u8 type ‖ u16 name length ‖ name (UTF-8) ‖
u64 size ‖ bytes``: first the manifest (type 1, JSON), then each file the manifest lists,
in its order (type 2), then an end record (type 3). The reader writes files straight to
disk as they stream by, checks every size and SHA-256 against the manifest, and accepts
only the names a data folder has, so even a file sealed with the right passphrase cannot
write outside the folder it is unpacked into. Not a tar file on purpose: the format is a
page long, and nothing in it can name a link, a device or ``..``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

ARCHIVE_MAGIC = b"VSSARC1\n"
MANIFEST, FILE, END = 1, 2, 3
PIECE = 1 << 20
COMPRESSION = 3  # ≈ 100 MB/s, 17 % of the database: faster overall than 6 onto a USB 2.0 stick
INFLATE_LIMIT = 4 << 20  # bytes inflated per step: a crafted stream cannot balloon memory
_DOCUMENT = re.compile(r"documents/(?:[^/\\\x00]+/)*[^/\\\x00]+")
FIXED_NAMES = ("station.db", "keys/station.keys.json")

Progress = Callable[[int], None]  # bytes done so far


class ArchiveError(Exception):
    """The opened plaintext is not a well-formed archive (reason in English for the log)."""


def allowed_name(name: str) -> bool:
    if name in FIXED_NAMES:
        return True
    parts = name.split("/")
    return bool(_DOCUMENT.fullmatch(name)) and not any(p in ("", ".", "..") for p in parts)


def file_digest(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while piece := f.read(PIECE):
            digest.update(piece)
            size += len(piece)
    return size, digest.hexdigest()


def write_archive(out: BinaryIO, manifest: dict[str, Any], files: list[tuple[str, Path]],
                  progress: Progress | None = None) -> None:
    """Compress the manifest and ``files`` (name in the archive, path on disk) into ``out``."""
    z = zlib.compressobj(COMPRESSION)
    done = 0

    def emit(data: bytes) -> None:
        nonlocal done
        out.write(z.compress(data))
        done += len(data)
        if progress is not None:
            progress(done)

    emit(ARCHIVE_MAGIC)
    body = json.dumps(manifest, ensure_ascii=False, sort_keys=True).encode()
    emit(_record_head(MANIFEST, "manifest.json", len(body)) + body)
    for name, path in files:
        size = path.stat().st_size
        emit(_record_head(FILE, name, size))
        with open(path, "rb") as f:
            left = size
            while left:
                piece = f.read(min(PIECE, left))
                if not piece:
                    raise OSError(f"{path} shrank while it was being backed up")
                emit(piece)
                left -= len(piece)
    emit(_record_head(END, "", 0))
    out.write(z.flush())


def _record_head(kind: int, name: str, size: int) -> bytes:
    raw = name.encode()
    return struct.pack(">BH", kind, len(raw)) + raw + struct.pack(">Q", size)


class _Inflater:
    """A read(n) view of the decompressed plaintext, pulling sealed chunks as needed."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._z = chunks, zlib.decompressobj()
        self._buffer = bytearray()

    def read(self, n: int) -> bytes:
        while len(self._buffer) < n and not self._z.eof:
            data = self._z.unconsumed_tail or next(self._chunks, None)
            if data is None:
                raise ArchiveError("the compressed stream ends early")
            try:
                self._buffer += self._z.decompress(data, INFLATE_LIMIT)
            except zlib.error as exc:
                raise ArchiveError(f"bad compressed data: {exc}") from None
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out

    def exact(self, n: int) -> bytes:
        data = self.read(n)
        if len(data) < n:
            raise ArchiveError("the archive ends early")
        return data

    def finish(self) -> None:
        """Nothing may follow the end record: drain the chunks (which checks the final one)."""
        if self._buffer or self._z.unused_data or self._z.unconsumed_tail:
            raise ArchiveError("data after the end record")
        if any(True for _ in self._chunks):
            raise ArchiveError("data after the compressed stream")


def read_archive(chunks: Iterator[bytes], folder: Path,
                 progress: Progress | None = None) -> dict[str, Any]:
    """Unpack into ``folder`` (which must exist and be empty); returns the manifest.

    Raises ``ArchiveError`` for anything malformed; whatever the sealed layer raises for a
    damaged chunk passes through. The caller discards ``folder`` on any error.
    """
    src = _Inflater(chunks)
    if src.exact(len(ARCHIVE_MAGIC)) != ARCHIVE_MAGIC:
        raise ArchiveError("not an archive")
    kind, name, size = _next_record(src)
    if kind != MANIFEST or name != "manifest.json" or size > 16 << 20:
        raise ArchiveError("the manifest does not come first")
    try:
        manifest = json.loads(src.exact(size))
        listed = [(f["path"], int(f["size"]), str(f["sha256"])) for f in manifest["files"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise ArchiveError(f"unreadable manifest: {exc}") from None
    done = 0
    for want_name, want_size, want_digest in listed:
        kind, name, size = _next_record(src)
        if kind != FILE or name != want_name or size != want_size or not allowed_name(name):
            raise ArchiveError(f"record {name!r} is not the listed {want_name!r}")
        done = _unpack_file(src, folder / name, size, want_digest, done, progress)
    if _next_record(src) != (END, "", 0):
        raise ArchiveError("no end record")
    src.finish()
    return manifest


def _next_record(src: _Inflater) -> tuple[int, str, int]:
    kind, length = struct.unpack(">BH", src.exact(3))
    try:
        name = src.exact(length).decode()
    except UnicodeDecodeError:
        raise ArchiveError("a record name is not UTF-8") from None
    (size,) = struct.unpack(">Q", src.exact(8))
    return kind, name, size


def _unpack_file(src: _Inflater, path: Path, size: int, want: str, done: int,
                 progress: Progress | None) -> int:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    digest = hashlib.sha256()
    # owner-only, like the keys file: the folder holds the station's secrets
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                 0o600)
    with os.fdopen(fd, "wb") as f:
        left = size
        while left:
            piece = src.exact(min(PIECE, left))
            digest.update(piece)
            f.write(piece)
            left -= len(piece)
            done += len(piece)
            if progress is not None:
                progress(done)
        f.flush()
        os.fsync(f.fileno())
    if digest.hexdigest() != want:
        raise ArchiveError(f"{path.name} does not match its digest")
    return done
