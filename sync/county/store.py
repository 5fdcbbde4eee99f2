"""The county database: SQLite by default, PostgreSQL for a city (the only SQL in the server).

One schema, written once with ``?`` placeholders and portable types; the PostgreSQL
connection swaps placeholders and blob types. Every write runs in one transaction that locks
the station's row first (``BEGIN IMMEDIATE`` on SQLite, ``SELECT … FOR UPDATE`` on
PostgreSQL), so two uploads from one station can never both pass the append-only check — the
race C2SP tlog-witness warns about. The server answers only after the commit returns.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit, urlunsplit

from station_app.domain.merkle import EMPTY_ROOT
from station_app.domain.versions import APP_VERSION, version_key
from station_app.errors import CountyDatabaseNewer, CountyDatabaseUnavailable

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: SQLite's busy_timeout alone
    fcntl = None  # type: ignore[assignment]

SCHEMA_VERSION = 1
# (version, statements) — the pending ones applied in order, all in one transaction
# (``CountyDb._migrate``); never edited once released: a change is a new version.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = ((1, (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE station (
        origin TEXT PRIMARY KEY, code TEXT NOT NULL, name TEXT NOT NULL,
        log_public BLOB NOT NULL, kem_public BLOB NOT NULL, certificate TEXT NOT NULL,
        enrolled_at TEXT NOT NULL, revoked_at TEXT, revoked_size BIGINT, revoke_reason TEXT,
        size BIGINT NOT NULL, peaks BLOB NOT NULL,
        committed_size BIGINT NOT NULL, committed_root BLOB NOT NULL,
        receipt_size BIGINT NOT NULL, last_seen TEXT)""",
    "CREATE INDEX station_code ON station (code)",
    """CREATE TABLE ticket (
        station TEXT PRIMARY KEY, mac_key BLOB NOT NULL, created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL, used_at TEXT, failures INTEGER NOT NULL)""",
    """CREATE TABLE entry (
        origin TEXT NOT NULL, idx BIGINT NOT NULL, entry BLOB NOT NULL,
        leaf_hash BLOB NOT NULL, stored_at TEXT NOT NULL, PRIMARY KEY (origin, idx))""",
    """CREATE TABLE checkpoint (
        origin TEXT NOT NULL, size BIGINT NOT NULL, root BLOB NOT NULL, note TEXT NOT NULL,
        digest TEXT NOT NULL, received_at TEXT NOT NULL, station_time TEXT,
        PRIMARY KEY (origin, size))""",
    "CREATE UNIQUE INDEX checkpoint_digest ON checkpoint (origin, digest)",
    """CREATE TABLE receipt (
        origin TEXT NOT NULL, size BIGINT NOT NULL, note TEXT NOT NULL,
        county_time BIGINT NOT NULL, PRIMARY KEY (origin, size))""",
    """CREATE TABLE evidence (
        id {serial}, origin TEXT NOT NULL, kind TEXT NOT NULL, received_at TEXT NOT NULL,
        detail TEXT NOT NULL, body BLOB NOT NULL)""",
    """CREATE TABLE quarantine (
        id {serial}, origin TEXT NOT NULL, kind TEXT NOT NULL, received_at TEXT NOT NULL,
        body BLOB NOT NULL)""",
    """CREATE TABLE publication (
        collection TEXT NOT NULL, version BIGINT NOT NULL, doc TEXT NOT NULL,
        published_at TEXT NOT NULL, PRIMARY KEY (collection, version))""",
    """CREATE TABLE relay (
        seq {serial}, to_station TEXT NOT NULL, from_origin TEXT NOT NULL,
        message_id TEXT NOT NULL, envelope TEXT NOT NULL, received_at TEXT NOT NULL)""",
    "CREATE UNIQUE INDEX relay_message ON relay (from_origin, message_id)",
    "CREATE INDEX relay_to ON relay (to_station, seq)",
)), (2, (
    # Audit facts (sync/county/kpis.py): made from each stored log, refreshed when it grows.
    """CREATE TABLE fact_state (
        origin TEXT PRIMARY KEY, size BIGINT NOT NULL, made_at TEXT NOT NULL)""",
    """CREATE TABLE case_fact (
        origin TEXT NOT NULL, station TEXT NOT NULL, town TEXT NOT NULL, case_no TEXT NOT NULL,
        accepted_day TEXT, finished_day TEXT, on_time INTEGER NOT NULL,
        on_site INTEGER NOT NULL, visits INTEGER NOT NULL, rated INTEGER NOT NULL,
        is_open INTEGER NOT NULL, overdue_from TEXT, PRIMARY KEY (origin, case_no))""",
    "CREATE INDEX case_fact_finished ON case_fact (finished_day)",
    "CREATE INDEX case_fact_accepted ON case_fact (accepted_day)",
    "CREATE INDEX case_fact_open ON case_fact (station) WHERE is_open = 1",
    """CREATE TABLE proxy_fact (
        origin TEXT NOT NULL, station TEXT NOT NULL, town TEXT NOT NULL,
        proxy_no TEXT NOT NULL, registered_day TEXT NOT NULL, counts_from TEXT,
        sent INTEGER NOT NULL, in_time INTEGER NOT NULL, PRIMARY KEY (origin, proxy_no))""",
    "CREATE INDEX proxy_fact_registered ON proxy_fact (registered_day)",
    """CREATE TABLE rating_fact (
        origin TEXT NOT NULL, station TEXT NOT NULL, town TEXT NOT NULL,
        subject TEXT NOT NULL, first_day TEXT NOT NULL, bad INTEGER NOT NULL,
        fixed INTEGER NOT NULL, PRIMARY KEY (origin, subject))""",
    "CREATE INDEX rating_fact_first ON rating_fact (first_day)",
    # The facts summed per log and day, so a KPI table over any range reads one row per
    # station-day (146k for a county's year) instead of every case.
    """CREATE TABLE fact_day (
        origin TEXT NOT NULL, station TEXT NOT NULL, day TEXT NOT NULL,
        finished INTEGER NOT NULL, on_time INTEGER NOT NULL, rated INTEGER NOT NULL,
        visits INTEGER NOT NULL, accepted INTEGER NOT NULL, on_site INTEGER NOT NULL,
        first_rated INTEGER NOT NULL, bad INTEGER NOT NULL, fixed INTEGER NOT NULL,
        proxies_sent INTEGER NOT NULL, proxies_in_time INTEGER NOT NULL,
        PRIMARY KEY (origin, day))""",
    "CREATE INDEX fact_day_day ON fact_day (day)",
    "CREATE INDEX proxy_fact_unsent ON proxy_fact (registered_day) WHERE sent = 0",
)), (3, (
    # 差评整改率 counts closed 差评整改 loops and leaves out bad reviews the county's 复核
    # overturned; every log's facts are made again with the new columns.
    "ALTER TABLE rating_fact ADD COLUMN overturned INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE fact_day ADD COLUMN to_fix INTEGER NOT NULL DEFAULT 0",
    "DELETE FROM fact_state",
)), (4, (
    # Inspections (七有检查) and spot-check results (调阅) the county recorded, each sent down
    # to its station as a notice; failed items make it a 整改通知 with a deadline (issue 6).
    """CREATE TABLE county_notice (
        notice TEXT PRIMARY KEY, station TEXT NOT NULL, source TEXT NOT NULL,
        subject TEXT NOT NULL, day TEXT NOT NULL, results TEXT NOT NULL, deadline TEXT,
        note TEXT NOT NULL, inspector TEXT NOT NULL, issued_at TEXT NOT NULL,
        message_id TEXT NOT NULL)""",
    "CREATE UNIQUE INDEX county_notice_subject ON county_notice (station, source, subject)",
    "CREATE INDEX county_notice_station ON county_notice (station, notice)",
)), (5, (
    # Ratings made on the public QR page (docs/evaluation-qr.md): one row per case and
    # 首评 (assess 1) or 追评 (2, 3 …), relayed to the station in the same transaction. No
    # personal data: the rater is anonymous, the case number is the station's.
    """CREATE TABLE qr_rating (
        station TEXT NOT NULL, case_no TEXT NOT NULL, assess INTEGER NOT NULL,
        level TEXT NOT NULL, reasons TEXT NOT NULL, comment TEXT NOT NULL,
        received_at TEXT NOT NULL, rating_id TEXT NOT NULL,
        PRIMARY KEY (station, case_no, assess))""",
)), (6, (
    # County auditors (docs/dashboard.md): only a hash of each bearer token is kept; every
    # dashboard request and every unmask request is recorded with who and when.
    """CREATE TABLE auditor (
        name TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, town TEXT,
        created_at TEXT NOT NULL, revoked_at TEXT)""",
    """CREATE TABLE audit_access (
        id {serial}, auditor TEXT NOT NULL, at TEXT NOT NULL, method TEXT NOT NULL,
        path TEXT NOT NULL, status INTEGER NOT NULL)""",
    """CREATE TABLE unmask_request (
        id {serial}, request_id TEXT NOT NULL UNIQUE, auditor TEXT NOT NULL,
        at TEXT NOT NULL, station TEXT NOT NULL, case_no TEXT NOT NULL,
        reason TEXT NOT NULL)""",
    "CREATE INDEX unmask_request_station ON unmask_request (station, id)",
)), (7, (
    # Recovery from a lost PC (docs/recovery.md): an enrollment code may be approved as the
    # replacement of one origin (``replaces``), and the new origin is recorded as that
    # origin's successor, with the acknowledged size and root its log must name.
    "ALTER TABLE ticket ADD COLUMN replaces TEXT",
    """CREATE TABLE succession (
        origin TEXT PRIMARY KEY, predecessor TEXT NOT NULL, size BIGINT NOT NULL,
        root BLOB NOT NULL, county_time BIGINT NOT NULL, approved_at TEXT NOT NULL)""",
)), (8, (
    # A station's answer to an unmask request (docs/dashboard.md), kept as it arrived: the
    # signed envelope, sealed to the county's KEM key. No clear personal data is stored;
    # the requesting auditor's GET opens it, until the answer expires.
    """CREATE TABLE unmask_answer (
        request_id TEXT PRIMARY KEY, origin TEXT NOT NULL, envelope TEXT NOT NULL,
        received_at TEXT NOT NULL)""",
)), (9, (
    # Persisted station audits (sync/county/audit_results.py, docs/dashboard.md): one row
    # per live log and period, valid while its inputs, the thresholds and the day are the
    # ones it was computed with; every dashboard worker reads the same results.
    """CREATE TABLE audit_result (
        origin TEXT NOT NULL, period TEXT NOT NULL, station TEXT NOT NULL,
        size BIGINT NOT NULL, inputs TEXT NOT NULL, thresholds TEXT NOT NULL,
        day TEXT NOT NULL, status TEXT NOT NULL, findings TEXT NOT NULL, kpis TEXT NOT NULL,
        audit TEXT NOT NULL, computed_at TEXT NOT NULL, PRIMARY KEY (period, origin))""",
)), (10, (
    # The county's decisions on disputed 整改通知 (docs/audit.md): upheld with a new
    # deadline, or withdrawn; each relayed to the station (kind rectification-decision).
    """CREATE TABLE notice_decision (
        notice TEXT NOT NULL, seq INTEGER NOT NULL, decision TEXT NOT NULL,
        note TEXT NOT NULL, deadline TEXT, decided_at TEXT NOT NULL,
        message_id TEXT NOT NULL, PRIMARY KEY (notice, seq))""",
)),)


