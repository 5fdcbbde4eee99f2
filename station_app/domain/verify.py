"""Verify a station log: every hash, the Merkle root, the checkpoints and their signatures.

The same function checks a station's own database, an exported log file, and (at the county)
an uploaded log, so it takes plain iterables and a signature-checking callable instead of a
database or a key object.

The quick pass recomputes each leaf hash, checks that every entry sits at the position and in
the log it names, folds the leaves into the tree, checks the stored tree frontier beside every
checkpoint, and compares the root with the signed checkpoints whose signatures it checks: the
newest, every one that left the device (``published``) and those at power-of-two sizes.
A valid newest checkpoint over the recomputed root proves the whole log is as signed.

If anything is wrong, a precise pass runs: it compares the root after *every* append with the
checkpoint stored for that size and checks every signature (~80 µs each), so the report names
the first position that no longer matches what the station signed. ``full=True`` runs the
precise pass from the start. Problems are reported, never raised: a verifier's job is to
describe.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass

from station_app.domain.canonical import canonical_json
from station_app.domain.log import (
    GENESIS_KIND,
    LOG_VERSION,
    MalformedEntry,
    SignedCheckpoint,
    parse_note,
)
from station_app.domain.merkle import Frontier, leaf_hash, pack_peaks

Row = tuple[int, bytes, bytes]  # (idx, entry bytes, stored leaf hash)
StoredCheckpoint = tuple[int, str, bytes]  # (size, signed note, packed peaks or b"")
SignatureCheck = Callable[[bytes, bytes], bool]  # (message, signature) -> valid?
Rows = Iterable[Row] | Callable[[], Iterable[Row]]


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyReport:
    ok: bool
    origin: str
    entries: int
    root: bytes
    checkpoints: int
    signatures: int
    first_bad: int | None = None
    problem: str = ""
    problem_en: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "origin": self.origin, "entries": self.entries,
                "root": self.root.hex(), "checkpoints": self.checkpoints,
                "signatures_checked": self.signatures, "first_bad_position": self.first_bad,
                "problem": self.problem, "problem_en": self.problem_en}


class _Bad(Exception):
    def __init__(self, position: int, zh: str, en: str) -> None:
        super().__init__(en)
        self.position, self.zh, self.en = position, zh, en


@dataclass(slots=True)
class _Pass:
    origin: str
    public_key: bytes
    check_signature: SignatureCheck
    sampled: Callable[[int], bool]  # sizes whose signature (and root) are checked on the way
    frontier: Frontier
    checkpoints: int = 0
    signatures: int = 0
    last: StoredCheckpoint | None = None


def verify_log(
    rows: Rows,
    checkpoints: Callable[[], Iterable[StoredCheckpoint]],
    *,
    origin: str,
    public_key: bytes,
    check_signature: SignatureCheck,
    published: Collection[int] = (),
    full: bool = False,
) -> VerifyReport:
    """Check the log. ``rows`` may be a callable (or a list) so a precise pass can reread it."""
    rereadable = callable(rows) or isinstance(rows, Sequence)
    if full or not rereadable:
        return _run(rows, checkpoints, origin, public_key, check_signature, _every)
    quick = _run(rows, checkpoints, origin, public_key, check_signature,
                 lambda size: size in published or size & (size - 1) == 0)
    if quick.ok:
        return quick
    # Something is wrong: look again at every checkpoint to name the first bad position.
    return _run(rows, checkpoints, origin, public_key, check_signature, _every)


def _every(size: int) -> bool:
    return True


def _run(rows: Rows, checkpoints: Callable[[], Iterable[StoredCheckpoint]], origin: str,
         public_key: bytes, check_signature: SignatureCheck,
         sampled: Callable[[int], bool]) -> VerifyReport:
    state = _Pass(origin, public_key, check_signature, sampled, Frontier())
    try:
        _walk(rows() if callable(rows) else rows, iter(checkpoints()), state)
        _check_head(state)
    except _Bad as bad:
        return _report(state, bad)
    return _report(state, None)


def _report(state: _Pass, bad: _Bad | None) -> VerifyReport:
    return VerifyReport(
        ok=bad is None, origin=state.origin, entries=state.frontier.size,
        root=state.frontier.root(), checkpoints=state.checkpoints, signatures=state.signatures,
        first_bad=None if bad is None else bad.position,
        problem="" if bad is None else bad.zh, problem_en="" if bad is None else bad.en)


def _walk(rows: Iterable[Row], cps: Iterator[StoredCheckpoint], state: _Pass) -> None:
    cp = next(cps, None)
    origin_field = b',"origin":' + canonical_json(state.origin) + b","
    for idx, entry, stored_hash in rows:
        position = state.frontier.size
        if idx != position:
            raise _Bad(position, f"第 {position} 条记录缺失", f"entry {position} is missing")
        if leaf_hash(entry) != stored_hash:
            raise _Bad(idx, f"第 {idx} 条记录的内容与其哈希不符（记录被改动）",
                       f"entry {idx} does not match its hash (altered)")
        if not _header_fits(idx, entry, origin_field, state):
            raise _Bad(idx, f"第 {idx} 条记录不属于本账本的这个位置（位置被调换或内容被改动）",
                       f"entry {idx} does not belong at this position of this log "
                       "(moved or altered)")
        state.frontier.append(stored_hash)
        while cp is not None and cp[0] <= idx + 1:
            _check_checkpoint(cp, state)
            cp = next(cps, None)
    if cp is not None:
        n = state.frontier.size
        raise _Bad(n, f"第 {n} 条及之后的记录缺失（已签名的检查点记录了 {cp[0]} 条）",
                   f"entries from {n} on are missing (a signed checkpoint covers {cp[0]})")


def _header_fits(idx: int, entry: bytes, origin_field: bytes, state: _Pass) -> bool:
    """Does the entry name this position and this log?

    Canonical JSON sorts keys, so the top-level ``idx`` and ``origin`` are the last occurrences
    of those keys (only ``kind``, ``salt``, ``t_mono``, ``t_wall`` and ``v`` follow them); a
    byte search is exact here and several times cheaper than parsing every entry.
    """
    if idx == 0:
        return _genesis_fits(entry, state)
    at = entry.rfind(b',"idx":')
    return (at > 0 and entry.startswith(b'%d,"kind":' % idx, at + 7)
            and entry.rfind(b',"origin":') == entry.find(origin_field, at)
            and entry.endswith(b',"v":%d}' % LOG_VERSION))


def _genesis_fits(entry: bytes, state: _Pass) -> bool:
    try:
        head = json.loads(entry)
        fits = head["v"] == LOG_VERSION and head["idx"] == 0 and head["origin"] == state.origin
    except (ValueError, TypeError, KeyError, RecursionError):
        return False
    body = head.get("body") if fits else None  # adversarial bytes: body may be anything
    if fits and (head.get("kind") != GENESIS_KIND or not isinstance(body, dict) or
                 body.get("public_key") != base64.b64encode(state.public_key).decode()):
        raise _Bad(0, "首条记录的站点公钥与校验所用的公钥不符",
                   "the first entry names a different station key than the one verifying")
    return fits


def _check_checkpoint(cp: StoredCheckpoint, state: _Pass) -> None:
    size, _, peaks = cp
    position = max(size - 1, 0)
    state.checkpoints += 1
    if size != state.frontier.size:
        raise _Bad(position, f"第 {size} 条处的检查点与账本长度不符",
                   f"a checkpoint for size {size} sits at size {state.frontier.size}")
    if peaks and peaks != pack_peaks(state.frontier.peaks):  # exports carry no peaks
        raise _Bad(position, f"第 {size} 条处的检查点缓存与账本不符（记录或检查点被改动）",
                   f"the tree frontier stored at size {size} does not match the log")
    state.last = cp
    if state.sampled(size):
        _check_signed_root(cp, state)


def _check_signed_root(cp: StoredCheckpoint, state: _Pass) -> None:
    """The signed root equals the recomputed one, and the signature is the station's."""
    size, note, _ = cp
    position = max(size - 1, 0)
    try:
        signed = parse_note(note)
    except MalformedEntry:
        raise _Bad(position, f"第 {size} 条处的签名检查点格式损坏",
                   f"the signed checkpoint at size {size} is malformed") from None
    body, valid = signed.checkpoint.body(), _signature_ok(state, signed)
    expected = f"{state.origin}\n{size}\n{base64.b64encode(state.frontier.root()).decode()}\n"
    if body != expected.encode():
        if valid:
            raise _Bad(position, f"第 {position} 条记录与已签名的检查点不符（记录被改动）",
                       f"entry {position} does not match the signed checkpoint (altered)")
        raise _Bad(position, f"第 {size} 条处的检查点被改动（签名无效）",
                   f"the checkpoint at size {size} was altered (invalid signature)")
    if not valid:
        raise _Bad(position, f"第 {size} 条处的检查点签名无效，"
                   f"第 {position} 条起的内容无法证明未被改动",
                   f"the checkpoint at size {size} has an invalid signature; entries from "
                   f"{position} on are unproven")


def _signature_ok(state: _Pass, signed: SignedCheckpoint) -> bool:
    state.signatures += 1
    return state.check_signature(signed.checkpoint.body(), signed.signature)


def _check_head(state: _Pass) -> None:
    n = state.frontier.size
    last = state.last
    if last is None:
        if n:
            raise _Bad(0, "账本没有任何签名检查点", "the log has no signed checkpoint")
        return
    if last[0] != n:
        raise _Bad(last[0], f"第 {last[0]} 条及之后的记录没有签名检查点",
                   f"entries from {last[0]} on are not covered by a signed checkpoint")
    if not state.sampled(n):
        _check_signed_root(last, state)
