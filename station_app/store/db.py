"""Opening a station database: pragmas, format checks, migrations, write transactions.

One ``sqlite3`` connection per thread (SQLite connections are thread-bound); the UI loop and
each background job open their own. Writes use ``BEGIN IMMEDIATE`` so that two writers queue
for the lock up front instead of deadlocking on an upgrade, and the log's sequence numbers are
allocated inside that lock.

Opening a folder written by an earlier version upgrades it (docs/upgrades.md): under the write
lock, first a pre-upgrade copy of the database (SQLite's online backup, fsync'd, in
``DIR/upgrade-backups/``), then every pending migration, the projections rebuilt from the log
and the program's version stamped, all in ONE transaction: a crash or an error anywhere in it
leaves the folder exactly as the earlier version left it. A folder stamped by a newer version
of the program, or holding migrations this one does not know, is refused before anything is
written.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from station_app.domain.versions import APP_VERSION, version_key
from station_app.errors import (
    DataFolderCorrupt,
    DataFolderMissing,
    DataFolderNewer,
    DataFolderVersion,
    DiskFull,
)
from station_app.store.epochs import history
from station_app.store.keyfile import read_keys
from station_app.store.projection import Projector
from station_app.store.schema import known_migrations, migrations
from station_app.store.vault import Vault

__all__ = ["Database", "connect", "immediate", "open_database"]  # Database: for type hints above

DB_FILENAME = "station.db"
DB_FORMAT = "vss-station/1"
# PRAGMA application_id marks the file as ours ("VSS1"), so a stray SQLite file is refused.
APPLICATION_ID = 0x56535331
UPGRADE_BACKUPS = "upgrade-backups"
KEEP_UPGRADE_COPIES = 3
# Folders from before the version stamp (meta ``app_version``) are known by their last
# migration; it names their pre-upgrade copy.
RELEASE_OF_LAST_MIGRATION = {"m009_seven_haves": "0.1.0"}


def connect(path: Path) -> Database:
    """A configured connection to a database already known to be a station's."""
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=30.0)
    _configure(conn)
    return Database(conn)


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: a committed entry survives power loss; a printed receipt must never outlive its row.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    # Overwrite deleted content, so an erased person's key does not linger in free pages.
    conn.execute("PRAGMA secure_delete=ON")


def open_database(folder: Path, *, create: bool = False) -> Database:
    """Open (or with ``create``, make) the station database in ``folder`` and migrate it."""
    path = folder / DB_FILENAME
    if not path.exists() and not create:
        raise DataFolderMissing(path=str(folder))
    folder.mkdir(parents=True, exist_ok=True)
    db = Database(sqlite3.connect(str(path), isolation_level=None, timeout=30.0))
    try:
        # Look before touching: switching to WAL rewrites the file header, which must not
        # happen to a file that is not ours (another program's, or a newer version's).
        _check_format(db, folder)
        _configure(db.conn)
        _upgrade(db, folder)
    except sqlite3.DatabaseError as exc:
        db.conn.close()
        raise DataFolderCorrupt(path=str(folder), reason=str(exc)) from None
    except BaseException:
        db.conn.close()
        raise
    return db


def upgrade_pending(folder: Path) -> bool:
    """Whether opening ``folder`` will migrate it (the first start of a newer program), which
    can take a minute on a large log; read-only, so the app can say so first. A folder that
    cannot be read says False: opening it raises the real error."""
    path = folder / DB_FILENAME
    if not path.exists():
        return False
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error:
        return False
    db = Database(conn)
    try:
        if _is_new(db) or _meta(db, "format") != DB_FORMAT:
            return False
        return bool(migrations.pending(db)) and _stamped_version(db) != APP_VERSION
    except sqlite3.Error:
        return False
    finally:
        conn.close()


def _is_new(db: Database) -> bool:
    return db.execute("PRAGMA application_id").fetchone()[0] == 0 and not db.table_names()


def _check_format(db: Database, folder: Path) -> None:
    app_id = db.execute("PRAGMA application_id").fetchone()[0]
    if _is_new(db):
        return  # a brand-new file
    found = "未知格式" if app_id != APPLICATION_ID else _meta(db, "format")
    if app_id != APPLICATION_ID or found != DB_FORMAT:
        raise DataFolderVersion(path=str(folder), found=found, supported=DB_FORMAT)
    stamped = _stamped_version(db)
    if stamped is not None and _newer_than_us(stamped):
        raise DataFolderNewer(path=str(folder), found=stamped, ours=APP_VERSION)
    applied = [m.name for m in migrations.applied(db)]
    unknown = [name for name in applied if name not in known_migrations()]
    if unknown:
        raise DataFolderVersion(path=str(folder), found=f"含更新的结构 {unknown[-1]}",
                                supported=f"{APP_VERSION} 版的数据结构（至 "
                                          f"{known_migrations()[-1]}）")