@dataclass(frozen=True, slots=True)
class StationRow:
    origin: str
    code: str
    name: str
    log_public: bytes
    kem_public: bytes
    certificate: str
    enrolled_at: str
    revoked_at: str | None
    revoked_size: int | None
    revoke_reason: str | None
    size: int  # entries stored
    peaks: bytes  # packed Merkle frontier of the stored entries
    committed_size: int  # newest accepted station checkpoint
    committed_root: bytes
    receipt_size: int
    last_seen: str | None


_STATION_COLUMNS = ", ".join(StationRow.__dataclass_fields__)


class CountyDb:
    """A connection factory: one connection per thread, opened on first use.

    Every connection opened is also remembered, so ``close()`` closes the ones the server's
    worker threads opened too (on PostgreSQL an unclosed connection holds a server slot).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = is_postgres(url)
        self._local = threading.local()
        self._lock = threading.RLock()
        self._opened: list[Any] = []
        self.upgrade_copy: Path | None = None  # written by this open's upgrade, if any
        with self._lock:
            try:
                self._migrate()
            except BaseException:
                self.close()
                raise

    def _writer_lock(self) -> BinaryIO | None:
        """This thread's handle on the SQLite writers' lock file (None: PostgreSQL, an
        in-memory database, or no ``fcntl``, where SQLite's own wait is all there is)."""
        handle = getattr(self._local, "writer", None)
        if handle is None and not self.postgres and fcntl is not None:
            path = _sqlite_path(self.url)
            if path == ":memory:":
                return None
            handle = open(path + "-writer", "ab")  # closed by close(), as connections are
            self._local.writer = handle
            with self._lock:
                self._opened.append(handle)
        return handle

    def _connect(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self.postgres and (conn.closed or conn.broken):
            conn = None  # the server restarted or the link dropped: reconnect, don't wedge
        if conn is None:
            conn = _pg_connect(self.url) if self.postgres else _sqlite_connect(self.url)
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        return conn

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """One transaction; the caller locks rows with ``Tx.lock_station`` before deciding."""
        conn = self._connect()
        tx = Tx(conn, self.postgres)
        if self.postgres:
            with conn.transaction():
                yield tx
            return
        with self._writers_queue():
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield tx
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def _writers_queue(self) -> Iterator[None]:
        """Wait for the SQLite write lock on a file lock first. SQLite's own wait
        (busy_timeout) polls with sleeps growing to 100 ms: with 400 stations syncing at
        once the database sat idle while every writer slept. A blocked ``flock`` wakes the
        next writer, of this process or another worker, as soon as the lock is free."""
        handle = self._writer_lock()
        if handle is None or fcntl is None:
            yield
            return
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # releases the GIL while it waits
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        conn = self._connect()
        if self.postgres:
            with conn.transaction():
                yield Tx(conn, True)
            return
        conn.execute("BEGIN")
        try:
            yield Tx(conn, False)
        finally:
            conn.execute("ROLLBACK")

    def close(self) -> None:
        """Close every connection this database opened, in any thread."""
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()
        self._local = threading.local()

    def _migrate(self) -> None:
        """Every pending migration and the version stamp in ONE transaction (docs/upgrades.md):
        an error or a crash half-way leaves the schema the earlier program left. On SQLite a
        pre-upgrade copy is written first, under the same lock; PostgreSQL is copied with
        ``pg_dump`` by its administrator before the upgrade. A database a newer program has
        upgraded is refused before anything is written."""
        try:
            with self.write() as tx:
                if self.postgres:  # server workers start together: one migrates, the rest wait
                    tx.run("SELECT pg_advisory_xact_lock(?)", [MIGRATION_LOCK])
                have = tx.schema_version()
                self._refuse_newer(tx, have)
                pending = [(v, statements) for v, statements in MIGRATIONS if v > have]
                if not pending and tx.meta("app_version") == APP_VERSION:
                    return
                if pending and have and not self.postgres:
                    self.upgrade_copy = pre_upgrade_copy(_sqlite_path(self.url),
                                                         f"schema{have}")
                for version, statements in pending:
                    for sql in statements:
                        tx.run(sql.format(serial="BIGSERIAL PRIMARY KEY" if self.postgres
                                          else "INTEGER PRIMARY KEY AUTOINCREMENT"))
                    tx.set_meta("schema", str(version))
                tx.set_meta("app_version", APP_VERSION)
        except BaseException:
            if self.upgrade_copy is not None:  # nothing was upgraded: the copy is moot
                self.upgrade_copy.unlink(missing_ok=True)
                with suppress(OSError):
                    self.upgrade_copy.parent.rmdir()
                self.upgrade_copy = None
            raise
        if self.upgrade_copy is not None:
            prune_upgrade_copies(self.upgrade_copy.parent)

    def _refuse_newer(self, tx: Tx, have: int) -> None:
        stamped = tx.meta("app_version") if have else None
        newest = MIGRATIONS[-1][0]
        try:
            newer_program = stamped is not None and version_key(stamped) > version_key(
                APP_VERSION)
        except ValueError:
            newer_program = True
        if have > newest or newer_program:
            found = f"{stamped or '未知'} 版，数据库结构 {have}"
            raise CountyDatabaseNewer(url=redact_url(self.url), found=found,
                                      ours=f"{APP_VERSION} 版，数据库结构 {newest}")


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def redact_url(url: str) -> str:
    """The database URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    where = f"{parts.username}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=where))


def _sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url


UPGRADE_BACKUPS = "upgrade-backups"
MIGRATION_LOCK = 0x56534331  # "VSC1": the PostgreSQL advisory lock the migrating open holds
KEEP_UPGRADE_COPIES = 3


def pre_upgrade_copy(path: str, label: str) -> Path | None:
    """A consistent copy of the SQLite database as last committed (SQLite's online backup
    through a reader of its own: the caller holds the write lock), written under a
    temporary name, fsync'd, then renamed; the newest ``KEEP_UPGRADE_COPIES`` are kept."""
    if path == ":memory:":
        return None
    source = Path(path).resolve()
    backups = source.parent / UPGRADE_BACKUPS
    backups.mkdir(exist_ok=True)
    when = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = backups / f"county-{label}-{when}.db"
    partial = target.with_suffix(".part")
    try:
        reader = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True, isolation_level=None)
        copy = sqlite3.connect(str(partial), isolation_level=None)
        try:
            reader.backup(copy)
        finally:
            copy.close()
            reader.close()
        _fsync(partial)
        os.replace(partial, target)
        _fsync(backups)
    except (OSError, sqlite3.Error) as exc:
        partial.unlink(missing_ok=True)
        raise CountyDatabaseUnavailable(url=str(source),
                                        reason=f"无法写入升级前备份（{exc}），未做升级") from None
    return target


def prune_upgrade_copies(backups: Path, keep: int = KEEP_UPGRADE_COPIES) -> None:
    """Keep the newest ``keep`` pre-upgrade copies of the county database."""
    copies = sorted(backups.glob("county-*.db"), key=lambda p: p.name.rsplit("-", 1)[1])
    for old in copies[:-keep]:
        old.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    if path.is_dir() and os.name == "nt":
        return  # Windows cannot open a folder to flush it
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sqlite_connect(url: str) -> sqlite3.Connection:
    path = _sqlite_path(url)
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    except (OSError, sqlite3.Error) as exc:
        raise CountyDatabaseUnavailable(url=url, reason=str(exc)) from None
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # a receipt must never outlive its entries
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _pg_connect(url: str) -> Any:
    import psycopg  # only here: SQLite deployments need no PostgreSQL driver

    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CountyDatabaseUnavailable(url=redact_url(url), reason=reason) from None


class Tx:
    """Queries inside one transaction. SQL is written once, with ``?`` placeholders."""

    def __init__(self, conn: Any, postgres: bool) -> None:
        self.conn, self.postgres = conn, postgres

    def run(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if self.postgres:
            sql = sql.replace("?", "%s").replace(" BLOB", " BYTEA")
        return self.conn.execute(sql, list(params))

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return [tuple(_plain(v) for v in row) for row in self.run(sql, params).fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row = self.run(sql, params).fetchone()
        return None if row is None else tuple(_plain(v) for v in row)

    def meta(self, key: str) -> str | None:
        row = self.one("SELECT value FROM meta WHERE key = ?", [key])
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.run("INSERT INTO meta (key, value) VALUES (?, ?) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value])

    def schema_version(self) -> int:
        if self.postgres:
            exists = self.one("SELECT to_regclass('meta')")
            if exists is None or exists[0] is None:
                return 0
        elif self.one("SELECT name FROM sqlite_master WHERE name = 'meta'") is None:
            return 0
        row = self.one("SELECT value FROM meta WHERE key = 'schema'")
        return int(row[0]) if row else 0

    # ------------------------------------------------------------------ stations

    def station(self, origin: str, *, lock: bool = False) -> StationRow | None:
        sql = f"SELECT {_STATION_COLUMNS} FROM station WHERE origin = ?"
        row = self.one(sql + (" FOR UPDATE" if lock and self.postgres else ""), [origin])
        return None if row is None else StationRow(*row)

    def stations(self, code: str | None = None) -> list[StationRow]:
        sql = f"SELECT {_STATION_COLUMNS} FROM station"
        rows = self.all(sql + " WHERE code = ? ORDER BY enrolled_at", [code]) if code \
            else self.all(sql + " ORDER BY code, enrolled_at")
        return [StationRow(*r) for r in rows]

    def add_station(self, *, origin: str, code: str, name: str, log_public: bytes,
                    kem_public: bytes, certificate: str, at: str) -> None:
        self.run(f"INSERT INTO station ({_STATION_COLUMNS}) VALUES "
                 f"({', '.join('?' * len(StationRow.__dataclass_fields__))})",
                 [origin, code, name, log_public, kem_public, certificate, at, None, None, None,
                  0, b"", 0, EMPTY_ROOT, 0, None])

    def revoke(self, origin: str, *, at: str, size: int, reason: str) -> None:
        self.run("UPDATE station SET revoked_at = ?, revoked_size = ?, revoke_reason = ? "
                 "WHERE origin = ?", [at, size, reason, origin])

    def seen(self, origin: str, at: str) -> None:
        self.run("UPDATE station SET last_seen = ? WHERE origin = ?", [at, origin])

    def set_committed(self, origin: str, size: int, root: bytes) -> None:
        self.run("UPDATE station SET committed_size = ?, committed_root = ? WHERE origin = ?",
                 [size, root, origin])

    def set_stored(self, origin: str, size: int, peaks: bytes) -> None:
        self.run("UPDATE station SET size = ?, peaks = ? WHERE origin = ?",
                 [size, peaks, origin])

    # ------------------------------------------------------------------- tickets

    def put_ticket(self, station: str, mac_key: bytes, created: str, expires: str) -> None:
        self.run("DELETE FROM ticket WHERE station = ?", [station])
        self.run("INSERT INTO ticket (station, mac_key, created_at, expires_at, used_at, "
                 "failures) VALUES (?, ?, ?, ?, NULL, 0)", [station, mac_key, created, expires])

    def ticket(self, station: str) -> tuple[bytes, str, str | None, int] | None:
        # Locked on PostgreSQL (SQLite's BEGIN IMMEDIATE already serialises writers): two
        # enrollments racing with one code must not both see it unused.
        row = self.one("SELECT mac_key, expires_at, used_at, failures FROM ticket "
                       "WHERE station = ?" + (" FOR UPDATE" if self.postgres else ""), [station])
        return None if row is None else (row[0], row[1], row[2], row[3])

    def ticket_replaces(self, station: str) -> str | None:
        """The origin an open enrollment code was approved to replace (None: a plain one)."""
        row = self.one("SELECT replaces FROM ticket WHERE station = ?", [station])
        return None if row is None else row[0]

    def set_ticket_replaces(self, station: str, origin: str) -> None:
        self.run("UPDATE ticket SET replaces = ? WHERE station = ?", [origin, station])

    # --------------------------------------------------------------- succession

    def add_succession(self, origin: str, predecessor: str, size: int, root: bytes,
                       county_time: int, at: str) -> None:
        self.run("INSERT INTO succession (origin, predecessor, size, root, county_time, "
                 "approved_at) VALUES (?, ?, ?, ?, ?, ?)",
                 [origin, predecessor, size, root, county_time, at])

    def succession(self, origin: str) -> tuple[str, int, bytes, int, str] | None:
        """(predecessor, its acknowledged size and root, receipt time, approval time) of a
        replacement PC's origin; None for an origin that replaced nothing."""
        row = self.one("SELECT predecessor, size, root, county_time, approved_at "
                       "FROM succession WHERE origin = ?", [origin])
        return None if row is None else (row[0], int(row[1]), row[2], int(row[3]), row[4])

    def successor(self, predecessor: str) -> str | None:
        row = self.one("SELECT origin FROM succession WHERE predecessor = ? "
                       "ORDER BY approved_at DESC, origin LIMIT 1", [predecessor])
        return None if row is None else row[0]

    def ticket_failed(self, station: str) -> None:
        self.run("UPDATE ticket SET failures = failures + 1 WHERE station = ?", [station])

    def ticket_used(self, station: str, at: str) -> None:
        self.run("UPDATE ticket SET used_at = ? WHERE station = ?", [at, station])

    # --------------------------------------------------------------- checkpoints

    def checkpoint(self, origin: str, size: int) -> tuple[bytes, str] | None:
        row = self.one("SELECT root, note FROM checkpoint WHERE origin = ? AND size = ?",
                       [origin, size])
        return None if row is None else (row[0], row[1])

    def checkpoint_by_digest(self, origin: str, digest: str) -> tuple[int, bytes, str] | None:
        row = self.one("SELECT size, root, note FROM checkpoint WHERE origin = ? AND digest = ?",
                       [origin, digest])
        return None if row is None else (row[0], row[1], row[2])

    def add_checkpoint(self, origin: str, size: int, root: bytes, note: str, digest: str,
                       at: str, station_time: str | None) -> None:
        self.run("INSERT INTO checkpoint (origin, size, root, note, digest, received_at, "
                 "station_time) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 [origin, size, root, note, digest, at, station_time])

    def checkpoints(self, origin: str) -> list[tuple[int, str, str, str | None]]:
        return self.all("SELECT size, note, received_at, station_time FROM checkpoint "
                        "WHERE origin = ? ORDER BY size", [origin])

    # ------------------------------------------------------------------- entries

    def leaf_hashes(self, origin: str, start: int, end: int) -> list[bytes]:
        return [r[0] for r in self.all(
            "SELECT leaf_hash FROM entry WHERE origin = ? AND idx >= ? AND idx < ? ORDER BY idx",
            [origin, start, end])]

    def add_entries(self, origin: str, start: int, entries: Sequence[bytes],
                    hashes: Sequence[bytes], at: str) -> None:
        rows = [(origin, start + i, e, h, at) for i, (e, h) in enumerate(zip(entries, hashes,
                                                                             strict=True))]
        sql = "INSERT INTO entry (origin, idx, entry, leaf_hash, stored_at) VALUES (?, ?, ?, ?, ?)"
        if self.postgres:
            with self.conn.cursor() as cur:
                cur.executemany(sql.replace("?", "%s"), rows)
        else:
            self.conn.executemany(sql, rows)

    def entries(self, origin: str, start: int = 0, end: int | None = None
                ) -> list[tuple[int, bytes, bytes]]:
        return self.all("SELECT idx, entry, leaf_hash FROM entry WHERE origin = ? AND idx >= ? "
                        "AND idx < ? ORDER BY idx", [origin, start, end if end is not None
                                                     else 2**62])

    # ------------------------------------------------------------------ receipts

    def receipt(self, origin: str, size: int) -> str | None:
        row = self.one("SELECT note FROM receipt WHERE origin = ? AND size = ?", [origin, size])
        return None if row is None else row[0]

    def receipts(self, origin: str) -> list[tuple[int, str, int]]:
        """Every receipt given to ``origin``: (size, note, county unix time), by size."""
        return self.all("SELECT size, note, county_time FROM receipt WHERE origin = ? "
                        "ORDER BY size", [origin])

    def add_receipt(self, origin: str, size: int, note: str, county_time: int) -> None:
        self.run("INSERT INTO receipt (origin, size, note, county_time) VALUES (?, ?, ?, ?)",
                 [origin, size, note, county_time])
        self.run("UPDATE station SET receipt_size = ? WHERE origin = ? AND receipt_size < ?",
                 [size, origin, size])

    # ------------------------------------------------------- evidence, quarantine

    def add_evidence(self, origin: str, kind: str, at: str, detail: str, body: bytes) -> None:
        self.run("INSERT INTO evidence (origin, kind, received_at, detail, body) "
                 "VALUES (?, ?, ?, ?, ?)", [origin, kind, at, detail, body])

    def evidence(self, origin: str | None = None) -> list[tuple[Any, ...]]:
        sql = "SELECT id, origin, kind, received_at, detail, body FROM evidence"
        return self.all(sql + " WHERE origin = ? ORDER BY id", [origin]) if origin \
            else self.all(sql + " ORDER BY id")

    def quarantine(self, origin: str, kind: str, at: str, body: bytes) -> None:
        self.run("INSERT INTO quarantine (origin, kind, received_at, body) VALUES (?, ?, ?, ?)",
                 [origin, kind, at, body])

    def quarantined(self, origin: str | None = None) -> list[tuple[Any, ...]]:
        sql = "SELECT id, origin, kind, received_at, body FROM quarantine"
        return self.all(sql + " WHERE origin = ? ORDER BY id", [origin]) if origin \
            else self.all(sql + " ORDER BY id")

    # -------------------------------------------------------------- publications

    def latest_publications(self) -> list[tuple[str, int, str]]:
        return self.all(
            "SELECT p.collection, p.version, p.doc FROM publication p JOIN "
            "(SELECT collection, MAX(version) AS version FROM publication GROUP BY collection) m"
            " ON p.collection = m.collection AND p.version = m.version ORDER BY p.collection")

    def add_publication(self, collection: str, version: int, doc: str, at: str) -> None:
        self.run("INSERT INTO publication (collection, version, doc, published_at) "
                 "VALUES (?, ?, ?, ?)", [collection, version, doc, at])

    def publication_version(self, collection: str) -> int:
        row = self.one("SELECT MAX(version) FROM publication WHERE collection = ?",
                       [collection])
        return int(row[0]) if row and row[0] is not None else 0

    # --------------------------------------------------------------------- relay

    def add_relay(self, to_station: str, from_origin: str, message_id: str, envelope: str,
                  at: str) -> bool:
        """Store a relayed message once; False if that message id was already stored.

        One statement, so two copies arriving at once on PostgreSQL cannot both pass a
        separate "is it there?" check and then collide on the unique index."""
        cursor = self.run("INSERT INTO relay (to_station, from_origin, message_id, envelope, "
                          "received_at) VALUES (?, ?, ?, ?, ?) "
                          "ON CONFLICT (from_origin, message_id) DO NOTHING",
                          [to_station, from_origin, message_id, envelope, at])
        return cursor.rowcount == 1

    def relay_for(self, station: str, after: int, limit: int) -> list[tuple[int, str]]:
        return self.all("SELECT seq, envelope FROM relay WHERE to_station = ? AND seq > ? "
                        "ORDER BY seq LIMIT ?", [station, after, limit])

    # --------------------------------------------------------------- QR ratings

    def qr_ratings(self, station: str, case_no: str) -> int:
        """How many ratings (首评 and 追评) the QR page took for the case."""
        row = self.one("SELECT COUNT(*) FROM qr_rating WHERE station = ? AND case_no = ?",
                       [station, case_no])
        return int(row[0]) if row else 0

    def add_qr_rating(self, *, station: str, case_no: str, assess: int, level: str,
                      reasons: str, comment: str, at: str, rating_id: str) -> bool:
        """Store one rating; False if that case already has one with that number (two
        submissions racing: the primary key decides, in one statement)."""
        cursor = self.run("INSERT INTO qr_rating (station, case_no, assess, level, reasons, "
                          "comment, received_at, rating_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                          "ON CONFLICT (station, case_no, assess) DO NOTHING",
                          [station, case_no, assess, level, reasons, comment, at, rating_id])
        return cursor.rowcount == 1

    # ------------------------------------------------------------------ audit facts

    # ------------------------------------------------------------ county notices

    def add_notice(self, row: Sequence[Any]) -> None:
        """One notice: (notice, station, source, subject, day, results, deadline, note,
        inspector, issued_at, message_id)."""
        self.run("INSERT INTO county_notice (notice, station, source, subject, day, results,"
                 " deadline, note, inspector, issued_at, message_id)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)

    def notices(self, station: str | None = None) -> list[tuple[Any, ...]]:
        sql = ("SELECT notice, station, source, subject, day, results, deadline, note,"
               " inspector, issued_at, message_id FROM county_notice")
        return self.all(sql + " WHERE station = ? ORDER BY notice", [station]) if station \
            else self.all(sql + " ORDER BY notice")

    def add_decision(self, row: Sequence[Any]) -> None:
        """A decision on a disputed notice: (notice, decision, note, deadline, decided_at,
        message_id), numbered after the notice's earlier decisions."""
        self.run("INSERT INTO notice_decision (notice, seq, decision, note, deadline,"
                 " decided_at, message_id) SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ?, ?"
                 " FROM notice_decision WHERE notice = ?", [*row, row[0]])

    def decisions(self, station: str | None = None) -> list[tuple[Any, ...]]:
        """Every decision (notice, decision, note, deadline, decided_at), oldest first."""
        sql = ("SELECT d.notice, d.decision, d.note, d.deadline, d.decided_at"
               " FROM notice_decision d JOIN county_notice n ON n.notice = d.notice")
        order = " ORDER BY d.notice, d.seq"
        return self.all(sql + " WHERE n.station = ?" + order, [station]) if station \
            else self.all(sql + order)

    def notice_for(self, station: str, source: str, subject: str) -> str | None:
        row = self.one("SELECT notice FROM county_notice WHERE station = ? AND source = ?"
                       " AND subject = ?", [station, source, subject])
        return None if row is None else str(row[0])

    def notices_numbered(self, prefix: str) -> int:
        row = self.one("SELECT COUNT(*) FROM county_notice WHERE notice LIKE ?", [prefix + "%"])
        return int(row[0]) if row else 0

    def fact_sizes(self) -> dict[str, int]:
        """The log size each station's facts were made from."""
        return {origin: int(size) for origin, size in self.all(
            "SELECT origin, size FROM fact_state")}

    def replace_facts(self, origin: str, station: str, town: str, facts: Any, size: int,
                      at: str) -> None:
        """Put ``facts`` (a ``StationFacts``) in place of the log's previous ones."""
        for table in ("case_fact", "proxy_fact", "rating_fact", "fact_day"):
            self.run(f"DELETE FROM {table} WHERE origin = ?", [origin])
        unit = (origin, station, town)
        self._many("INSERT INTO case_fact (origin, station, town, case_no, accepted_day, "
                   "finished_day, on_time, on_site, visits, rated, is_open, overdue_from) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [(*unit, c.case_no, c.accepted_day, c.finished_day, int(c.on_time),
                     int(c.on_site), c.visits, int(c.rated), int(c.open), c.overdue_from)
                    for c in facts.cases])
        self._many("INSERT INTO proxy_fact (origin, station, town, proxy_no, registered_day, "
                   "counts_from, sent, in_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   [(*unit, p.proxy_no, p.registered_day, p.counts_from, int(p.sent),
                     int(p.in_time)) for p in facts.proxies])
        self._many("INSERT INTO rating_fact (origin, station, town, subject, first_day, bad, "
                   "overturned, fixed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   [(*unit, r.subject, r.first_day, int(r.bad), int(r.overturned),
                     int(r.fixed)) for r in facts.ratings])
        self._many("INSERT INTO fact_day (origin, station, day, finished, on_time, rated, "
                   "visits, accepted, on_site, first_rated, bad, fixed, proxies_sent, "
                   "proxies_in_time, to_fix) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                   "?)",
                   [(origin, station, day, *sums) for day, sums in sorted(_by_day(facts).items())])
        self.run("INSERT INTO fact_state (origin, size, made_at) VALUES (?, ?, ?) "
                 "ON CONFLICT (origin) DO UPDATE SET size = excluded.size, "
                 "made_at = excluded.made_at", [origin, size, at])

    def kpi_sums(self, first: str, last: str, today: str, now: str, station: str | None
                 ) -> list[tuple[str, str, int, int]]:
        """(station, KPI code, numerator, denominator) for the period ``first``–``last``:
        ``kpis_from_facts`` (station_app/domain/audit/facts.py) as SQL, over the day sums
        and, for what depends on "now", the few rows still waiting."""
        one = " AND station = ?" if station else ""
        extra = [station] if station else []
        out: list[tuple[str, str, int, int]] = []
        for (code, done, on_time, rated, visits, accepted, on_site, first_rated, bad, fixed,
             sent, in_time, to_fix) in self.all(
                "SELECT station, SUM(finished), SUM(on_time), SUM(rated), SUM(visits), "
                "SUM(accepted), SUM(on_site), SUM(first_rated), SUM(bad), SUM(fixed), "
                "SUM(proxies_sent), SUM(proxies_in_time), SUM(to_fix) FROM fact_day "
                f"WHERE day >= ? AND day <= ?{one} GROUP BY station", [first, last, *extra]):
            out += [(code, "on_time_rate", on_time, done), (code, "evaluation_rate", rated, done),
                    (code, "avg_visits", visits, done), (code, "on_site_rate", on_site, accepted),
                    (code, "satisfaction_rate", first_rated - bad, first_rated),
                    (code, "bad_review_fixed_rate", fixed, to_fix),
                    (code, "proxy_reported_in_3wd_rate", in_time, sent)]
        out += [(code, "proxy_reported_in_3wd_rate", 0, n) for code, n in self.all(
            "SELECT station, COUNT(*) FROM proxy_fact WHERE sent = 0 AND registered_day >= ? "
            f"AND registered_day <= ? AND counts_from <= ?{one} GROUP BY station",
            [first, last, today, *extra])]
        out += [(code, "overdue_now", late, n) for code, n, late in self.all(
            "SELECT station, COUNT(*), SUM(CASE WHEN overdue_from <= ? THEN 1 ELSE 0 END) "
            f"FROM case_fact WHERE is_open = 1{one} GROUP BY station", [now, *extra])]
        return out

    # ----------------------------------------------------------- persisted audits

    def audit_inputs(self) -> dict[str, dict[str, Any]]:
        """What a station audit reads besides the log and "now", per origin (evidence,
        quarantine, checkpoint and receipt counts, the succession link) and per station
        code (the county's notices): counted in a few grouped queries for every log."""
        counts: dict[str, dict[str, Any]] = {}
        for table, name in (("evidence", "evidence"), ("quarantine", "quarantine"),
                            ("checkpoint", "checkpoints"), ("receipt", "receipts")):
            for origin, n in self.all(f"SELECT origin, COUNT(*) FROM {table} GROUP BY origin"):
                counts.setdefault(f"log:{origin}", {})[name] = int(n)
        for origin, predecessor, size in self.all(
                "SELECT origin, predecessor, size FROM succession"):
            counts.setdefault(f"log:{origin}", {})["succeeds"] = [predecessor, int(size)]
        for station, n, newest in self.all(
                "SELECT station, COUNT(*), MAX(issued_at) FROM county_notice GROUP BY station"):
            counts[f"station:{station}"] = {"notices": int(n), "newest": newest}
        for station, n, newest in self.all(  # a decision on a dispute changes the audit too
                "SELECT n.station, COUNT(*), MAX(d.decided_at) FROM notice_decision d"
                " JOIN county_notice n ON n.notice = d.notice GROUP BY n.station"):
            counts.setdefault(f"station:{station}", {})["decisions"] = [int(n), newest]
        return counts

    def audit_result_keys(self, period: str, station: str | None = None
                          ) -> dict[str, tuple[str, str, str, str]]:
        """origin → (inputs, thresholds, day, computed at) of the kept audits of ``period``."""
        one = " AND station = ?" if station else ""
        return {r[0]: (r[1], r[2], r[3], r[4]) for r in self.all(
            "SELECT origin, inputs, thresholds, day, computed_at FROM audit_result "
            f"WHERE period = ?{one}", [period, *([station] if station else [])])}

    def audit_results(self, period: str, origins: Sequence[str]
                      ) -> list[tuple[str, str, str, str, str]]:
        """(origin, findings, kpis, audit, computed at) of these logs' kept audits."""
        out: list[tuple[str, str, str, str, str]] = []
        for start in range(0, len(origins), 500):  # under SQLite's bound-parameter limit
            chunk = list(origins[start:start + 500])
            out += self.all("SELECT origin, findings, kpis, audit, computed_at FROM "
                            f"audit_result WHERE period = ? AND origin IN "
                            f"({', '.join('?' * len(chunk))})", [period, *chunk])
        return out

    def put_audit_result(self, *, origin: str, period: str, station: str, size: int,
                         inputs: str, thresholds: str, day: str, status: str, findings: str,
                         kpis: str, audit: str, computed_at: str) -> None:
        self.run("INSERT INTO audit_result (origin, period, station, size, inputs, thresholds,"
                 " day, status, findings, kpis, audit, computed_at) VALUES "
                 "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (period, origin) DO UPDATE "
                 "SET station = excluded.station, size = excluded.size, "
                 "inputs = excluded.inputs, thresholds = excluded.thresholds, "
                 "day = excluded.day, status = excluded.status, findings = excluded.findings,"
                 " kpis = excluded.kpis, audit = excluded.audit, "
                 "computed_at = excluded.computed_at",
                 [origin, period, station, size, inputs, thresholds, day, status, findings,
                  kpis, audit, computed_at])

    def audit_result_sizes(self, period: str) -> dict[str, tuple[int, str]]:
        """origin → (log size audited, computed at) of the kept audits of ``period``."""
        return {r[0]: (int(r[1]), r[2]) for r in self.all(
            "SELECT origin, size, computed_at FROM audit_result WHERE period = ?", [period])}

    # ------------------------------------------------------------------ auditors

    def add_auditor(self, name: str, token_hash: str, town: str | None, at: str) -> bool:
        """A new auditor; False if the name is taken (a revoked name stays taken)."""
        cursor = self.run("INSERT INTO auditor (name, token_hash, town, created_at, "
                          "revoked_at) VALUES (?, ?, ?, ?, NULL) ON CONFLICT (name) DO NOTHING",
                          [name, token_hash, town, at])
        return cursor.rowcount == 1

    def auditors(self) -> list[tuple[str, str | None, str, str | None]]:
        """(name, town, created at, revoked at) of every auditor, by name."""
        return self.all("SELECT name, town, created_at, revoked_at FROM auditor ORDER BY name")

    def auditor_by_token(self, token_hash: str) -> tuple[str, str | None] | None:
        """(name, town) of the live auditor holding the token with this hash."""
        row = self.one("SELECT name, town FROM auditor WHERE token_hash = ? AND "
                       "revoked_at IS NULL", [token_hash])
        return None if row is None else (row[0], row[1])

    def revoke_auditor(self, name: str, at: str) -> bool:
        cursor = self.run("UPDATE auditor SET revoked_at = ? WHERE name = ? AND "
                          "revoked_at IS NULL", [at, name])
        return cursor.rowcount == 1

    def log_access(self, auditor: str, at: str, method: str, path: str, status: int) -> None:
        self.run("INSERT INTO audit_access (auditor, at, method, path, status) "
                 "VALUES (?, ?, ?, ?, ?)", [auditor, at, method, path[:500], status])

    def access_log(self, limit: int = 1000) -> list[tuple[str, str, str, str, int]]:
        """The newest dashboard requests: (auditor, at, method, path, status)."""
        return self.all("SELECT auditor, at, method, path, status FROM audit_access "
                        "ORDER BY id DESC LIMIT ?", [limit])

    def add_unmask_request(self, request_id: str, auditor: str, at: str, station: str,
                           case_no: str, reason: str) -> None:
        self.run("INSERT INTO unmask_request (request_id, auditor, at, station, case_no, "
                 "reason) VALUES (?, ?, ?, ?, ?, ?)",
                 [request_id, auditor, at, station, case_no, reason])

    def unmask_requests(self, station: str | None = None
                        ) -> list[tuple[str, str, str, str, str, str]]:
        """(request id, auditor, at, station, case, reason), oldest first."""
        sql = "SELECT request_id, auditor, at, station, case_no, reason FROM unmask_request"
        return self.all(sql + " WHERE station = ? ORDER BY id", [station]) if station \
            else self.all(sql + " ORDER BY id")

    def unmask_request(self, request_id: str) -> tuple[str, str, str, str, str, str] | None:
        """(request id, auditor, at, station, case, reason) of one request."""
        row = self.one("SELECT request_id, auditor, at, station, case_no, reason FROM "
                       "unmask_request WHERE request_id = ?", [request_id])
        return None if row is None else (row[0], row[1], row[2], row[3], row[4], row[5])

    def add_unmask_answer(self, request_id: str, origin: str, envelope: str, at: str) -> bool:
        """Keep a station's sealed answer once; False if that request was answered already."""
        cursor = self.run("INSERT INTO unmask_answer (request_id, origin, envelope, "
                          "received_at) VALUES (?, ?, ?, ?) ON CONFLICT (request_id) "
                          "DO NOTHING", [request_id, origin, envelope, at])
        return cursor.rowcount == 1

    def unmask_answer(self, request_id: str) -> tuple[str, str, str] | None:
        """(origin, sealed envelope, received at) of a request's answer."""
        row = self.one("SELECT origin, envelope, received_at FROM unmask_answer WHERE "
                       "request_id = ?", [request_id])
        return None if row is None else (row[0], row[1], row[2])

    def purge_unmask_answers(self, received_before: str) -> int:
        """Drop the sealed content of answers that arrived by ``received_before`` (ISO,
        the county clock's offset): expired, they need not stay decryptable. The row stays,
        so the request still shows as answered-then-expired."""
        return self.run("UPDATE unmask_answer SET envelope = '' WHERE received_at <= ? AND "
                        "envelope <> ''", [received_before]).rowcount

    def unmask_answer_times(self, station: str | None = None) -> dict[str, str]:
        """Request id → when its answer arrived, for the requests (of ``station``) answered."""
        sql = ("SELECT a.request_id, a.received_at FROM unmask_answer a JOIN unmask_request r"
               " ON r.request_id = a.request_id")
        rows = self.all(sql + " WHERE r.station = ?", [station]) if station else self.all(sql)
        return {r[0]: r[1] for r in rows}

    def _many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if self.postgres:
            with self.conn.cursor() as cur:
                cur.executemany(sql.replace("?", "%s"), rows)
        else:
            self.conn.executemany(sql, rows)


def _by_day(facts: Any) -> dict[str, list[int]]:
    """Per day: finished, on time, rated, visits (by finishing day); accepted, on site (by
    acceptance day); first ratings, bad, fixed (by rating day); proxy entries sent and sent
    in time (by registration day); bad first ratings to rectify (by rating day)."""
    days: dict[str, list[int]] = {}

    def add(day: str | None, at: int, *values: int) -> None:
        if day is not None:
            row = days.setdefault(day, [0] * 12)
            for i, v in enumerate(values):
                row[at + i] += v

    for c in facts.cases:
        add(c.finished_day, 0, 1, int(c.on_time), int(c.rated), c.visits)
        add(c.accepted_day, 4, 1, int(c.on_site))
    for r in facts.ratings:
        to_fix = r.bad and not r.overturned
        add(r.first_day, 6, 1, int(r.bad), int(to_fix and r.fixed))
        add(r.first_day, 11, int(to_fix))
    for p in facts.proxies:
        if p.sent:
            add(p.registered_day, 9, 1, int(p.in_time))
    return days


def _plain(value: Any) -> Any:
    """PostgreSQL returns memoryview for BYTEA; the service wants bytes."""
    return bytes(value) if isinstance(value, memoryview) else value
