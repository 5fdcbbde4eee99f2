"""Consistent snapshots of a live station database, and the local record of backups.

A snapshot uses SQLite's online backup API in one step: it reads every page inside one
read transaction, so it is a consistent state of the database even while the app keeps
writing (WAL lets writers go on), and never a half-written file as a plain copy of a live
database (plus its WAL) can be. The copy is switched to ``journal_mode=DELETE`` so it is
one self-contained file; the restored station turns WAL on again when it opens it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from station_app.domain.log import parse_note
from station_app.errors import DataFolderCorrupt, DiskFull
from station_app.store.ledger import LedgerStore
from station_app.store.syncstate import SyncState


@dataclass(frozen=True, slots=True)
class SnapshotFacts:
    """What a snapshot holds: the log's size and root, and the newest county receipt."""

    entries: int
    root: str  # hex
    receipt_size: int | None
    receipt_time: int | None  # county clock, Unix seconds
    migrations: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BackupRun:
    kind: str  # "backup" (written from this station) or "restored" (this copy came from it)
    at: str  # the station's clock, ISO
    entries: int
    root: str
    size: int
    sha256: str
    file: str  # the file's name only: a drive's mount path may name a person
    seconds: float


def snapshot(db: Database, dest: Path) -> None:
    """Copy the live database into a new file ``dest`` (consistent, self-contained)."""
    target = sqlite3.connect(str(dest), isolation_level=None)
    try:
        db.conn.backup(target)  # pages=-1: all pages in one step, one read transaction
        target.execute("PRAGMA journal_mode=DELETE")
        check = target.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.OperationalError as exc:
        raise (DiskFull() if "full" in str(exc) else
               DataFolderCorrupt(path=str(dest.parent), reason=str(exc))) from None
    finally:
        target.close()
    if check != "ok":
        raise DataFolderCorrupt(path=str(dest.parent), reason=f"快照检查未通过：{check}")


def snapshot_facts(path: Path) -> SnapshotFacts:
    """Read a snapshot file (read-only) for the figures its backup carries."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    try:
        db = Database(conn)
        note = LedgerStore(db).head_note()
        size, root = (0, "") if note is None else (
            parse_note(note).checkpoint.size, parse_note(note).checkpoint.root.hex())
        receipt = SyncState(db).latest_receipt() if "sync_receipt" in db.table_names() \
            else None
        names = tuple(r[0] for r in conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = 'station' "
            "ORDER BY rowid"))
        return SnapshotFacts(size, root, receipt.size if receipt else None,
                             receipt.county_time if receipt else None, names)
    finally:
        conn.close()


def record_run(db: Database, run: BackupRun) -> None:
    db.execute("INSERT INTO backup_run (kind, at, entries, root, size, sha256, file, seconds) "
               "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               [run.kind, run.at, run.entries, run.root, run.size, run.sha256, run.file,
                run.seconds])


def last_run(db: Database, kind: str | None = None) -> BackupRun | None:
    where, args = ("WHERE kind = ?", [kind]) if kind else ("", [])
    row = db.execute(f"SELECT kind, at, entries, root, size, sha256, file, seconds "
                     f"FROM backup_run {where} ORDER BY id DESC LIMIT 1", args).fetchone()
    return None if row is None else BackupRun(*row)


def person_keys(db: Database) -> list[str]:
    """Every person whose key the vault holds (a restore opens each one as its check)."""
    return [r[0] for r in db.execute("SELECT person FROM person_key ORDER BY person")]
