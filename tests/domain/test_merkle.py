"""RFC 6962 Merkle trees: known answers, a literal reference, and the corruption battery.

The vectors and the battery follow transparency-dev/merkle ``proof/verify_test.go``; the
reference implementation below is RFC 6962 §2.1 transcribed as literally as Python allows,
so the module's iterative frontier and its proof code are checked against the spec text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from station_app.domain.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    Frontier,
    LeafList,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    pack_peaks,
    prefix_roots,
    subtree_hash,
    tree_root,
    unpack_peaks,
    verify_consistency,
    verify_inclusion,
)

# ---------------------------------------------------------------- RFC 6962 §2.1, literally


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: Sequence[bytes]) -> bytes:
    """MTH(D[n])."""
    n = len(d)
    if n == 0:
        return _sha256(b"")
    if n == 1:
        return _sha256(b"\x00" + d[0])
    k = _k(n)
    return _sha256(b"\x01" + ref_mth(d[0:k]) + ref_mth(d[k:n]))


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n])."""
    n = len(d)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return ref_path(m, d[0:k]) + [ref_mth(d[k:n])]
    return ref_path(m - k, d[k:n]) + [ref_mth(d[0:k])]


def ref_proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true)."""
    return ref_subproof(m, d, True)


def ref_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _k(n)
    if m <= k:
        return ref_subproof(m, d[0:k], b) + [ref_mth(d[k:n])]
    return ref_subproof(m - k, d[k:n], False) + [ref_mth(d[0:k])]


# ---------------------------------------------------------------- known answers

LEAVES = [bytes.fromhex(x) for x in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]
ROOTS = [bytes.fromhex(x) for x in (
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]
H_96A2 = "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"
H_5F08 = "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"
H_6B47 = "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"
H_BC1A = "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"
H_CA85 = "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"
H_D37E = "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"
H_FAC5 = "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"
H_6E34 = "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
H_0EBC = "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"

INCLUSION_VECTORS = [
    (0, 1, []),
    (0, 8, [H_96A2, H_5F08, H_6B47]),
    (5, 8, [H_BC1A, H_CA85, H_D37E]),
    (2, 3, [H_FAC5]),
    (1, 5, [H_6E34, H_5F08, H_BC1A]),
]
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (1, 8, [H_96A2, H_5F08, H_6B47]),
    (6, 8, [H_0EBC, H_CA85, H_D37E]),
    (2, 5, [H_5F08, H_BC1A]),
]
KAT_HASHES = [leaf_hash(x) for x in LEAVES]


def hexes(proof: Sequence[bytes]) -> list[str]:
    return [p.hex() for p in proof]


@pytest.mark.parametrize("n", range(9))
def test_the_root_of_the_first_n_vector_leaves_is_the_published_one(n: int) -> None:
    assert tree_root(KAT_HASHES[:n]) == ROOTS[n]
    assert ref_mth(LEAVES[:n]) == ROOTS[n]


def test_the_empty_tree_hashes_to_sha256_of_nothing() -> None:
    assert EMPTY_ROOT == ROOTS[0] == tree_root([]) == Frontier().root()


def test_leaves_and_nodes_are_hashed_with_different_prefixes() -> None:
    assert leaf_hash(b"") == ROOTS[1]
    assert leaf_hash(b"ab") == _sha256(b"\x00ab")
    assert node_hash(b"a" * 32, b"b" * 32) == _sha256(b"\x01" + b"a" * 32 + b"b" * 32)
    assert node_hash(KAT_HASHES[0], KAT_HASHES[1]) == ROOTS[2]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS)
def test_inclusion_proofs_match_the_published_vectors(
    index: int, size: int, path: list[str]
) -> None:
    proof = inclusion_proof(LeafList(KAT_HASHES[:size]), index, size)
    assert hexes(proof) == path
    assert hexes(ref_path(index, LEAVES[:size])) == path
    assert verify_inclusion(KAT_HASHES[index], index, size, proof, ROOTS[size])


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY_VECTORS)
def test_consistency_proofs_match_the_published_vectors(
    old: int, new: int, path: list[str]
) -> None:
    proof = consistency_proof(LeafList(KAT_HASHES[:new]), old, new)
    assert hexes(proof) == path
    assert hexes(ref_proof(old, LEAVES[:new])) == path
    assert verify_consistency(old, ROOTS[old], new, ROOTS[new], proof)


def test_a_published_consistency_proof_does_not_prove_a_different_old_root() -> None:
    proof = [bytes.fromhex(h) for h in (H_0EBC, H_CA85, H_D37E)]
    assert verify_consistency(6, ROOTS[6], 8, ROOTS[8], proof)
    assert not verify_consistency(6, ROOTS[5], 8, ROOTS[8], proof)


# ---------------------------------------------------------------- against the reference

MAX_N = 40
DATA = [f"entry {i}".encode() for i in range(MAX_N)]
HASHES = [leaf_hash(x) for x in DATA]
REF_ROOTS = [ref_mth(DATA[:n]) for n in range(MAX_N + 1)]


@pytest.mark.parametrize("n", range(1, MAX_N + 1))
def test_inclusion_proofs_equal_the_reference_and_verify(n: int) -> None:
    source = LeafList(HASHES[:n])
    assert tree_root(HASHES[:n]) == REF_ROOTS[n]
    for m in range(n):
        proof = inclusion_proof(source, m, n)
        assert proof == ref_path(m, DATA[:n]), (m, n)
        assert verify_inclusion(HASHES[m], m, n, proof, REF_ROOTS[n]), (m, n)


@pytest.mark.parametrize("n", range(1, MAX_N + 1))
def test_consistency_proofs_equal_the_reference_and_verify(n: int) -> None:
    source = LeafList(HASHES[:n])
    for m in range(1, n + 1):
        proof = consistency_proof(source, m, n)
        assert proof == ref_proof(m, DATA[:n]), (m, n)
        assert verify_consistency(m, REF_ROOTS[m], n, REF_ROOTS[n], proof), (m, n)


@pytest.mark.parametrize("n", range(MAX_N + 1))
def test_subtree_hash_of_any_range_is_the_reference_root_of_that_range(n: int) -> None:
    source = LeafList(HASHES)
    for start in range(0, MAX_N - n + 1, 3):
        assert subtree_hash(source, start, start + n) == ref_mth(DATA[start : start + n])


@given(st.lists(st.binary(max_size=8), min_size=1, max_size=70), st.data())
def test_proofs_over_random_entries_equal_the_reference(
    entries: list[bytes], data: st.DataObject
) -> None:
    n = len(entries)
    m = data.draw(st.integers(min_value=0, max_value=n - 1), label="m")
    hashes = [leaf_hash(x) for x in entries]
    assert inclusion_proof(LeafList(hashes), m, n) == ref_path(m, entries)
    assert consistency_proof(LeafList(hashes), m + 1, n) == ref_proof(m + 1, entries)


def test_an_empty_old_tree_is_consistent_with_anything_without_a_proof() -> None:
    assert verify_consistency(0, EMPTY_ROOT, 8, ROOTS[8], [])
    assert not verify_consistency(0, ROOTS[1], 8, ROOTS[8], [])
    assert not verify_consistency(0, EMPTY_ROOT, 8, ROOTS[8], [ROOTS[1]])


def test_proofs_are_refused_for_positions_outside_the_tree() -> None:
    source = LeafList(KAT_HASHES)
    for index, size in ((0, 0), (3, 3), (-1, 3), (9, 8)):
        with pytest.raises(ValueError):
            inclusion_proof(source, index, size)
    for old, new in ((0, 5), (6, 5), (-1, 5)):
        with pytest.raises(ValueError):
            consistency_proof(source, old, new)


# ---------------------------------------------------------------- the corruption battery

OTHER_HASH = _sha256(b"some other hash")


def _flip(proof: list[bytes], i: int, byte: int, bit: int) -> list[bytes]:
    element = bytearray(proof[i])
    element[byte] ^= 1 << bit
    return [*proof[:i], bytes(element), *proof[i + 1 :]]


def _proof_mutations(proof: list[bytes], *extras: bytes) -> list[tuple[str, list[bytes]]]:
    out: list[tuple[str, list[bytes]]] = [
        ("trailing garbage", [*proof, b""]),
        ("leading garbage", [b"", *proof]),
        ("short element", [*proof[:-1], proof[-1][:-1]] if proof else [b"x"]),
        ("long element", [*proof[:-1], proof[-1] + b"\x00"] if proof else [b"x" * 33]),
        ("not bytes", [*proof[:-1], proof[-1].hex()] if proof else [None]),
    ]
    for extra in extras:
        out += [("trailing hash", [*proof, extra]), ("leading hash", [extra, *proof])]
    if proof:
        out += [
            ("empty proof", []),
            ("truncated proof", proof[:-1]),
            ("first element dropped", proof[1:]),
            ("duplicated last element", [*proof, proof[-1]]),
            ("leading proof[0]", [proof[0], *proof]),
        ]
    for i in range(len(proof)):
        out += [(f"bit flipped in element {i}", _flip(proof, i, 0, 3)),
                (f"last bit flipped in element {i}", _flip(proof, i, HASH_SIZE - 1, 7))]
    return out


def inclusion_probes(index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes):
    probes = [
        ("index - 1", leaf, index - 1, size, proof, root),
        ("index + 1", leaf, index + 1, size, proof, root),
        ("index ^ 2", leaf, index ^ 2, size, proof, root),
        ("size * 2", leaf, index, size * 2, proof, root),
        ("size / 2", leaf, index, size // 2, proof, root),
        ("wrong leaf", b"WrongLeaf", index, size, proof, root),
        ("other leaf", OTHER_HASH, index, size, proof, root),
        ("empty root", leaf, index, size, proof, EMPTY_ROOT),
        ("random root", leaf, index, size, proof, OTHER_HASH),
        ("short root", leaf, index, size, proof, root[:-1]),
    ]
    if leaf != root:  # in a one-leaf tree the leaf hash is the root
        probes.append(("leaf and root swapped", root, index, size, proof, leaf))
    probes += [(name, leaf, index, size, p, root)
               for name, p in _proof_mutations(proof, root, leaf)]
    return probes


def consistency_probes(old: int, new: int, proof: list[bytes], old_root: bytes, new_root: bytes):
    probes = [
        ("old - 1", old - 1, old_root, new, new_root, proof),
        ("old + 1", old + 1, old_root, new, new_root, proof),
        ("old ^ 2", old ^ 2, old_root, new, new_root, proof),
        ("new * 2", old, old_root, new * 2, new_root, proof),
        ("new / 2", old, old_root, new // 2, new_root, proof),
        ("wrong old root", old, b"WrongRoot", new, new_root, proof),
        ("wrong new root", old, old_root, new, b"WrongRoot", proof),
        ("other old root", old, OTHER_HASH, new, new_root, proof),
        ("other new root", old, old_root, new, OTHER_HASH, proof),
        ("swapped roots", old, new_root, new, old_root, proof),
        ("swapped sizes", new, old_root, old, new_root, proof),
    ]
    probes += [(name, old, old_root, new, new_root, p)
               for name, p in _proof_mutations(proof, old_root, new_root)]
    return probes


@pytest.mark.parametrize("n", range(1, MAX_N + 1))
def test_every_corrupted_inclusion_proof_is_refused(n: int) -> None:
    root = REF_ROOTS[n]
    for m in range(n):
        proof = inclusion_proof(LeafList(HASHES[:n]), m, n)
        for name, leaf, index, size, bad_proof, bad_root in inclusion_probes(
                m, n, proof, root, HASHES[m]):
            assert verify_inclusion(leaf, index, size, bad_proof, bad_root) is False, \
                (name, m, n)


@pytest.mark.parametrize("n", range(2, MAX_N + 1))
def test_every_corrupted_consistency_proof_is_refused(n: int) -> None:
    for m in range(1, n):
        proof = consistency_proof(LeafList(HASHES[:n]), m, n)
        for name, old, old_root, new, new_root, bad_proof in consistency_probes(
                m, n, proof, REF_ROOTS[m], REF_ROOTS[n]):
            assert verify_consistency(old, old_root, new, new_root, bad_proof) is False, \
                (name, m, n)


def test_the_size_a_proof_is_checked_against_must_be_the_signed_one() -> None:
    # RFC 9162 verification takes only the path's shape from the size, and leaf 0 has the
    # same shape in trees of 3 and 4 leaves, so a proof checks (index, size, root) together
    # and the size must be the one signed beside the root. That is why this battery, like
    # transparency-dev's, changes tree sizes by x2 and /2 rather than by one.
    proof = inclusion_proof(LeafList(KAT_HASHES[:3]), 0, 3)
    assert verify_inclusion(KAT_HASHES[0], 0, 4, proof, ROOTS[3])
    assert not verify_inclusion(KAT_HASHES[0], 0, 4, proof, ROOTS[4])


@pytest.mark.parametrize("n", [1, 2, 7, 8])
def test_equal_sizes_need_equal_roots_and_an_empty_proof(n: int) -> None:
    root = REF_ROOTS[n]
    assert verify_consistency(n, root, n, root, [])
    assert not verify_consistency(n, root, n, OTHER_HASH, [])
    assert not verify_consistency(n, OTHER_HASH, n, root, [])
    assert not verify_consistency(n, root, n, root, [root])


@pytest.mark.parametrize(
    ("old", "new"), [(-1, 3), (4, 3), (0, -1)], ids=["negative old", "shrinking", "negative new"]
)
def test_impossible_sizes_are_refused(old: int, new: int) -> None:
    assert verify_consistency(old, EMPTY_ROOT, new, EMPTY_ROOT, []) is False


def test_verifiers_never_raise_on_malformed_input() -> None:
    junk: list = [None, "x", 5, b"", b"x" * 31]
    for item in junk:
        assert verify_inclusion(item, 0, 1, [], ROOTS[1]) is False
        assert verify_inclusion(KAT_HASHES[0], 0, 1, [], item) is False
        assert verify_inclusion(KAT_HASHES[0], 0, 2, [item], ROOTS[2]) is False
        assert verify_consistency(1, item, 2, ROOTS[2], [KAT_HASHES[1]]) is False
        assert verify_consistency(1, ROOTS[1], 2, ROOTS[2], [item]) is False


# ---------------------------------------------------------------- the frontier

leaf_lists = st.lists(st.binary(max_size=6), max_size=80)


@given(leaf_lists)
def test_appending_to_a_frontier_gives_the_reference_root(entries: list[bytes]) -> None:
    frontier = Frontier()
    for x in entries:
        frontier.append(leaf_hash(x))
    assert frontier.size == len(entries)
    assert len(frontier.peaks) == len(entries).bit_count()
    assert frontier.root() == ref_mth(entries)
    assert tree_root([leaf_hash(x) for x in entries]) == ref_mth(entries)


@given(leaf_lists)
def test_prefix_roots_are_the_reference_root_of_each_prefix(entries: list[bytes]) -> None:
    roots = list(prefix_roots(leaf_hash(x) for x in entries))
    assert roots == [ref_mth(entries[: i + 1]) for i in range(len(entries))]


@given(leaf_lists, st.lists(st.binary(max_size=6), max_size=20))
def test_a_frontier_rebuilt_from_its_size_and_peaks_carries_on_identically(
    first: list[bytes], then: list[bytes]
) -> None:
    original = Frontier()
    for x in first:
        original.append(leaf_hash(x))
    stored = pack_peaks(original.peaks)
    assert len(stored) == HASH_SIZE * len(original.peaks)
    rebuilt = Frontier(original.size, unpack_peaks(stored))
    copy = original.copy()
    assert rebuilt.root() == copy.root() == original.root()
    for x in then:
        rebuilt.append(leaf_hash(x))
        copy.append(leaf_hash(x))
    assert rebuilt.root() == copy.root() == ref_mth(first + then)
    assert original.size == len(first)  # the copy does not share its peaks
    assert original.root() == ref_mth(first)


def test_the_peaks_are_the_perfect_subtrees_left_to_right() -> None:
    frontier = Frontier()
    for h in KAT_HASHES[:6]:
        frontier.append(h)
    assert frontier.peaks == (ROOTS[4], node_hash(KAT_HASHES[4], KAT_HASHES[5]))


@pytest.mark.parametrize(
    ("size", "peaks"),
    [
        (0, [ROOTS[1]]),
        (1, []),
        (3, [ROOTS[1]]),
        (4, [ROOTS[1], ROOTS[2]]),
        (5, [ROOTS[1], ROOTS[2], ROOTS[3]]),
        (2, [ROOTS[1][:31]]),
        (2, ["not bytes"]),
        (-1, [ROOTS[1]]),
    ],
    ids=["0 with a peak", "1 without", "3 with one", "4 with two", "5 with three",
         "short peak", "str peak", "negative size"],
)
def test_a_frontier_with_the_wrong_peaks_for_its_size_is_refused(
    size: int, peaks: list[bytes]
) -> None:
    with pytest.raises(ValueError):
        Frontier(size, peaks)
