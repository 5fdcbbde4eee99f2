"""The county's upload rules, at the service and over real HTTP: exact replays, stale cursors,
tampered packages, forged history, forks, unknown keys, key rotation, two instances of one
station, a full county disk and a station whose clock is wrong.

Each refusal is checked for what it must not do as much as for its answer: nothing stored,
nothing cosigned, and the evidence kept where the station misbehaved.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from station_app.crypto import Signer
from station_app.crypto.kem import SUITE_ID, seal_to
from station_app.domain.clock import iso
from station_app.domain.log import (
    Checkpoint,
    SignedCheckpoint,
    decode_entry,
    note_key_id,
    parse_note,
)
from station_app.domain.merkle import Frontier, leaf_hash, pack_peaks
from station_app.errors import CountyUnreachable, HistoryConflict, NotEnrolled, SyncRefused
from station_app.services.clock import ManualClock
from station_app.services.station import Station
from sync.client import HttpTransport
from sync.codec import compress
from sync.county.keys import (
    ONLINE_FILE,
    ROOT_FILE,
    KeyFileError,
    drop_kem,
    init_keys,
    load_online,
    rotate_kem,
)
from sync.county.service import County
from sync.county.store import CountyDb
from sync.protocol import (
    CheckpointRequest,
    PackageHeader,
    pack_entries,
    package_bytes,
    parse_package,
    sha256_hex,
)
from sync.station import (
    acknowledged,
    checkpoint_request,
    packages,
    require_enrollment,
    sync_once,
)
from tests.sync.conftest import (
    SMALL,
    TOWN,
    RunningServer,
    enroll_station,
    make_station,
    serve,
)
from tests.sync.invariants import CountyView, check_invariants


def append_notes(st: Station, n: int) -> None:
    with st.transaction() as tx:
        for i in range(n):
            tx.append("test.note", {"n": i, "text": "群众来电咨询医保转移接续办理材料"})


def view(county: County, st: Station) -> CountyView:
    return CountyView.read(county.db, st.info.origin)


def invariants(st: Station, county: County) -> CountyView:
    return check_invariants(st, county.db, require_enrollment(st).keys)


def evidence(county: County, st: Station) -> list[tuple[str, str, bytes]]:
    with county.db.read() as tx:
        return [(kind, detail, body) for _, _, kind, _, detail, body in
                tx.evidence(st.info.origin)]


def commit_head(county: County, st: Station) -> tuple[str, int]:
    """``add-checkpoint`` for the station's head at the service; returns (note, next)."""
    request = checkpoint_request(st, view(county, st).committed[0])
    reply = county.add_checkpoint(st.info.origin, request.encode(), "2025-09-29T09:00:00+08:00")
    assert reply.status == 202, reply
    return request.note, int(reply.body["next"])


# --------------------------------------------------------------------- exact replay


def test_an_exact_replay_gets_the_stored_receipt_byte_for_byte(
        village: Station, county: County, county_clock: ManualClock, transport: HttpTransport):
    append_notes(village, 300)
    note = village.ledger.head_note()
    assert note is not None
    keys = require_enrollment(village).keys
    bodies = [body for _, _, body in packages(village, 0, note, keys, SMALL)]
    request = checkpoint_request(village, 0).encode()
    receipt = sync_once(village, transport).receipt
    assert receipt is not None
    stored = view(county, village)

    county_clock.advance(days=2)  # a new cosignature now would carry another time
    for status, answer in (transport.add_checkpoint(village.info.origin, request, "x"),
                           transport.add_entries(village.info.origin, bodies[-1]),
                           transport.add_entries(village.info.origin, bodies[0])):
        assert status == 200 and answer["receipt"] == receipt.note()
    assert view(county, village) == stored  # nothing stored, nothing signed again


# --------------------------------------------------------------------- stale cursor


