"""zstd compression of package plaintexts (the only importer of ``zstandard``).

Compression runs before encryption (ciphertext does not compress). Decompression is bounded:
a package may not expand past ``limit`` bytes, so a small hostile package cannot exhaust the
county's memory.
"""

from __future__ import annotations

import zstandard

from sync.protocol import ProtocolError

LEVEL = 6  # ~7× on a month of entries; level 19 gains a little for 20× the CPU


def compress(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=LEVEL, write_content_size=True).compress(data)


def decompress(data: bytes, *, limit: int) -> bytes:
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(data)
        out = reader.read(limit + 1)
    except zstandard.ZstdError:
        raise ProtocolError("package plaintext is not a zstd frame") from None
    if len(out) > limit:
        raise ProtocolError("package expands past its size limit")
    return out