def _meta(db: Database, key: str) -> str:
    if "meta" not in db.table_names():
        return "未知格式"
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else "未知格式"


def _stamped_version(db: Database) -> str | None:
    """The newest program version that opened the folder (None: before 0.2.0 stamped it)."""
    version = _meta(db, "app_version")
    return None if version == "未知格式" else version


def _newer_than_us(version: str) -> bool:
    try:
        return version_key(version) > version_key(APP_VERSION)
    except ValueError:
        return True  # a stamp we cannot read is no program we know: refuse, change nothing


def _upgrade(db: Database, folder: Path) -> None:
    """Migrate, rebuild and stamp in one write transaction; a copy first if there is data.
    If the upgrade fails, its copy goes too: the folder is exactly as it was."""
    if not _is_new(db) and not migrations.pending(db) and _stamped_version(db) == APP_VERSION:
        return  # the everyday open: nothing to do, so no write lock to wait for
    copy: Path | None = None
    try:
        with immediate(db):
            new = _is_new(db)
            if not new:
                _check_format(db, folder)  # again under the lock: another program may have won
            pending = migrations.pending(db)
            if not pending and _stamped_version(db) == APP_VERSION:
                return
            if pending and not new:
                keys = read_keys(folder)  # before any change: no keys, no upgrade
                copy = pre_upgrade_copy(db, folder)
            migrations.apply(db)
            if pending and not new:
                # New tables or columns may be derived from entries already in the log: make
                # every projection again, as ``station ledger rebuild`` would.
                Projector(db, Vault(db, keys.data_key), keys.index_key).rebuild(history(db))
            _stamp(db)
    except BaseException:
        if copy is not None:
            copy.unlink(missing_ok=True)
            with suppress(OSError):
                copy.parent.rmdir()  # only if it was made for this copy
        raise
    if copy is not None:
        prune_upgrade_copies(folder)


def _stamp(db: Database) -> None:
    if db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        db.execute(f"PRAGMA application_id={APPLICATION_ID}")
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('format', ?)", [DB_FORMAT])
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('app_version', ?)",
               [APP_VERSION])


def pre_upgrade_copy(db: Database, folder: Path, *, now: datetime | None = None) -> Path:
    """A consistent copy of the database as last committed, by SQLite's online backup, written
    whole under a temporary name, fsync'd and then renamed: a copy that exists is complete."""
    backups = folder / UPGRADE_BACKUPS
    backups.mkdir(exist_ok=True)
    when = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    target = backups / f"station-{_release_label(db)}-{when}.db"
    partial = target.with_suffix(".part")
    try:
        _backup(folder / DB_FILENAME, partial)
        _fsync(partial)
        os.replace(partial, target)
        _fsync(backups)
    except (OSError, sqlite3.Error) as exc:
        partial.unlink(missing_ok=True)
        if "full" in str(exc).lower() or getattr(exc, "errno", None) == 28:
            raise DiskFull() from None
        raise DataFolderCorrupt(path=str(folder),
                                reason=f"无法写入升级前备份（{exc}），未做升级") from None
    return target


def _backup(source: Path, target: Path) -> None:
    """Copy through a reader of its own: the caller's connection holds the write lock (a
    backup through it waits for itself), and in WAL mode a reader is not blocked by that
    lock and sees exactly what was last committed."""
    reader = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True, isolation_level=None)
    copy = sqlite3.connect(str(target), isolation_level=None)
    try:
        reader.backup(copy)
    finally:
        copy.close()
        reader.close()


def upgrade_copies(folder: Path) -> list[Path]:
    """The pre-upgrade copies kept in ``folder``, oldest first."""
    backups = folder / UPGRADE_BACKUPS
    return sorted(backups.glob("station-*.db"), key=lambda p: p.name.rsplit("-", 1)[1]) \
        if backups.is_dir() else []


def _release_label(db: Database) -> str:
    stamped = _stamped_version(db)
    if stamped is not None:
        return stamped
    applied = migrations.applied(db)
    last = applied[-1].name if applied else "m000"
    return RELEASE_OF_LAST_MIGRATION.get(last, last)


def prune_upgrade_copies(folder: Path, keep: int = KEEP_UPGRADE_COPIES) -> None:
    """Keep the newest ``keep`` pre-upgrade copies (each is a whole database)."""
    for old in upgrade_copies(folder)[:-keep]:
        old.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    if path.is_dir() and os.name == "nt":
        return  # Windows cannot open a folder to flush it; NTFS journals the rename
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def immediate(db: Database) -> Iterator[Database]:
    """One write transaction: everything inside commits together or not at all."""
    conn = db.conn
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise _translate(exc) from None
    try:
        yield db
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.OperationalError):
            raise _translate(exc) from None
        raise


def _translate(exc: sqlite3.OperationalError) -> Exception:
    text = str(exc)
    if "full" in text:
        return DiskFull()
    return exc
