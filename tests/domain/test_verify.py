"""verify_log: a good log passes, and every kind of tampering is named at the right position.

Logs are built in memory the way ``LedgerStore.append`` builds them: entry 0 is the genesis
entry naming the station key, and every append stores a checkpoint for the new size, signed
with the station's Ed25519 key, beside the packed tree frontier.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station_app.crypto import Signer, signature_checker
from station_app.domain.canonical import canonical_json
from station_app.domain.log import (
    GENESIS_KIND,
    Checkpoint,
    LogEntry,
    MonoReading,
    SignedCheckpoint,
    make_origin,
    note_key_id,
    parse_note,
)
from station_app.domain.merkle import EMPTY_ROOT, Frontier, leaf_hash, pack_peaks, tree_root
from station_app.domain.verify import Row, StoredCheckpoint, VerifyReport, verify_log

N = 12  # sizes 1, 2, 4 and 8 are powers of two; 12 is the head


@dataclass(frozen=True)
class Log:
    signer: Signer
    origin: str
    rows: list[Row]
    checkpoints: list[StoredCheckpoint]

    @property
    def public_key(self) -> bytes:
        return self.signer.public_key


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def make_entry(origin: str, idx: int, body: dict) -> bytes:
    return LogEntry(
        origin=origin, idx=idx, kind=GENESIS_KIND if idx == 0 else "case.moved",
        actor="clerk-li", t_wall=f"2025-09-30T10:{idx:02d}:00.000+08:00",
        t_mono=MonoReading(boot="boot-1", us=1_000_000 * idx), beacon=None, catalog="2025.4",
        salt=b64(hashlib.sha256(b"salt%d" % idx).digest()[:16]), body=body,
    ).encode()


def genesis_body(public_key: bytes) -> dict:
    return {"station": "330110001001", "name": "青石镇便民服务中心", "public_key": b64(public_key)}


def sign(signer: Signer, origin: str, size: int, root: bytes) -> str:
    checkpoint = Checkpoint(origin, size, root)
    return SignedCheckpoint(checkpoint, origin, note_key_id(origin, signer.public_key),
                            signer.sign(checkpoint.body())).note()


def build_log(n: int = N, signer: Signer | None = None, named_key: bytes | None = None) -> Log:
    """A log of n entries with a signed checkpoint per size, as the store writes it."""
    signer = signer or SIGNER
    origin = make_origin("330110001001", signer.public_key)
    entries = [make_entry(origin, 0, genesis_body(named_key or signer.public_key))]
    entries += [make_entry(origin, i, {"case_no": f"330110001001-20250930-{i:04d}", "n": i})
                for i in range(1, n)]
    return sign_all(signer, origin, entries)


def sign_all(signer: Signer, origin: str, entries: list[bytes]) -> Log:
    frontier = Frontier()
    rows: list[Row] = []
    checkpoints: list[StoredCheckpoint] = []
    for idx, entry in enumerate(entries):
        digest = leaf_hash(entry)
        frontier.append(digest)
        rows.append((idx, entry, digest))
        checkpoints.append((frontier.size, sign(signer, origin, frontier.size, frontier.root()),
                            pack_peaks(frontier.peaks)))
    return Log(signer, origin, rows, checkpoints)


def verify(
    log: Log,
    rows: list[Row] | None = None,
    checkpoints: list[StoredCheckpoint] | None = None,
    *,
    key: bytes | None = None,
    full: bool = False,
    published: tuple[int, ...] = (),
) -> VerifyReport:
    key = log.public_key if key is None else key
    cps = log.checkpoints if checkpoints is None else checkpoints
    return verify_log(log.rows if rows is None else rows, lambda: iter(cps), origin=log.origin,
                      public_key=key, check_signature=signature_checker(key),
                      published=published, full=full)


def without_peaks(checkpoints: list[StoredCheckpoint]) -> list[StoredCheckpoint]:
    """Checkpoints as an export carries them: the note only, no stored frontier."""
    return [(size, note, b"") for size, note, _ in checkpoints]


def fails_at(report: VerifyReport, position: int) -> bool:
    return (not report.ok and report.first_bad == position and bool(report.problem)
            and bool(report.problem_en))


SIGNER, _SEED = Signer.generate()
LOG = build_log()
LOG_ENTRY_0 = json.loads(LOG.rows[0][1])
positions = st.integers(min_value=0, max_value=N - 1)
bounded = settings(max_examples=50, deadline=None)


# ---------------------------------------------------------------- a good log


def test_a_good_log_verifies_with_its_root_and_counts() -> None:
    report = verify(LOG)
    assert report.ok
    assert report.first_bad is None
    assert (report.problem, report.problem_en) == ("", "")
    assert report.origin == LOG.origin
    assert report.entries == N
    assert report.checkpoints == N
    assert report.root == tree_root([h for _, _, h in LOG.rows])
    assert report.root == parse_note(LOG.checkpoints[-1][1]).checkpoint.root


def test_the_report_as_a_dict_names_every_finding() -> None:
    assert verify(LOG).as_dict() == {
        "ok": True, "origin": LOG.origin, "entries": N, "root": verify(LOG).root.hex(),
        "checkpoints": N, "signatures_checked": 5, "first_bad_position": None,
        "problem": "", "problem_en": ""}


def test_an_empty_log_is_a_good_log() -> None:
    report = verify(LOG, [], [])
    assert report.ok
    assert (report.entries, report.root, report.checkpoints) == (0, EMPTY_ROOT, 0)


def test_a_one_entry_log_verifies() -> None:
    log = build_log(1)
    assert verify(log).ok
    assert verify(log, full=True).ok


def test_an_exported_log_without_stored_frontiers_verifies() -> None:
    assert verify(LOG, checkpoints=without_peaks(LOG.checkpoints)).ok


def test_rows_that_can_only_be_read_once_are_checked_in_one_full_pass() -> None:
    report = verify_log(iter(LOG.rows), lambda: iter(LOG.checkpoints), origin=LOG.origin,
                        public_key=LOG.public_key,
                        check_signature=signature_checker(LOG.public_key))
    assert report.ok
    assert report.signatures == N


def test_full_checks_the_signature_of_every_checkpoint() -> None:
    report = verify(LOG, full=True)
    assert report.ok
    assert report.checkpoints == N
    assert report.signatures == N


def test_by_default_powers_of_two_published_sizes_and_the_head_are_signature_checked() -> None:
    assert verify(LOG).signatures == 5  # sizes 1, 2, 4, 8 and the head, 12
    assert verify(LOG, published=(3, 10)).signatures == 7
    assert verify(LOG, published=(4, 12)).signatures == 5  # already sampled


# ---------------------------------------------------------------- altered entries


@bounded
@given(k=positions, data=st.data())
def test_a_flipped_byte_in_an_entry_is_found_at_that_entry(k: int, data: st.DataObject) -> None:
    idx, entry, digest = LOG.rows[k]
    at = data.draw(st.integers(min_value=0, max_value=len(entry) - 1), label="byte")
    bit = data.draw(st.integers(min_value=0, max_value=7), label="bit")
    altered = bytearray(entry)
    altered[at] ^= 1 << bit
    rows = [*LOG.rows[:k], (idx, bytes(altered), digest), *LOG.rows[k + 1 :]]
    report = verify(LOG, rows)
    assert fails_at(report, k)
    assert f"第 {k} 条" in report.problem
    assert report.entries == k  # nothing after the bad entry was taken in


def rewritten(k: int) -> list[Row]:
    """Entry k replaced by a different, well-formed entry with its own correct leaf hash."""
    body = genesis_body(LOG.public_key) | {"name": "改过的站名"} if k == 0 else \
        {"case_no": f"330110001001-20250930-{k:04d}", "n": k, "outcome": "APPROVED"}
    entry = make_entry(LOG.origin, k, body)
    return [*LOG.rows[:k], (k, entry, leaf_hash(entry)), *LOG.rows[k + 1 :]]


@bounded
@given(k=positions, exported=st.booleans(), full=st.booleans())
def test_an_entry_rewritten_with_a_new_hash_is_found_at_that_entry(
    k: int, exported: bool, full: bool
) -> None:
    checkpoints = without_peaks(LOG.checkpoints) if exported else LOG.checkpoints
    assert fails_at(verify(LOG, rewritten(k), checkpoints, full=full), k)


@bounded
@given(k=positions)
def test_a_removed_entry_is_found_where_it_is_missing(k: int) -> None:
    rows = LOG.rows[:k] + LOG.rows[k + 1 :]
    report = verify(LOG, rows)
    assert fails_at(report, k)


@bounded
@given(k=st.integers(min_value=0, max_value=N - 2), data=st.data())
def test_two_swapped_entries_are_found_at_the_first_of_them(k: int, data: st.DataObject) -> None:
    j = data.draw(st.integers(min_value=k + 1, max_value=N - 1), label="j")
    rows = list(LOG.rows)
    # The positions keep their numbers; the contents and their hashes trade places.
    (_, ek, hk), (_, ej, hj) = rows[k], rows[j]
    rows[k], rows[j] = (k, ej, hj), (j, ek, hk)
    assert fails_at(verify(LOG, rows), k)
    # Swapping whole rows, numbers included, leaves position k missing.
    rows = list(LOG.rows)
    rows[k], rows[j] = rows[j], rows[k]
    assert fails_at(verify(LOG, rows), k)


def test_an_entry_from_another_log_is_refused_even_with_the_right_number() -> None:
    other = build_log(N, signer=Signer.generate()[0])
    rows = [*LOG.rows[:5], other.rows[5], *LOG.rows[6:]]
    report = verify(LOG, rows)
    assert fails_at(report, 5)
    assert "位置" in report.problem


# ---------------------------------------------------------------- altered checkpoints


def _flip_signature(note: str) -> str:
    signed = parse_note(note)
    bad = bytes([signed.signature[0] ^ 1]) + signed.signature[1:]
    return replace(signed, signature=bad).note()


def _other_root(note: str) -> str:
    signed = parse_note(note)
    checkpoint = replace(signed.checkpoint, root=hashlib.sha256(b"other").digest())
    return replace(signed, checkpoint=checkpoint).note()


def _other_size(note: str) -> str:
    signed = parse_note(note)
    checkpoint = replace(signed.checkpoint, size=signed.checkpoint.size + 1)
    return replace(signed, checkpoint=checkpoint).note()


def _other_origin(note: str) -> str:
    signed = parse_note(note)
    checkpoint = replace(signed.checkpoint, origin="vss/330110001002/00000000")
    return replace(signed, checkpoint=checkpoint).note()


def _garbled(note: str) -> str:
    return note.replace("\n\n", "\n")


ALTERATIONS = {"signature flipped": _flip_signature, "root changed": _other_root,
               "size changed": _other_size, "origin changed": _other_origin,
               "garbled": _garbled}


def with_note(s: int, alter) -> list[StoredCheckpoint]:
    size, note, peaks = LOG.checkpoints[s - 1]
    return [*LOG.checkpoints[: s - 1], (size, alter(note), peaks), *LOG.checkpoints[s:]]


@bounded
@given(s=st.integers(min_value=1, max_value=N), how=st.sampled_from(sorted(ALTERATIONS)))
def test_an_altered_checkpoint_is_found_at_its_position_by_a_full_check(s: int, how: str) -> None:
    assert fails_at(verify(LOG, checkpoints=with_note(s, ALTERATIONS[how]), full=True), s - 1)


@pytest.mark.parametrize("s", [1, 2, 4, 8, N])
@pytest.mark.parametrize("how", sorted(ALTERATIONS))
def test_an_altered_sampled_checkpoint_is_found_without_a_full_check(s: int, how: str) -> None:
    assert fails_at(verify(LOG, checkpoints=with_note(s, ALTERATIONS[how])), s - 1)


def test_an_altered_checkpoint_between_samples_is_only_found_when_checked() -> None:
    # The quick check samples signatures; the valid head still proves every entry unchanged.
    checkpoints = with_note(6, _flip_signature)
    assert verify(LOG, checkpoints=checkpoints).ok
    assert fails_at(verify(LOG, checkpoints=checkpoints, published=(6,)), 5)
    assert fails_at(verify(LOG, checkpoints=checkpoints, full=True), 5)


def test_a_changed_stored_frontier_is_found_at_its_checkpoint() -> None:
    size, note, peaks = LOG.checkpoints[6]
    checkpoints = [*LOG.checkpoints[:6], (size, note, peaks[::-1]), *LOG.checkpoints[7:]]
    assert fails_at(verify(LOG, checkpoints=checkpoints), 6)


def test_history_rewritten_and_re_signed_with_another_key_is_found_at_the_rewrite() -> None:
    forger, _ = Signer.generate()
    rows = rewritten(7)
    forged = sign_all(forger, LOG.origin, [entry for _, entry, _ in rows])
    checkpoints = LOG.checkpoints[:7] + forged.checkpoints[7:]
    report = verify(LOG, rows, checkpoints)
    assert fails_at(report, 7)
    assert "签名无效" in report.problem


# ---------------------------------------------------------------- truncation and tails


@bounded
@given(m=st.integers(min_value=1, max_value=N - 1))
def test_entries_after_the_last_checkpoint_are_found_at_the_first_unsigned_one(m: int) -> None:
    report = verify(LOG, checkpoints=LOG.checkpoints[:m])
    assert fails_at(report, m)
    assert report.entries == N


def test_a_log_with_entries_and_no_checkpoint_fails_at_the_start() -> None:
    assert fails_at(verify(LOG, checkpoints=[]), 0)


@bounded
@given(m=st.integers(min_value=0, max_value=N - 1))
def test_a_truncated_log_is_found_at_the_first_missing_entry(m: int) -> None:
    report = verify(LOG, rows=LOG.rows[:m])
    assert fails_at(report, m)
    assert report.entries == m


# ---------------------------------------------------------------- the station key


def test_verifying_with_another_key_fails_at_the_first_entry() -> None:
    other, _ = Signer.generate()
    report = verify(LOG, key=other.public_key)
    assert fails_at(report, 0)
    assert "公钥" in report.problem


def test_a_log_whose_first_entry_names_another_key_fails_at_the_first_entry() -> None:
    other, _ = Signer.generate()
    log = build_log(4, named_key=other.public_key)
    assert fails_at(verify(log), 0)
    assert fails_at(verify(log, full=True), 0)


def test_a_first_entry_of_another_kind_fails_at_the_first_entry() -> None:
    entry = canonical_json({**LOG_ENTRY_0, "kind": "case.created"})
    rows = [(0, entry, leaf_hash(entry)), *LOG.rows[1:]]
    assert fails_at(verify(LOG, rows), 0)



@pytest.mark.parametrize(
    "entry",
    [
        canonical_json({k: v for k, v in LOG_ENTRY_0.items() if k != "body"}),
        canonical_json({**LOG_ENTRY_0, "body": ["public_key"]}),
        canonical_json({**LOG_ENTRY_0, "body": None}),
        canonical_json([0]),
        b"[" * 5000 + b"]" * 5000,
        b"\xff\xfe",
    ],
    ids=["no body", "list body", "null body", "array", "deeply nested", "not UTF-8"],
)
def test_a_malformed_first_entry_is_reported_not_raised(entry: bytes) -> None:
    rows = [(0, entry, leaf_hash(entry)), *LOG.rows[1:]]
    assert fails_at(verify(LOG, rows), 0)
