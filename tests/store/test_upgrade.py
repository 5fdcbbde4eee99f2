"""Upgrading a station data folder made by release 0.1.0 (tests/fixtures/release-0.1.0).

The folder is the real one the release wrote (its own code made it, see the fixture's
README); this version opens it as a clerk's PC would after installing the update.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import station_app
from station_app.domain.versions import APP_VERSION, is_older, version_key
from station_app.errors import DataFolderNewer, DataFolderVersion
from station_app.services.ledger import verify_folder
from station_app.services.station import Station
from station_app.store import db as station_db
from station_app.store.db import (
    UPGRADE_BACKUPS,
    prune_upgrade_copies,
    upgrade_copies,
)
from station_app.store.schema import PROJECTION_TABLES, known_migrations, migrations
from tests.cli.conftest import json_of, run
from tests.fixtures.release import (
    ENTRIES_0_1_0,
    MIGRATIONS_0_1_0,
    ReleaseFolders,
    snapshot,
    unpack,
)

HISTORY = ("ledger", "checkpoint", "checkpoint_use", "person_key", "sync_receipt",
           "sync_config", "sync_publication")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def release(tmp_path: Path) -> ReleaseFolders:
    return unpack(tmp_path / "release")


def rows(path: Path, tables: tuple[str, ...]) -> dict[str, list[Any]]:
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                for t in tables if t in names}
    finally:
        conn.close()


def applied(path: Path) -> list[str]:
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute(
            "SELECT name FROM _sqlite_migrations ORDER BY rowid")]
    finally:
        conn.close()


def meta(path: Path) -> dict[str, str]:
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT key, value FROM meta").fetchall())
    finally:
        conn.close()


def test_the_version_is_one_number_everywhere():
    assert station_app.__version__ == APP_VERSION
    assert is_older("0.1.0", APP_VERSION)
    assert version_key("0.2.0rc1") < version_key("0.2.0") < version_key("0.2.1")
    assert version_key("1") == version_key("1.0.0")
    with pytest.raises(ValueError):
        version_key("最新版")


def test_the_fixture_is_what_release_0_1_0_wrote(release: ReleaseFolders):
    db = release.station / "station.db"
    assert applied(db) == list(MIGRATIONS_0_1_0)
    assert "app_version" not in meta(db)  # 0.1.0 did not stamp its version
    assert len(rows(db, ("ledger",))["ledger"]) == ENTRIES_0_1_0


def test_opening_the_release_folder_upgrades_it_in_place(release: ReleaseFolders):
    db = release.station / "station.db"
    history_before = rows(db, HISTORY)
    verified_before = verify_folder_readonly(release.station)
    with Station.open(release.station) as st:
        assert [m.name for m in migrations.applied(st.db)] == list(known_migrations())
        projections = rows(db, PROJECTION_TABLES)
        assert st.ledger.size() == ENTRIES_0_1_0
    assert meta(db)["app_version"] == APP_VERSION
    # The log, its checkpoints and signatures and the sync state are untouched …
    assert rows(db, HISTORY) == history_before
    report = verify_folder(release.station)
    assert report.ok and report.entries == ENTRIES_0_1_0
    assert (report.root, report.checkpoints, report.signatures) == verified_before
    # … and the projections are what a rebuild from the log makes.
    with Station.open(release.station) as st:
        st.rebuild()
    assert rows(db, PROJECTION_TABLES) == projections
    assert projections["cases"] and projections["proxies"] and projections["evaluation"]


def verify_folder_readonly(folder: Path) -> tuple[bytes, int, int]:
    """Verify a copy, so the folder under test is opened first by the upgrade itself."""
    copy = folder.parent / "verify-before"
    copy.mkdir()
    (copy / "keys").mkdir()
    (copy / "keys" / "station.keys.json").write_bytes(
        (folder / "keys" / "station.keys.json").read_bytes())
    (copy / "station.db").write_bytes((folder / "station.db").read_bytes())
    report = verify_folder(copy)
    assert report.ok
    return report.root, report.checkpoints, report.signatures


def test_the_pre_upgrade_copy_is_the_release_database_as_it_was(release: ReleaseFolders):
    original = release.station.parent / "original.db"
    original.write_bytes((release.station / "station.db").read_bytes())
    Station.open(release.station).close()
    copies = upgrade_copies(release.station)
    assert len(copies) == 1 and copies[0].name.startswith("station-0.1.0-")
    assert not list((release.station / UPGRADE_BACKUPS).glob("*.part"))
    every_table = tuple(r[0] for r in sqlite3.connect(original).execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'"))
    assert rows(copies[0], every_table) == rows(original, every_table)
    assert applied(copies[0]) == list(MIGRATIONS_0_1_0)
    # It is a station database in its own right: put beside the keys, it opens (and is
    # upgraded again, like any 0.1.0 folder).
    restored = release.station.parent / "restored"
    (restored / "keys").mkdir(parents=True)
    (restored / "keys" / "station.keys.json").write_bytes(
        (release.station / "keys" / "station.keys.json").read_bytes())
    (restored / "station.db").write_bytes(copies[0].read_bytes())
    assert verify_folder(restored).ok


def test_the_cli_opens_and_upgrades_the_release_folder(release: ReleaseFolders):
    result = run("--json", "ledger", "verify", data=release.station)
    assert result.returncode == 0, result.stderr
    assert json_of(result)["ok"] is True
    assert meta(release.station / "station.db")["app_version"] == APP_VERSION
    assert len(upgrade_copies(release.station)) == 1
    listed = run("--json", "case", "list", data=release.station)
    assert listed.returncode == 0, listed.stderr


def test_a_folder_stamped_by_a_newer_version_is_refused_untouched(release: ReleaseFolders):
    Station.open(release.station).close()
    conn = sqlite3.connect(release.station / "station.db")
    conn.execute("UPDATE meta SET value = '9.1.0' WHERE key = 'app_version'")
    conn.commit()
    conn.close()
    before = snapshot(release.station)
    with pytest.raises(DataFolderNewer) as caught:
        Station.open(release.station)
    assert "9.1.0" in caught.value.text and APP_VERSION in caught.value.text
    assert "较新版本" in caught.value.text and "未做任何改动" in caught.value.text
    result = run("case", "list", data=release.station)
    assert result.returncode == 1
    assert "较新版本" in result.stderr and "9.1.0" in result.stderr
    assert snapshot(release.station) == before


def test_a_folder_with_an_unknown_migration_is_refused_untouched(release: ReleaseFolders):
    """What 0.1.0 (and any program) sees in a folder from a newer schema: refused."""
    conn = sqlite3.connect(release.station / "station.db")
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                 "VALUES ('station', 'm999_from_the_future', '2030-01-01')")
    conn.commit()
    conn.close()
    before = snapshot(release.station)
    with pytest.raises(DataFolderVersion) as caught:
        Station.open(release.station)
    assert "m999_from_the_future" in caught.value.text and APP_VERSION in caught.value.text
    assert snapshot(release.station) == before
    assert not (release.station / UPGRADE_BACKUPS).exists()


@pytest.mark.parametrize("where", ["first", "last", "rebuild"])
def test_a_failure_half_way_leaves_the_release_schema(
    release: ReleaseFolders, monkeypatch: pytest.MonkeyPatch, where: str
):
    """Fault injection: one step of the upgrade raises after the others ran."""
    before = snapshot(release.station)
    pending = [m for m in migrations._migrations if m.name not in MIGRATIONS_0_1_0]

    def boom(*_: Any) -> None:
        raise RuntimeError("injected upgrade failure")

    if where == "rebuild":
        monkeypatch.setattr(station_db.Projector, "rebuild", boom)
    else:
        monkeypatch.setattr(pending[0] if where == "first" else pending[-1], "fn", boom)
    with pytest.raises(RuntimeError, match="injected"):
        Station.open(release.station)
    assert snapshot(release.station) == before
    assert applied(release.station / "station.db") == list(MIGRATIONS_0_1_0)
    monkeypatch.undo()
    Station.open(release.station).close()  # the next start upgrades as usual
    assert applied(release.station / "station.db") == list(known_migrations())


CRASHING_UPGRADE = """
import os, signal, sys
from pathlib import Path
from station_app.store.schema import migrations
from station_app.services.station import Station
last = migrations._migrations[-1]
real = last.fn
def crash(db):
    real(db)
    os.kill(os.getpid(), signal.SIGKILL)  # power cut after every migration ran
