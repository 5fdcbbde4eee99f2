"""Sync on a USB stick: the station exports, the county imports and replies, the station
takes the reply. The same service calls as HTTP, so the same guarantees: exactly once,
repeatable, and a damaged or foreign file stores nothing."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from station_app.domain.clock import iso
from station_app.errors import (
    CountyStationUnknown,
    NotEnrolled,
    SyncFileInvalid,
    SyncRefused,
)
from station_app.services.clock import ManualClock
from station_app.services.station import Station
from sync import usb
from sync.client import HttpTransport
from sync.county import usb as county_usb
from sync.county.keys import ROOT_FILE, init_keys, rotate_kem
from sync.county.service import County
from sync.county.store import CountyDb
from sync.protocol import REC_KEYSET, REC_ORIGIN, bundle_bytes, parse_bundle
from sync.station import (
    acknowledged,
    checkpoint_request,
    packages,
    require_enrollment,
    sync_once,
)
from tests.sync.cli_helpers import county as county_cli
from tests.sync.cli_helpers import county_serving, init_county, init_station, ok_json
from tests.sync.cli_helpers import station as station_cli
from tests.sync.conftest import (
    COUNTY_NAME,
    SMALL,
    TOWN,
    RunningServer,
    enroll_station,
    make_station,
    serve,
)


def append_notes(st: Station, n: int) -> None:
    with st.transaction() as tx:
        for i in range(n):
            tx.append("test.note", {"n": i})


def county_state(county: County, origin: str) -> dict[str, Any]:
    """Everything the county keeps about one station, minus when it last saw it."""
    with county.db.read() as tx:
        row = tx.station(origin)
        return {"station": row and dataclasses.replace(row, last_seen=None),
                "entries": tx.entries(origin), "checkpoints": tx.checkpoints(origin),
                "receipt": row and tx.receipt(origin, row.receipt_size),
                "evidence": tx.evidence(), "quarantine": tx.quarantined()}


def station_state(st: Station) -> dict[str, Any]:
    return {"receipts": st.sync_state.receipts(), "keyset": st.sync_state.get("keyset"),
            "size": st.ledger.size()}


def round_trip(st: Station, county: County, folder: Path) -> dict[str, Any]:
    usb.export_bundle(st, folder / "up.vsb")
    reply = county_usb.import_bundle(county, (folder / "up.vsb").read_bytes())
    (folder / "reply.vsb").write_bytes(reply)
    return usb.import_bundle(st, folder / "reply.vsb")


def test_a_round_trip_acknowledges_the_whole_log(village: Station, county: County,
                                                 tmp_path: Path):
    append_notes(village, 5)
    exported = usb.export_bundle(village, tmp_path / "up.vsb")
    reply = county_usb.import_bundle(county, (tmp_path / "up.vsb").read_bytes())
    (tmp_path / "reply.vsb").write_bytes(reply)
    applied = usb.import_bundle(village, tmp_path / "reply.vsb")

    size = village.ledger.size()
    assert exported["entries"] == size and exported["acknowledged"] == 0
    assert applied["receipt_size"] == applied["acknowledged"] == size == acknowledged(village)
    stored = county_state(county, village.info.origin)
    assert [e for _, e, _ in stored["entries"]] == [e for _, e, _ in village.ledger.rows()]
    assert stored["station"].receipt_size == size
    assert village.sync_state.latest_receipt().note == stored["receipt"]
    # The station's clock reading travelled with the checkpoint, as X-Station-Time does.
    assert stored["checkpoints"][-1][3] == iso(village.clock.now())


def test_importing_the_same_bundles_twice_changes_nothing(village: Station, county: County,
                                                         tmp_path: Path):
    round_trip(village, county, tmp_path)
    county_before, station_before = county_state(county, village.info.origin), \
        station_state(village)

    reply = county_usb.import_bundle(county, (tmp_path / "up.vsb").read_bytes())
    again = usb.import_bundle(village, tmp_path / "reply.vsb")

    assert county_state(county, village.info.origin) == county_before
    assert station_state(village) == station_before
    assert reply == (tmp_path / "reply.vsb").read_bytes()  # the same receipt, byte for byte
    assert again["receipt_size"] == village.ledger.size()


def test_a_bundle_whose_entries_already_arrived_online_stores_nothing_new(
        village: Station, county: County, transport: HttpTransport, tmp_path: Path):
    append_notes(village, 3)
    usb.export_bundle(village, tmp_path / "up.vsb")
    online = sync_once(village, transport).receipt
    before = county_state(county, village.info.origin)

    reply = county_usb.import_bundle(county, (tmp_path / "up.vsb").read_bytes())

    assert county_state(county, village.info.origin) == before
    assert online is not None
    assert county_usb.reply_summary(reply)["receipt_size"] == online.size
    assert before["receipt"] == online.note()


def test_a_bundle_overtaken_by_a_later_online_sync_is_answered_with_the_newer_receipt(
        village: Station, county: County, transport: HttpTransport, tmp_path: Path):
    usb.export_bundle(village, tmp_path / "up.vsb")
    append_notes(village, 3)
    online = sync_once(village, transport).receipt
    before = county_state(county, village.info.origin), station_state(village)
    assert online is not None

    (tmp_path / "reply.vsb").write_bytes(
        county_usb.import_bundle(county, (tmp_path / "up.vsb").read_bytes()))
    applied = usb.import_bundle(village, tmp_path / "reply.vsb")

    assert applied["receipt_size"] == online.size == village.ledger.size()
    assert (county_state(county, village.info.origin), station_state(village)) == before


def test_the_county_continues_from_where_an_interrupted_online_sync_stopped(
        village: Station, county: County, tmp_path: Path):
    append_notes(village, 400)  # two packages
    origin, keys = village.info.origin, require_enrollment(village).keys
    request = checkpoint_request(village, 0)
    with village.transaction():
        village.ledger.mark_used(request.signed.checkpoint.size, "sync", iso(village.clock.now()))
    assert county.add_checkpoint(origin, request.encode()).status == 202
    first = next(packages(village, 0, request.note, keys, SMALL))
    assert county.add_entries(origin, first[2]).status == 202  # …and then the link dropped
    append_notes(village, 10)

    applied = round_trip(village, county, tmp_path)

    assert applied["acknowledged"] == village.ledger.size()
    assert county_state(county, village.info.origin)["station"].size == village.ledger.size()


def test_a_receipt_lost_on_the_way_back_does_not_strand_the_next_bundle(
        village: Station, county: County, tmp_path: Path):
    """The county committed and stored size N but the answer never arrived; the station has
    written more since. The bundle carries the cutting from N as well as from its last
    receipt, so the county picks up from its own cursor."""
    append_notes(village, 300)
    origin, keys = village.info.origin, require_enrollment(village).keys
    request = checkpoint_request(village, 0)
    with village.transaction():
        village.ledger.mark_used(request.signed.checkpoint.size, "sync", iso(village.clock.now()))
    county.add_checkpoint(origin, request.encode())
    answers = [county.add_entries(origin, body).status
               for _, _, body in packages(village, 0, request.note, keys, SMALL)]
    assert answers[-1] == 200 and acknowledged(village) == 0  # stored, receipt lost
    append_notes(village, 300)

    applied = round_trip(village, county, tmp_path)

    assert applied["acknowledged"] == village.ledger.size()
    assert county_state(county, origin)["evidence"] == []


@pytest.mark.parametrize("where", ["magic", "header", "middle", "last"])
def test_a_damaged_bundle_is_refused_before_anything_is_stored(
        village: Station, county: County, tmp_path: Path, where: str):
    usb.export_bundle(village, tmp_path / "up.vsb")
    data = bytearray((tmp_path / "up.vsb").read_bytes())
    at = {"magic": 1, "header": 6, "middle": len(data) // 2, "last": len(data) - 1}[where]
    data[at] ^= 0x01
    before = county_state(county, village.info.origin)

    with pytest.raises(SyncFileInvalid):
        county_usb.import_bundle(county, bytes(data), name="up.vsb")
    assert county_state(county, village.info.origin) == before


@pytest.mark.parametrize("keep", [0.5, 0.99])
def test_a_truncated_bundle_is_refused(village: Station, county: County, tmp_path: Path,
                                       keep: float):
    usb.export_bundle(village, tmp_path / "up.vsb")
    data = (tmp_path / "up.vsb").read_bytes()
    before = county_state(county, village.info.origin)
    with pytest.raises(SyncFileInvalid):
        county_usb.import_bundle(county, data[:int(len(data) * keep)])
    assert county_state(county, village.info.origin) == before


def test_a_damaged_reply_writes_nothing_at_the_station(village: Station, county: County,
                                                      tmp_path: Path):
    usb.export_bundle(village, tmp_path / "up.vsb")
    reply = bytearray(county_usb.import_bundle(county, (tmp_path / "up.vsb").read_bytes()))
    reply[len(reply) // 3] ^= 0x40
    (tmp_path / "reply.vsb").write_bytes(bytes(reply))
    before = station_state(village)

    with pytest.raises(SyncFileInvalid):
        usb.import_bundle(village, tmp_path / "reply.vsb")
    assert station_state(village) == before and acknowledged(village) == 0


def test_files_go_the_right_way_round(village: Station, county: County, tmp_path: Path):
    usb.export_bundle(village, tmp_path / "up.vsb")
    (tmp_path / "reply.vsb").write_bytes(
        county_usb.import_bundle(county, (tmp_path / "up.vsb").read_bytes()))

    with pytest.raises(SyncFileInvalid, match="本站导出的文件应交给县级导入"):
        usb.import_bundle(village, tmp_path / "up.vsb")
    with pytest.raises(SyncFileInvalid, match="站点导出的上传文件"):
        county_usb.import_bundle(county, (tmp_path / "reply.vsb").read_bytes())
    with pytest.raises(SyncFileInvalid, match="文件不存在"):
        usb.import_bundle(village, tmp_path / "missing.vsb")


def test_a_reply_for_another_station_is_refused(village: Station, county: County,
                                                county_server: RunningServer,
                                                clock: ManualClock, tmp_path: Path):
    town = make_station(tmp_path / "town", TOWN, clock)
    enroll_station(town, county, county_server.url)
    usb.export_bundle(town, tmp_path / "town.vsb")
    (tmp_path / "town-reply.vsb").write_bytes(
        county_usb.import_bundle(county, (tmp_path / "town.vsb").read_bytes()))
    before = station_state(village)

    with pytest.raises(SyncFileInvalid, match="另一个站点"):
        usb.import_bundle(village, tmp_path / "town-reply.vsb")
    assert station_state(village) == before
    town.close()


def test_a_bundle_from_a_station_enrolled_elsewhere_is_refused(
        county: County, clock: ManualClock, county_clock: ManualClock, tmp_path: Path):
    _, keys = init_keys(tmp_path / "other", "county/330100", iso(county_clock.now()))
    other = County(CountyDb(str(tmp_path / "other" / "county.db")), keys, county_clock.now)
    server = serve(other)
    try:
        town = make_station(tmp_path / "town", TOWN, clock)
        enroll_station(town, other, server.url)
        usb.export_bundle(town, tmp_path / "town.vsb")
    finally:
        server.stop()
        other.db.close()

    with pytest.raises(CountyStationUnknown):
        county_usb.import_bundle(county, (tmp_path / "town.vsb").read_bytes())
    assert county_state(county, town.info.origin)["checkpoints"] == []
    town.close()


def test_a_revoked_station_bundle_is_refused_and_quarantined(
        village: Station, county: County, tmp_path: Path):
    round_trip(village, county, tmp_path)
    county.revoke(village.info.code, "设备丢失")
    append_notes(village, 2)
    usb.export_bundle(village, tmp_path / "late.vsb")

    with pytest.raises(SyncRefused, match="吊销"):
        county_usb.import_bundle(county, (tmp_path / "late.vsb").read_bytes())
    state = county_state(county, village.info.origin)
    assert state["station"].size == state["station"].receipt_size < village.ledger.size()
    assert [q[2] for q in state["quarantine"]] == ["checkpoint"]


def test_an_unenrolled_station_cannot_export(station: Station, tmp_path: Path):
    with pytest.raises(NotEnrolled):
        usb.export_bundle(station, tmp_path / "up.vsb")
    assert not (tmp_path / "up.vsb").exists()


def test_the_reply_carries_a_rotated_key_set_to_the_station(
        village: Station, county: County, tmp_path: Path):
    folder = tmp_path / "county"
    rotated = rotate_kem(folder, folder / "keys" / ROOT_FILE, iso(county.now()))
    county = County(county.db, rotated, county.now)  # the server restarted with the new keys

    (tmp_path / "news.vsb").write_bytes(county_usb.export_bundle(county, village.info.code))
    applied = usb.import_bundle(village, tmp_path / "news.vsb")

    assert applied["keyset_updated"] and applied["keyset_version"] == 2
    assert require_enrollment(village).keys.current_kem[0] == next(iter(rotated.kem_seeds))
    assert round_trip(village, county, tmp_path)["acknowledged"] == village.ledger.size()


def test_a_key_set_not_signed_by_the_pinned_root_is_refused(
        village: Station, county: County, county_clock: ManualClock, tmp_path: Path):
    _, forged = init_keys(tmp_path / "forger", COUNTY_NAME, iso(county_clock.now()))
    news = county_usb.export_bundle(county, village.info.code)
    records = [(kind, body) for kind, body in parse_bundle(news) if kind != REC_KEYSET]
    records.append((REC_KEYSET, json.dumps(forged.keyset).encode()))
    (tmp_path / "forged.vsb").write_bytes(bundle_bytes(records))
    before = station_state(village)

    with pytest.raises(SyncFileInvalid, match="根密钥"):
        usb.import_bundle(village, tmp_path / "forged.vsb")
    assert station_state(village) == before


def test_publications_travel_in_the_reply(village: Station, county: County, tmp_path: Path):
    county.publish_revocations()
    news = county_usb.export_bundle(county, village.info.code)
    assert county_usb.reply_summary(news)["publications"] == 1
    (tmp_path / "news.vsb").write_bytes(news)

    applied = usb.import_bundle(village, tmp_path / "news.vsb")
    again = usb.import_bundle(village, tmp_path / "news.vsb")

    assert [(p["collection"], p["version"], p["outcome"]) for p in applied["publications"]] \
        == [("revocations", 1, "applied")]
    assert village.sync_state.publication_version("revocations") == 1
    assert [p["outcome"] for p in again["publications"]] == ["already"]


def test_the_origin_record_names_the_station(village: Station, tmp_path: Path):
    usb.export_bundle(village, tmp_path / "up.vsb")
    records = parse_bundle((tmp_path / "up.vsb").read_bytes())
    assert records[0] == (REC_ORIGIN, village.info.origin.encode())


# ------------------------------------------------------------------ command lines


def test_the_usb_story_through_both_command_lines(tmp_path: Path):
    data, village = tmp_path / "county", tmp_path / "village"
    init_county(data)
    init_station(village)
    ticket = ok_json(county_cli(data, "enroll", "--station", "330199101201", "--json"))
    with county_serving(data) as url:  # enrollment is online; the rest goes by USB
        ok_json(station_cli(village, "enroll", "--server", url, "--code", ticket["code"],
                            "--json"))
    stick = tmp_path / "stick"

    exported = ok_json(station_cli(village, "sync", "export", stick / "up.vsb", "--json"))
    imported = ok_json(county_cli(data, "import", stick / "up.vsb", "--json"))
    applied = ok_json(station_cli(village, "sync", "import", imported["reply"], "--json"))
    status = ok_json(station_cli(village, "sync", "status", "--json"))

    assert Path(imported["reply"]) == stick / "up.reply.vsb"
    assert exported["entries"] == exported["size"] == imported["receipt_size"]
    assert imported["stored"] == exported["size"]
    assert applied["acknowledged"] == status["acknowledged"] == status["size"]
    assert status["last_receipt"]["size"] == exported["size"]

    first_reply = (stick / "up.reply.vsb").read_bytes()
    twice = ok_json(county_cli(data, "import", stick / "up.vsb", "--reply",
                               stick / "again.vsb", "--json"))
    assert twice["receipt_size"] == imported["receipt_size"]
    assert (stick / "again.vsb").read_bytes() == first_reply
    rows = ok_json(county_cli(data, "status", "--json"))
    assert rows[0]["size"] == rows[0]["receipt_size"] == exported["size"]

    damaged = bytearray((stick / "up.vsb").read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    (stick / "damaged.vsb").write_bytes(bytes(damaged))
    refused = county_cli(data, "import", stick / "damaged.vsb")
    assert refused.returncode == 1 and "SYNC_FILE_INVALID" in refused.stderr
    assert not (stick / "damaged.reply.vsb").exists()