def test_a_stale_old_size_gets_409_with_the_resume_point(
        village: Station, county: County, transport: HttpTransport):
    sync_once(village, transport)
    acked = acknowledged(village)
    append_notes(village, 5)
    stale = CheckpointRequest(0, (), village.ledger.head_note() or "")
    status, answer = transport.add_checkpoint(village.info.origin, stale.encode(), "x")
    assert (status, dict(answer)) == (409, {"size": acked, "next": acked, "committed": acked})
    assert view(county, village).committed[0] == acked  # nothing accepted


class Interleaved(HttpTransport):
    """HTTP to the county, with something else happening just before the first
    add-checkpoint goes out (the other instance of the station, between our two requests)."""

    def __init__(self, server: str, before_checkpoint: Callable[[], None]) -> None:
        super().__init__(server)
        self._before: Callable[[], None] | None = before_checkpoint
        self.answers: list[int] = []

    def add_checkpoint(self, origin: str, body: bytes, station_time: str
                       ) -> tuple[int, Any]:
        if self._before is not None:
            self._before, before = None, self._before
            before()
        status, answer = super().add_checkpoint(origin, body, station_time)
        self.answers.append(status)
        return status, answer


def test_a_client_whose_cursor_went_stale_recomputes_and_finishes(
        village: Station, county: County, county_server: RunningServer,
        transport: HttpTransport):
    sync_once(village, transport)
    append_notes(village, 5)  # this instance will offer its head, old = what it last saw
    other = Station.open(village.folder, clock=village.clock)

    def the_other_instance_syncs_first() -> None:
        append_notes(other, 40)
        sync_once(other, transport)

    try:
        with Interleaved(county_server.url, the_other_instance_syncs_first) as racing:
            report = sync_once(village, racing)
    finally:
        other.close()
    assert racing.answers == [409, 200]  # stale, then its new head was already stored
    assert report.receipt is not None and report.receipt.size == village.ledger.size()
    invariants(village, county)


# ------------------------------------------------------------ tampered packages (400)


def _tampered(body: bytes, how: str) -> bytes:
    header, ciphertext = parse_package(body)
    if how == "ciphertext":
        at = len(ciphertext) // 2
        return package_bytes(header, ciphertext[:at] + bytes([ciphertext[at] ^ 0x10])
                             + ciphertext[at + 1:])
    changes: dict[str, Any] = {
        "range": {"start": header.start + 1, "end": header.end},
        "size": {"size": header.size + 1},
        "checkpoint": {"checkpoint": "0" * 64},
        "proof": {"proof": header.proof[:-1]},
    }[how]
    return package_bytes(dataclasses.replace(header, **changes), ciphertext)


@pytest.mark.parametrize("how", ["ciphertext", "range", "size", "checkpoint", "proof"])
def test_a_flipped_bit_or_an_altered_header_is_refused_and_nothing_stored(
        village: Station, county: County, transport: HttpTransport, how: str):
    append_notes(village, 600)
    note, start = commit_head(county, village)
    keys = require_enrollment(village).keys
    first, second = list(packages(village, start, note, keys, SMALL))[:2]
    assert transport.add_entries(village.info.origin, first[2])[0] == 202
    before = view(county, village)

    status, answer = transport.add_entries(village.info.origin, _tampered(second[2], how))
    assert (status, answer["error"]) == (400, "undecryptable")  # HPKE binds the header too
    assert view(county, village) == before
    assert evidence(county, village) == []  # garbage on the line is not evidence

    assert transport.add_entries(village.info.origin, second[2])[0] == 202  # a clean resend
    assert view(county, village).size == second[1]


def test_a_package_for_another_log_or_range_is_refused(
        village: Station, county: County, county_server: RunningServer,
        transport: HttpTransport, clock: ManualClock, tmp_path: Path):
    town = make_station(tmp_path / "town", TOWN, clock)
    enroll_station(town, county, county_server.url)
    try:
        append_notes(village, 10)
        note, start = commit_head(county, village)
        (_, _, body), = packages(village, start, note, require_enrollment(village).keys)
        header, ciphertext = parse_package(body)

        status, answer = transport.add_entries(town.info.origin, body)  # posted elsewhere
        assert (status, answer["error"]) == (400, "malformed")
        relabelled = package_bytes(dataclasses.replace(header, origin=town.info.origin),
                                   ciphertext)
        status, answer = transport.add_entries(town.info.origin, relabelled)
        assert (status, answer["error"]) == (400, "undecryptable")
        assert view(county, town).size == 0 and view(county, village).size == 0
    finally:
        town.close()


