"""Upgrading the county and station folders of release 0.1.0, then syncing again.

The county folder is upgraded by opening it (as ``county serve`` does), the station's by
opening it; the new county server must take the upgraded station's next sync as the
continuation of the log it already holds: same root, no entry stored twice.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from station_app.domain.versions import APP_VERSION
from station_app.errors import CountyDatabaseNewer
from station_app.services.ledger import verify_folder
from station_app.services.station import Station
from sync.client import HttpTransport
from sync.county import store as county_store
from sync.county.folder import open_county
from sync.county.service import County
from sync.county.store import MIGRATIONS, UPGRADE_BACKUPS, CountyDb
from sync.session import run_sync
from sync.station import acknowledged
from tests.fixtures.release import ENTRIES_0_1_0, SYNCED_0_1_0, ReleaseFolders, snapshot, unpack
from tests.sync.cli_helpers import county as county_cli
from tests.sync.conftest import serve

NEWEST = MIGRATIONS[-1][0]


@pytest.fixture
def release(tmp_path: Path) -> ReleaseFolders:
    return unpack(tmp_path / "release")


def county_meta(db: Path) -> dict[str, str]:
    conn = sqlite3.connect(db)  # read-write: a read-only last reader would leave -wal/-shm
    try:
        return dict(conn.execute("SELECT key, value FROM meta").fetchall())
    finally:
        conn.close()


def stored(db: Path, origin: str) -> tuple[int, int, bytes]:
    conn = sqlite3.connect(db)
    try:
        count, distinct = conn.execute("SELECT COUNT(*), COUNT(DISTINCT idx) FROM entry "
                                       "WHERE origin = ?", [origin]).fetchone()
        root = conn.execute("SELECT committed_root FROM station WHERE origin = ?",
                            [origin]).fetchone()[0]
        return count, distinct, root
    finally:
        conn.close()


def test_the_upgraded_county_takes_the_upgraded_stations_next_sync(release: ReleaseFolders):
    county_db = release.county / "county.db"
    assert county_meta(county_db)["schema"] == "3"  # what 0.1.0 made
    county = open_county(release.county)
    try:
        assert county_meta(county_db)["schema"] == str(NEWEST)
        assert county_meta(county_db)["app_version"] == APP_VERSION
        copies = list((release.county / UPGRADE_BACKUPS).glob("county-schema3-*.db"))
        assert len(copies) == 1 and county_meta(copies[0])["schema"] == "3"
        server = serve(county)
        try:
            with Station.open(release.station, actor="王晓梅") as st:
                origin = st.info.origin
                assert acknowledged(st) == SYNCED_0_1_0
                assert stored(county_db, origin)[0] == SYNCED_0_1_0
                with HttpTransport(server.url) as transport:
                    report = run_sync(st, transport)
                assert report.sent_entries == ENTRIES_0_1_0 - SYNCED_0_1_0
                assert acknowledged(st) == st.ledger.size() == ENTRIES_0_1_0
        finally:
            server.stop()
    finally:
        county.db.close()
    verified = verify_folder(release.station)
    assert verified.ok
    count, distinct, root = stored(county_db, origin)
    assert count == distinct == ENTRIES_0_1_0  # no entry stored twice
    assert root == verified.root


def test_the_county_cli_upgrades_the_release_folder(release: ReleaseFolders):
    done = county_cli(release.county, "--json", "status")
    assert done.returncode == 0, done.stderr
    assert county_meta(release.county / "county.db")["schema"] == str(NEWEST)


def test_a_county_database_from_a_newer_program_is_refused_untouched(release: ReleaseFolders):
    CountyDb(str(release.county / "county.db")).close()
    conn = sqlite3.connect(release.county / "county.db")
    conn.execute("UPDATE meta SET value = '9.1.0' WHERE key = 'app_version'")
    conn.commit()
    conn.close()
    before = snapshot(release.county)
    with pytest.raises(CountyDatabaseNewer) as caught:
        open_county(release.county)
    assert "9.1.0" in caught.value.text and APP_VERSION in caught.value.text
    done = county_cli(release.county, "status")
    assert done.returncode == 1 and "较新版本" in done.stderr
    after = snapshot(release.county)
    after.pop("county.db-writer", None)  # the writers' lock file: empty, never data
    before.pop("county.db-writer", None)
    assert after == before


def test_a_failed_county_migration_leaves_the_release_schema(
    release: ReleaseFolders, monkeypatch: pytest.MonkeyPatch
):
    """Fault injection: a last migration that fails after every other one ran."""
    before = snapshot(release.county)
    broken = ((NEWEST + 1, ("CREATE TABLE upgrade_probe (x TEXT)",
                            "INSERT INTO no_such_table VALUES (1)")),)
    monkeypatch.setattr(county_store, "MIGRATIONS", MIGRATIONS + broken)
    with pytest.raises(sqlite3.OperationalError):
        CountyDb(str(release.county / "county.db"))
    meta = county_meta(release.county / "county.db")
    assert meta["schema"] == "3" and "app_version" not in meta
    assert not (release.county / UPGRADE_BACKUPS).exists() or not list(
        (release.county / UPGRADE_BACKUPS).glob("*.db"))
    after = snapshot(release.county)
    after.pop("county.db-writer", None)
    assert after == before


def test_a_newer_county_schema_is_refused_on_both_backends(county: County):
    """SQLite and PostgreSQL alike: a schema version beyond this program's is refused."""
    with county.db.write() as tx:
        tx.set_meta("schema", str(NEWEST + 1))
    with pytest.raises(CountyDatabaseNewer) as caught:
        CountyDb(county.db.url)
    assert f"数据库结构 {NEWEST + 1}" in caught.value.text
