"""Opening a station database: pragmas, format checks, migrations, write transactions.

One ``sqlite3`` connection per thread (SQLite connections are thread-bound); the UI loop and
each background job open their own. Writes use ``BEGIN IMMEDIATE`` so that two writers queue
for the lock up front instead of deadlocking on an upgrade, and the log's sequence numbers are
allocated inside that lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from station_app.errors import DataFolderCorrupt, DataFolderMissing, DataFolderVersion, DiskFull
from station_app.store.schema import known_migrations, migrations

__all__ = ["Database", "connect", "immediate", "open_database"]  # Database: for type hints above

DB_FILENAME = "station.db"
DB_FORMAT = "vss-station/1"
# PRAGMA application_id marks the file as ours ("VSS1"), so a stray SQLite file is refused.
APPLICATION_ID = 0x56535331


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
        migrations.apply(db)
        _stamp(db)
    except sqlite3.DatabaseError as exc:
        db.conn.close()
        raise DataFolderCorrupt(path=str(folder), reason=str(exc)) from None
    except BaseException:
        db.conn.close()
        raise
    return db


def _check_format(db: Database, folder: Path) -> None:
    app_id = db.execute("PRAGMA application_id").fetchone()[0]
    tables = set(db.table_names())
    if app_id == 0 and not tables:
        return  # a brand-new file
    found = "未知格式" if app_id != APPLICATION_ID else _meta(db, "format")
    if app_id != APPLICATION_ID or found != DB_FORMAT:
        raise DataFolderVersion(path=str(folder), found=found, supported=DB_FORMAT)
    applied = [m.name for m in migrations.applied(db)]
    unknown = [name for name in applied if name not in known_migrations()]
    if unknown:
        raise DataFolderVersion(path=str(folder), found=f"含更新的结构 {unknown[-1]}",
                                supported=DB_FORMAT)


def _meta(db: Database, key: str) -> str:
    if "meta" not in db.table_names():
        return "未知格式"
    row = db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else "未知格式"


def _stamp(db: Database) -> None:
    if db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        db.execute(f"PRAGMA application_id={APPLICATION_ID}")
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('format', ?)", [DB_FORMAT])


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
