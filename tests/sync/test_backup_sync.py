"""A station restored from its backup keeps syncing with the real county (issue 8).

The PC is backed up right after a sync, then works on and dies before the next one: what
it wrote after the backup is lost. The copy restored on a new PC continues from where the
county last acknowledged; the county ends with every entry of the restored log exactly
once, the same tree, and none of the lost ones.
"""

from __future__ import annotations

from pathlib import Path

from station_app.domain.people import validate_person
from station_app.services.backup import backup_station, restore_backup
from station_app.services.cases import CaseRequest, add_case
from station_app.services.clock import ManualClock
from station_app.services.station import Station
from sync.client import HttpTransport
from sync.county.service import County
from sync.station import acknowledged, require_enrollment, sync_once
from tests.sync.invariants import check_invariants, station_root

PASS = "东坑村 2025 备份口令"
VILLAGER = validate_person(name="李四", cert_no="11010519491231002X", phone="13812341234",
                           address="东坑村3组")


def receive_cases(st: Station, n: int) -> None:
    for _ in range(n):
        add_case(st, CaseRequest(item="LOCAL-MZ-004", applicant=VILLAGER))


def test_a_restored_station_continues_syncing_without_duplicates(
        village: Station, county: County, transport: HttpTransport, clock: ManualClock,
        tmp_path: Path):
    receive_cases(village, 3)
    sync_once(village, transport)
    synced = village.ledger.size()
    assert acknowledged(village) == synced

    usb = tmp_path / "usb"
    usb.mkdir()
    backup = backup_station(village, usb, PASS)
    assert backup.entries == synced

    receive_cases(village, 2)  # written after the backup, never synced: lost with the PC
    lost = [bytes(e) for _, e, _ in village.ledger.rows(synced)]
    village.close()

    restored = restore_backup(backup.path, tmp_path / "new-pc", PASS)
    assert (restored.entries, restored.receipt_size) == (synced, synced)

    with Station.open(tmp_path / "new-pc", clock=clock, actor="clerk-li") as copy:
        assert acknowledged(copy) == synced and require_enrollment(copy).server
        clock.advance(minutes=30)
        receive_cases(copy, 4)
        report = sync_once(copy, transport)
        assert report.sent_entries == copy.ledger.size() - synced
        assert acknowledged(copy) == copy.ledger.size()
        view = check_invariants(copy, county.db, require_enrollment(copy).keys)
        # every entry once, the county's tree is the restored station's tree …
        assert [idx for idx, _, _ in view.entries] == list(range(copy.ledger.size()))
        assert view.committed == (copy.ledger.size(), station_root(copy, copy.ledger.size()))
        # … and nothing the old PC wrote after the backup ever reached the county
        assert not set(lost) & {bytes(e) for _, e, _ in view.entries}
        again = sync_once(copy, transport)
        assert again.sent_entries == 0