last.fn = crash
Station.open(Path(sys.argv[1]))
"""


def test_a_crash_during_the_upgrade_leaves_the_release_schema(release: ReleaseFolders):
    db = release.station / "station.db"
    history = rows(db, HISTORY)
    done = subprocess.run([sys.executable, "-c", CRASHING_UPGRADE, str(release.station)],
                          cwd=ROOT, capture_output=True, timeout=60, check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert applied(db) == list(MIGRATIONS_0_1_0)  # the WAL's uncommitted pages count for none
    assert "app_version" not in meta(db)
    assert rows(db, HISTORY) == history
    with Station.open(release.station) as st:
        assert st.ledger.size() == ENTRIES_0_1_0
    assert applied(db) == list(known_migrations())


def test_only_the_newest_copies_are_kept(tmp_path: Path):
    backups = tmp_path / UPGRADE_BACKUPS
    backups.mkdir()
    for stamp in ("20270101T000000000000Z", "20260101T000000000000Z",
                  "20280101T000000000000Z", "20250101T000000000000Z"):
        (backups / f"station-0.1.0-{stamp}.db").write_bytes(b"x")
    prune_upgrade_copies(tmp_path, keep=2)
    assert [p.name for p in upgrade_copies(tmp_path)] == [
        "station-0.1.0-20270101T000000000000Z.db", "station-0.1.0-20280101T000000000000Z.db"]


RELEASE_TREE = Path(os.environ.get("STATION_RELEASE_0_1_0", "/work/release-0.1.0"))


@pytest.mark.skipif(not (RELEASE_TREE / "station_app").is_dir(),
                    reason="the v0.1.0 source tree is not at hand")
def test_release_0_1_0_itself_refuses_the_upgraded_folder(release: ReleaseFolders):
    Station.open(release.station).close()
    before = snapshot(release.station)
    code = ("import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]);"
            "import station_app; assert station_app.__version__ == '0.1.0', station_app.__file__;"
            "from station_app.services.station import Station;"
            "Station.open(Path(sys.argv[2]))")
    done = subprocess.run([sys.executable, "-P", "-c", code, str(RELEASE_TREE),
                           str(release.station)], capture_output=True, text=True,
                          timeout=60, check=False, cwd=RELEASE_TREE)
    assert done.returncode != 0 and "DataFolderVersion" in done.stderr, done.stderr
    assert snapshot(release.station) == before
