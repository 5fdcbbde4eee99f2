"""The sync invariants (research notes sync_crypto.md §4), checked over the station's and the
county's real databases after a run with faults.

* I1 every entry the station holds a receipt for is in the county database, byte-identical;
* I2 no index is stored twice and the county's entries are exactly a prefix of the
  station's log (no other content for any index: forks are evidence, never stored);
* I3 every county checkpoint (and its stored tree) equals the station's tree at that size;
* I4 the station's acknowledged cursor never passes what the county persisted;
* I5 ``PRAGMA integrity_check`` is ok on both sides, and the station's log is gapless;
* I6 every receipt on either side verifies (county cosigner, ``cosignature/v1``, the
  station's own note at that size), and both sides hold the same bytes for a size;
* I7 once the faults stop, one ordinary sync acknowledges the whole log (bounded attempts).

Each checker raises ``AssertionError`` naming the invariant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from station_app.crypto import signature_checker
from station_app.domain.log import parse_note
from station_app.domain.merkle import EMPTY_ROOT, Frontier, unpack_peaks
from station_app.errors import CountyUnreachable
from station_app.services.station import Station
from sync.county.store import CountyDb
from sync.protocol import CountyKeys, parse_receipt
from sync.station import Transport, acknowledged, sync_once


@dataclass(frozen=True)
class CountyView:
    """What the county's database holds for one station's log."""

    size: int
    peaks: bytes
    committed: tuple[int, bytes]
    receipt_size: int
    entries: list[tuple[int, bytes, bytes]]
    checkpoints: list[tuple[int, bytes]]  # (size, root)
    receipts: dict[int, str]
    integrity: str

    @classmethod
    def read(cls, db: CountyDb, origin: str) -> CountyView:
        with db.read() as tx:
            st = tx.station(origin)
            assert st is not None, f"the county does not know {origin}"
            return cls(st.size, st.peaks, (st.committed_size, st.committed_root),
                       st.receipt_size, tx.entries(origin),
                       [(r[0], r[1]) for r in tx.all(
                           "SELECT size, root FROM checkpoint WHERE origin = ? ORDER BY size",
                           [origin])],
                       dict(tx.all("SELECT size, note FROM receipt WHERE origin = ?", [origin])),
                       _integrity(tx))


def _integrity(tx: Any) -> str:
    """SQLite's own check; PostgreSQL has none to ask (its pages are checksummed and a
    corrupt one fails the read above), so "ok" once the reads succeeded."""
    if tx.postgres:
        return "ok"
    return str(tx.one("PRAGMA integrity_check")[0])


def station_root(station: Station, size: int) -> bytes:
    if size == 0:
        return EMPTY_ROOT
    row = station.db.execute("SELECT note FROM checkpoint WHERE size = ?", [size]).fetchone()
    assert row is not None, f"the station has no checkpoint at size {size}"
    return parse_note(row[0]).checkpoint.root


def i1_acknowledged_entries_are_stored(station: Station, county: CountyView) -> None:
    acked = acknowledged(station)
    ours = [e for _, e, _ in station.ledger.rows(0, acked)]
    theirs = [e for idx, e, _ in county.entries if idx < acked]
    assert theirs == ours, f"I1: entries below the acknowledged size {acked} differ or are lost"


def i2_each_index_once_and_a_prefix(station: Station, county: CountyView) -> None:
    indices = [idx for idx, _, _ in county.entries]
    assert indices == list(range(county.size)), "I2: county indices are not 0…size-1 once each"
    ours = [(idx, e, h) for idx, e, h in station.ledger.rows(0, county.size)]
    assert [(i, bytes(e), bytes(h)) for i, e, h in ours] == county.entries, \
        "I2: the county stores other content than the station's log"


def i3_county_tree_matches_the_station(station: Station, county: CountyView) -> None:
    size, root = county.committed
    assert root == station_root(station, size), f"I3: committed root at {size} differs"
    for cp_size, cp_root in county.checkpoints:
        assert cp_root == station_root(station, cp_size), f"I3: checkpoint {cp_size} differs"
    stored = Frontier(county.size, unpack_peaks(county.peaks) if county.peaks else [])
    assert stored.root() == station_root(station, county.size), "I3: stored tree differs"


def i4_cursor_never_passes_the_county(station: Station, county: CountyView) -> None:
    acked = acknowledged(station)
    assert acked <= county.size and acked <= county.receipt_size, \
        f"I4: station acknowledged {acked}, county stored {county.size}"


def i5_integrity_and_gapless_log(station: Station, county: CountyView) -> None:
    assert county.integrity == "ok", f"I5: county database: {county.integrity}"
    check = station.db.execute("PRAGMA integrity_check").fetchone()[0]
    assert check == "ok", f"I5: station database: {check}"
    size = station.ledger.size()
    indices = [idx for idx, _, _ in station.ledger.rows()]
    assert indices == list(range(size)), "I5: the station's log has a gap"


def i6_receipts_verify(station: Station, county: CountyView, keys: CountyKeys) -> None:
    ours = {r.size: r.note for r in station.sync_state.receipts()}
    for size, note in [*ours.items(), *county.receipts.items()]:
        receipt = parse_receipt(note)
        assert receipt.county == keys.county and any(
            receipt.verify(pub, signature_checker(pub)) for pub in keys.cosigners.values()), \
            f"I6: receipt {size} is not the county's"
        mine = station.db.execute("SELECT note FROM checkpoint WHERE size = ?",
                                  [size]).fetchone()
        assert mine is not None and receipt.signed.note() == mine[0], \
            f"I6: receipt {size} cosigns another note"
    for size, note in ours.items():
        assert county.receipts.get(size) == note, f"I6: the two sides differ on receipt {size}"


def check_invariants(station: Station, db: CountyDb, keys: CountyKeys) -> CountyView:
    """I1–I6 over both databases; returns what the county holds."""
    county = CountyView.read(db, station.info.origin)
    i1_acknowledged_entries_are_stored(station, county)
    i2_each_index_once_and_a_prefix(station, county)
    i3_county_tree_matches_the_station(station, county)
    i4_cursor_never_passes_the_county(station, county)
    i5_integrity_and_gapless_log(station, county)
    i6_receipts_verify(station, county, keys)
    return county


def i7_sync_completes(station: Station, transport: Transport, *, attempts: int = 3) -> None:
    """Liveness once the faults stop: an ordinary sync acknowledges the whole log.

    A connection a fault left half-open may fail once more (the client then opens a new
    one), hence a few attempts; the bound is a count, not a time.
    """
    for _ in range(attempts):
        try:
            sync_once(station, transport)
        except CountyUnreachable:
            continue
        break
    assert acknowledged(station) == station.ledger.size(), \
        f"I7: acknowledged {acknowledged(station)} of {station.ledger.size()}"
