"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs, and an incremental frontier.

Leaf hash ``SHA-256(0x00 ‖ entry)``, interior node ``SHA-256(0x01 ‖ left ‖ right)``, split at
the largest power of two smaller than the size. The empty tree hashes to ``SHA-256("")``.

Proof generation takes a ``NodeSource``: anything that returns the hash of a *perfect*
subtree ``(level, index)`` (leaves ``index·2^level … (index+1)·2^level − 1``). A plain list of
leaf hashes works through :class:`LeafList`; the store can answer from its own tables.
Verification follows the RFC 9162 §2.1.3.2 / §2.1.4.2 algorithms and returns ``False``
(never raises) on malformed input, because every byte of a proof is adversarial.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256


def leaf_hash(entry: bytes) -> bytes:
    return _sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """k with k < n ≤ 2k, for n ≥ 2 (RFC 6962 §2.1 split point)."""
    return 1 << ((n - 1).bit_length() - 1)


# --------------------------------------------------------------------------- whole trees


def tree_root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes, computed left to right with the frontier (O(n), no recursion)."""
    frontier = Frontier()
    for h in leaf_hashes:
        frontier.append(h)
    return frontier.root()


@dataclass(frozen=True, slots=True)
class LeafList:
    """A NodeSource over an in-memory list of leaf hashes (perfect subtrees computed on demand)."""

    leaves: Sequence[bytes]

    def __call__(self, level: int, index: int) -> bytes:
        start = index << level
        return tree_root(self.leaves[start : start + (1 << level)])


NodeSource = Callable[[int, int], bytes]


def subtree_hash(source: NodeSource, start: int, end: int) -> bytes:
    """MTH(D[start:end]) assembled from perfect subtrees, as RFC 6962 splits it."""
    n = end - start
    if n <= 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0 and start % n == 0:
        return source(n.bit_length() - 1, start // n)
    k = _largest_power_of_two_below(n)
    return node_hash(subtree_hash(source, start, start + k), subtree_hash(source, start + k, end))


# --------------------------------------------------------------------------- proofs


def inclusion_proof(source: NodeSource, index: int, size: int) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 §2.1.1."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is outside a tree of size {size}")
    return _path(source, index, 0, size)


def _path(source: NodeSource, m: int, start: int, end: int) -> list[bytes]:
    n = end - start
    if n == 1:
        return []
    k = _largest_power_of_two_below(n)
    if m < k:
        return [*_path(source, m, start, start + k), subtree_hash(source, start + k, end)]
    return [*_path(source, m - k, start + k, end), subtree_hash(source, start, start + k)]


def consistency_proof(source: NodeSource, old_size: int, new_size: int) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 §2.1.2; empty when the sizes are equal."""
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to {new_size}")
    return _subproof(source, old_size, 0, new_size, True)


def _subproof(source: NodeSource, m: int, start: int, end: int, complete: bool) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if complete else [subtree_hash(source, start, end)]
    k = _largest_power_of_two_below(n)
    if m <= k:
        return [*_subproof(source, m, start, start + k, complete),
                subtree_hash(source, start + k, end)]
    return [*_subproof(source, m - k, start + k, end, False),
            subtree_hash(source, start, start + k)]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not (0 <= index < size) or not _well_formed(leaf, root, *proof):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, old_root: bytes, new_size: int, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2, plus the trivial cases (empty prefix, equal sizes)."""
    if not _well_formed(old_root, new_root, *proof) or not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    return _fold_consistency(old_size, old_root, new_size, new_root, list(proof))


def _fold_consistency(
    old_size: int, old_root: bytes, new_size: int, new_root: bytes, path: list[bytes]
) -> bool:
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is itself on the path
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


def _well_formed(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


# --------------------------------------------------------------------------- incremental


class Frontier:
    """The perfect subtrees ("peaks") that make up a tree of ``size`` leaves.

    Appending a leaf merges equal-height peaks, so it costs O(1) amortised hashes, and the
    root is a right-to-left fold over at most log2(size) peaks. The store keeps the peaks
    beside every signed checkpoint so the next append never rereads the whole log.
    """

    __slots__ = ("_peaks", "size")

    def __init__(self, size: int = 0, peaks: Iterable[bytes] = ()) -> None:
        self.size = size
        self._peaks = list(peaks)
        if size < 0 or len(self._peaks) != size.bit_count() or not _well_formed(*self._peaks):
            raise ValueError(f"{len(self._peaks)} peaks cannot describe a tree of size {size}")

    @property
    def peaks(self) -> tuple[bytes, ...]:
        return tuple(self._peaks)

    def append(self, leaf: bytes) -> None:
        peaks, size = self._peaks, self.size
        peaks.append(leaf)
        while size & 1:  # each trailing 1-bit of the old size is a peak that now has a twin
            right = peaks.pop()
            peaks[-1] = node_hash(peaks[-1], right)
            size >>= 1
        self.size += 1

    def root(self) -> bytes:
        if not self._peaks:
            return EMPTY_ROOT
        r = self._peaks[-1]
        for peak in reversed(self._peaks[:-1]):
            r = node_hash(peak, r)
        return r

    def copy(self) -> Frontier:
        return Frontier(self.size, self._peaks)


def prefix_roots(leaf_hashes: Iterable[bytes]) -> Iterator[bytes]:
    """The root after each leaf: MTH(D[1]), MTH(D[2]), …"""
    frontier = Frontier()
    for h in leaf_hashes:
        frontier.append(h)
        yield frontier.root()


def pack_peaks(peaks: Iterable[bytes]) -> bytes:
    return b"".join(peaks)


def unpack_peaks(blob: bytes) -> list[bytes]:
    return [blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE)]
