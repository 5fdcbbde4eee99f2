"""Creating and opening a station's data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from station_app.errors import DataFolderCorrupt, DataFolderMissing, InvalidInput, StationExists
from station_app.services.calendar_seed import covered_years
from station_app.services.clock import ManualClock
from station_app.services.station import Station, StationSetup, create_station
from station_app.store.keyfile import StationKeys, read_keys, write_keys
from tests.conftest import TOWN


def test_a_new_station_starts_its_log_with_itself_and_the_holiday_table(station: Station):
    first = next(station.entries())
    assert first.kind == "station.created"
    assert first.idx == 0
    assert first.body["code"] == "330199101000"
    assert station.info.origin.startswith("vss/330199101000/")
    # one calendar.year_set per bundled year, then the catalog import
    kinds = [e.kind for e in station.entries()]
    assert kinds.count("calendar.year_set") == len(covered_years())
    assert station.projector.calendar().knows(2025)


def test_reopening_gives_the_same_station(station: Station, clock: ManualClock):
    folder, info = station.folder, station.info
    station.close()
    with Station.open(folder, clock=clock) as again:
        assert again.info == info
        assert again.ledger.size() > 0


def test_a_folder_without_a_station_is_refused(tmp_path: Path):
    with pytest.raises(DataFolderMissing) as caught:
        Station.open(tmp_path / "nowhere")
    assert "station init" in caught.value.text


def test_initialising_twice_is_refused_and_changes_nothing(station: Station, clock: ManualClock):
    size = station.ledger.size()
    with pytest.raises(StationExists) as caught:
        create_station(station.folder, TOWN, clock=clock)
    assert caught.value.params["name"] == "青石镇便民服务中心"
    assert station.ledger.size() == size


@pytest.mark.parametrize(("field", "value"), [
    ("code", "33-01"), ("region", "浙江"), ("level", "county"), ("name", "  "),
])
def test_bad_setup_is_refused_before_anything_is_written(tmp_path: Path, field: str, value: str):
    setup = StationSetup(
        name=value if field == "name" else TOWN.name,
        code=value if field == "code" else TOWN.code,
        region=value if field == "region" else TOWN.region,
        level=value if field == "level" else TOWN.level)
    folder = tmp_path / "new"
    with pytest.raises(InvalidInput) as caught:
        create_station(folder, setup)
    assert caught.value.field == field
    assert not folder.exists()


def test_a_key_file_from_another_station_is_detected(station: Station, tmp_path: Path):
    other = create_station(tmp_path / "other", TOWN)
    other.close()
    station.close()
    write_keys(station.folder, read_keys(tmp_path / "other"))
    with pytest.raises(DataFolderCorrupt) as caught:
        Station.open(station.folder)
    assert "密钥" in caught.value.text


def test_a_failed_transaction_leaves_no_trace(station: Station):
    size = station.ledger.size()
    with pytest.raises(RuntimeError), station.transaction() as tx:
        tx.append("case.visit.note", {"note": "will be rolled back"})
        raise RuntimeError("interrupted")
    assert station.ledger.size() == size
    assert isinstance(read_keys(station.folder), StationKeys)
