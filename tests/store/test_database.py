"""The database file: its format marker, its version, append-only guards, a full disk."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from station_app.domain.people import PersonDetails
from station_app.errors import DataFolderCorrupt, DataFolderVersion, DiskFull
from station_app.services.cases import CaseRequest, add_case
from station_app.services.ledger import verify_folder
from station_app.services.station import Station
from station_app.store.db import open_database


def test_a_sqlite_file_of_another_program_is_refused(tmp_path: Path):
    other = sqlite3.connect(tmp_path / "station.db")
    other.execute("CREATE TABLE notes (t TEXT)")
    other.commit()
    other.close()
    with pytest.raises(DataFolderVersion) as caught:
        open_database(tmp_path)
    assert "其他版本" in caught.value.text


def test_a_folder_written_by_a_newer_version_is_refused(station: Station):
    station.db.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
                       " VALUES ('station', 'm999_from_the_future', '2030-01-01')")
    station.close()
    with pytest.raises(DataFolderVersion) as caught:
        Station.open(station.folder)
    assert "m999_from_the_future" in caught.value.text


def test_a_file_that_is_not_a_database_is_reported_as_damaged(tmp_path: Path):
    (tmp_path / "station.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DataFolderCorrupt):
        open_database(tmp_path)


@pytest.mark.parametrize("table", ["ledger", "checkpoint"])
@pytest.mark.parametrize("statement", ["UPDATE {t} SET rowid = rowid", "DELETE FROM {t}"])
def test_history_cannot_be_updated_or_deleted(station: Station, table: str, statement: str):
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        station.db.execute(statement.format(t=table))


def test_a_full_disk_refuses_the_entry_and_keeps_the_ledger_intact(
    station: Station, applicant: PersonDetails
):
    pages = station.db.execute("PRAGMA page_count").fetchone()[0]
    station.db.execute(f"PRAGMA max_page_count = {pages}")
    size = station.ledger.size()
    with pytest.raises(DiskFull) as caught:
        for _ in range(50):
            add_case(station, CaseRequest(item="LOCAL-MZ-004", applicant=applicant))
    assert "磁盘空间不足" in caught.value.text
    assert station.ledger.size() >= size
    station.close()
    assert verify_folder(station.folder).ok
