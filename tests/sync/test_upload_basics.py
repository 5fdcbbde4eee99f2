"""A station's log reaches the county over real HTTP, once, and comes back as a receipt."""

from __future__ import annotations

from station_app.crypto import signature_checker
from station_app.domain.verify import verify_log
from station_app.services.station import Station
from sync.client import HttpTransport
from sync.county.service import County
from sync.station import acknowledged, sync_once


def append_notes(st: Station, n: int) -> None:
    with st.transaction() as tx:
        for i in range(n):
            tx.append("test.note", {"n": i})


def test_first_sync_uploads_the_whole_log_and_stores_the_receipt(
        village: Station, county: County, transport: HttpTransport):
    size = village.ledger.size()
    report = sync_once(village, transport)

    assert report.sent_entries == size and report.receipt is not None
    assert report.receipt.size == size == acknowledged(village)
    with county.db.read() as tx:
        stored = tx.entries(village.info.origin)
        station = tx.station(village.info.origin)
    assert [e for _, e, _ in stored] == [e for _, e, _ in village.ledger.rows()]
    assert station is not None and station.size == station.receipt_size == size
    # The county's copy verifies with the same verifier the station uses.
    report_at_county = verify_log(
        stored, lambda: [(size, village.ledger.head_note(), b"")],
        origin=village.info.origin, public_key=village.signer.public_key,
        check_signature=signature_checker(village.signer.public_key))
    assert report_at_county.ok and report_at_county.entries == size


def test_syncing_again_sends_nothing_and_gets_the_same_receipt(
        village: Station, transport: HttpTransport):
    first = sync_once(village, transport)
    again = sync_once(village, transport)
    assert again.sent_entries == 0 and again.receipt is not None and first.receipt is not None
    assert again.receipt.note() == first.receipt.note()


def test_new_entries_carry_the_newest_receipt_as_their_beacon(
        village: Station, transport: HttpTransport):
    receipt = sync_once(village, transport).receipt
    assert receipt is not None
    append_notes(village, 3)
    newest = list(village.entries())[-1]
    assert newest.beacon is not None and newest.beacon.size == receipt.size
    assert newest.beacon.digest == receipt.digest()

    report = sync_once(village, transport)
    assert report.sent_entries == 3 and acknowledged(village) == village.ledger.size()