# ------------------------------------------------------------------ forged history (422)


@contextmanager
def raw_station_db(st: Station) -> Iterator[sqlite3.Connection]:
    """The station's SQLite file opened directly, as someone with the disk in hand would."""
    conn = sqlite3.connect(st.folder / "station.db", isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def rewrite_history(st: Station, idx: int) -> bytes:
    """Change entry ``idx`` in place and re-sign every checkpoint from there with the
    station's own key: the most a tamperer holding the PC (and its key) can do."""
    old = decode_entry(st.ledger.entry(idx) or b"")
    forged = dataclasses.replace(old, body={**old.body, "forged": True}).encode()
    entries = [e for _, e, _ in st.ledger.rows()]
    entries[idx] = forged
    origin, key = st.info.origin, note_key_id(st.info.origin, st.signer.public_key)
    frontier = Frontier()
    with raw_station_db(st) as conn:
        conn.execute("DROP TRIGGER ledger_no_update")
        conn.execute("DROP TRIGGER checkpoint_no_update")
        conn.execute("UPDATE ledger SET entry = ?, leaf_hash = ? WHERE idx = ?",
                     [forged, leaf_hash(forged), idx])
        for i, entry in enumerate(entries):
            frontier.append(leaf_hash(entry))
            if i >= idx:
                cp = Checkpoint(origin, i + 1, frontier.root())
                note = SignedCheckpoint(cp, origin, key, st.signer.sign(cp.body())).note()
                conn.execute("UPDATE checkpoint SET note = ?, peaks = ? WHERE size = ?",
                             [note, pack_peaks(frontier.peaks), i + 1])
    return forged


@pytest.mark.parametrize("appended", [0, 3])
def test_a_rewritten_history_is_refused_kept_as_evidence_and_never_cosigned(
        village: Station, county: County, transport: HttpTransport, appended: int):
    append_notes(village, 20)
    sync_once(village, transport)
    acked = acknowledged(village)
    rewrite_history(village, acked - 5)
    append_notes(village, appended)
    before = view(county, village)

    with pytest.raises(HistoryConflict):
        sync_once(village, transport)
    (kind, _, body), = evidence(county, village)
    assert kind == ("fork" if appended == 0 else "inconsistent")  # same size / no proof
    assert body.decode().endswith(village.ledger.head_note() or "-")  # the request, kept
    after = view(county, village)
    assert after == before and max(after.receipts) == acked  # nothing stored or cosigned


def test_other_content_for_stored_indices_is_fork_evidence(
        village: Station, county: County, transport: HttpTransport):
    append_notes(village, 20)
    sync_once(village, transport)
    size = acknowledged(village)
    note = village.ledger.head_note() or ""
    entries = [e for _, e, _ in village.ledger.rows(size - 10, size)]
    entries[3] = dataclasses.replace(decode_entry(entries[3]), body={"n": 999}).encode()
    kid, public = require_enrollment(village).keys.current_kem
    header = PackageHeader(origin=village.info.origin, kid=kid, suite=SUITE_ID,
                           start=size - 10, end=size, checkpoint=sha256_hex(note.encode()),
                           size=size, proof=())
    plain = pack_entries(entries, origin=village.info.origin, start=size - 10,
                         salt_key=village.salt_key)
    body = package_bytes(header, seal_to(public, compress(plain), header.info()))
    before = view(county, village)

    status, answer = transport.add_entries(village.info.origin, body)
    assert (status, answer["error"]) == (422, "fork")
    assert [(k, b) for k, _, b in evidence(county, village)] == [("fork", body)]
    assert view(county, village) == before


# --------------------------------------------------------------- unknown keys (403/400)


def test_a_station_the_county_does_not_know_is_refused(
        county: County, transport: HttpTransport, clock: ManualClock, tmp_path: Path):
    stranger = make_station(tmp_path / "stranger", TOWN, clock)
    try:
        origin = stranger.info.origin
        assert transport.status(origin) == (403, {"error": "unknown-station"})
        body = checkpoint_request(stranger, 0).encode()
        assert transport.add_checkpoint(origin, body, "x") == (403, {"error": "unknown-station"})
        with pytest.raises(NotEnrolled):
            sync_once(stranger, transport)
        with county.db.read() as tx:
            assert tx.station(origin) is None and tx.checkpoints(origin) == []
    finally:
        stranger.close()


def test_a_checkpoint_signed_by_another_key_is_refused(
        village: Station, county: County, transport: HttpTransport):
    impostor, _ = Signer.generate()
    origin = village.info.origin
    head = parse_note(village.ledger.head_note() or "").checkpoint
    forged = SignedCheckpoint(head, origin, note_key_id(origin, impostor.public_key),
                              impostor.sign(head.body())).note()
    status, answer = transport.add_checkpoint(origin, CheckpointRequest(0, (), forged).encode(),
                                              "x")
    assert (status, answer["error"]) == (400, "bad-signature")
    assert view(county, village).checkpoints == []


def test_a_revoked_station_is_refused_and_what_it_sends_is_quarantined(
        village: Station, county: County, transport: HttpTransport):
    sync_once(village, transport)
    county.revoke(village.info.code)
    append_notes(village, 3)
    with pytest.raises(SyncRefused):
        sync_once(village, transport)
    with county.db.read() as tx:
        assert [kind for _, _, kind, _, _ in tx.quarantined(village.info.origin)] == \
            ["checkpoint"]
    assert view(county, village).size == acknowledged(village) == village.ledger.size() - 3


# --------------------------------------------------------------- county KEM rotation


def test_a_kem_rotation_during_a_backlog_strands_nothing(
        village: Station, county: County, county_clock: ManualClock, transport: HttpTransport,
        tmp_path: Path):
    folder, root = tmp_path / "county", tmp_path / "county" / "keys" / ROOT_FILE
    old_kid = require_enrollment(village).keys.current_kem[0]
    append_notes(village, 600)

    def rotate_after_the_first_package(done: int, todo: int) -> None:
        if county.keys.version == 1:
            county.keys = rotate_kem(folder, root, iso(county_clock.now()))

    sync_once(village, transport, rotate_after_the_first_package)
    assert acknowledged(village) == village.ledger.size()  # the old kid, retired, still works
    assert require_enrollment(village).keys.version == 1 and old_kid in county.keys.retired

    append_notes(village, 300)
    county.keys = drop_kem(folder, root, old_kid, iso(county_clock.now()))
    assert county.add_entries(village.info.origin, next(packages(
        village, acknowledged(village), village.ledger.head_note() or "",
        require_enrollment(village).keys))[2]).body["error"] == "unknown-kid"
    report = sync_once(village, transport)  # unknown-kid → new key set → re-encrypted
    keys = require_enrollment(village).keys
    assert keys.version == 3 and old_kid not in keys.kems and report.sent_entries == 300
    assert load_online(folder).version == 3
    invariants(village, county)


# ------------------------------------------------------- two instances of one station


def test_two_instances_syncing_one_station_at_once_store_everything_once(
        village: Station, county: County, county_server: RunningServer):
    append_notes(village, 700)
    start = threading.Barrier(2)
    outcomes: list[Any] = []

    def instance() -> None:
        st = Station.open(village.folder, clock=village.clock)
        try:
            with HttpTransport(county_server.url) as transport:
                start.wait(10)
                outcomes.append(sync_once(st, transport).receipt)
        except Exception as exc:  # recorded and asserted below
            outcomes.append(exc)
        finally:
            st.close()

    threads = [threading.Thread(target=instance) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    size = village.ledger.size()
    assert [r.size if r else None for r in outcomes] == [size, size], outcomes
    assert outcomes[0].note() == outcomes[1].note()  # one receipt, given to both
    view_ = invariants(village, county)
    assert list(view_.receipts) == [size] and evidence(county, village) == []
    assert [r.size for r in village.sync_state.receipts()] == [size]


# ------------------------------------------------------------------ county disk full


class FullDisk(CountyDb):
    """The county database on a disk with no room left: ``PRAGMA max_page_count`` caps the
    file at its current size on every connection while ``full`` is set."""

    full = False

    @contextmanager
    def write(self) -> Iterator[Any]:
        conn = self._connect()
        conn.execute(f"PRAGMA max_page_count = {1 if self.full else 2**31}")
        with super().write() as tx:
            yield tx


def test_a_full_county_disk_answers_503_before_cosigning_and_a_later_sync_completes(
        village: Station, county: County, county_clock: ManualClock, tmp_path: Path):
    if county.db.postgres:
        pytest.skip("a full disk is simulated by capping SQLite's file; PostgreSQL's disk is "
                    "its server's")
    disk = FullDisk(str(tmp_path / "county" / "county.db"))
    server = serve(County(disk, county.keys, county_clock.now))
    try:
        with HttpTransport(server.url) as transport:
            sync_once(village, transport)
            acked = acknowledged(village)
            append_notes(village, 600)
            disk.full = True
            with pytest.raises(CountyUnreachable) as refused:
                sync_once(village, transport)
            assert "503" in str(refused.value)
            stuck = invariants(village, county)
            assert acknowledged(village) == acked and max(stuck.receipts) == acked

            disk.full = False
            report = sync_once(village, transport)
        assert report.receipt is not None and report.receipt.size == village.ledger.size()
        invariants(village, county)
    finally:
        server.stop()
        disk.close()


# ------------------------------------------------------------------ station clock skew


@pytest.mark.parametrize("skew", [timedelta(days=3), timedelta(days=-30)])
def test_a_station_clock_that_is_wrong_still_syncs_and_its_reading_is_kept(
        village: Station, county: County, clock: ManualClock, transport: HttpTransport,
        skew: timedelta):
    clock.advance(seconds=skew.total_seconds())
    append_notes(village, 10)
    reading = iso(clock.now())
    report = sync_once(village, transport)
    assert report.receipt is not None and report.receipt.size == village.ledger.size()
    with county.db.read() as tx:
        size, _, _, station_time = tx.checkpoints(village.info.origin)[-1]
    assert (size, station_time) == (village.ledger.size(), reading)
    invariants(village, county)


def test_a_station_clock_jumping_back_mid_sync_changes_nothing_but_the_readings(
        village: Station, county: County, clock: ManualClock, transport: HttpTransport):
    append_notes(village, 600)
    before_jump = iso(clock.now())

    def jump_back(done: int, todo: int) -> None:
        clock.advance(hours=-36)

    report = sync_once(village, transport, jump_back)
    assert report.receipt is not None and report.receipt.size == village.ledger.size()
    (stored,) = village.sync_state.receipts()
    assert stored.received_at == iso(clock.now()) < before_jump  # what the station's clock said
    with county.db.read() as tx:
        assert tx.checkpoints(village.info.origin)[-1][3] == before_jump
    invariants(village, county)


def test_rotating_with_another_countys_root_is_refused_and_changes_nothing(
        county: County, county_clock: ManualClock, tmp_path: Path):
    folder = tmp_path / "county"
    init_keys(tmp_path / "other", "county/330200", iso(county_clock.now()))
    before = (folder / "keys" / ONLINE_FILE).read_bytes()

    with pytest.raises(KeyFileError, match="not this county's root key"):
        rotate_kem(folder, tmp_path / "other" / "keys" / ROOT_FILE, iso(county_clock.now()))
    assert (folder / "keys" / ONLINE_FILE).read_bytes() == before
