"""The station's sync state: enrollment, county receipts, applied publications."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database


@dataclass(frozen=True, slots=True)
class StoredReceipt:
    size: int
    note: str
    county_time: int  # Unix seconds, the county's clock
    received_at: str  # the station's clock when it arrived


class SyncState:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------- config

    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM sync_config WHERE key = ?", [key]).fetchone()
        return None if row is None else row[0]

    def get_json(self, key: str) -> Any:
        value = self.get(key)
        return None if value is None else json.loads(value)

    def put(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO sync_config (key, value) VALUES (?, ?) ON CONFLICT (key) "
                        "DO UPDATE SET value = excluded.value", [key, value])

    def put_json(self, key: str, value: Any) -> None:
        self.put(key, json.dumps(value, ensure_ascii=False, sort_keys=True))

    # ----------------------------------------------------------------- receipts

    def add_receipt(self, size: int, note: str, county_time: int, received_at: str) -> bool:
        """Keep a receipt; False if one for that size is already kept (a replay)."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO sync_receipt (size, note, county_time, received_at) "
            "VALUES (?, ?, ?, ?)", [size, note, county_time, received_at])
        return cursor.rowcount == 1

    def latest_receipt(self) -> StoredReceipt | None:
        row = self.db.execute("SELECT size, note, county_time, received_at FROM sync_receipt "
                              "ORDER BY size DESC LIMIT 1").fetchone()
        return None if row is None else StoredReceipt(*row)

    def receipts(self) -> list[StoredReceipt]:
        return [StoredReceipt(*r) for r in self.db.execute(
            "SELECT size, note, county_time, received_at FROM sync_receipt ORDER BY size")]

    # ------------------------------------------------------------- publications

    def publication_version(self, collection: str) -> int:
        row = self.db.execute("SELECT version FROM sync_publication WHERE collection = ?",
                              [collection]).fetchone()
        return 0 if row is None else int(row[0])

    def publication_digest(self, collection: str) -> str | None:
        """The digest of the applied version (a replay of it is harmless, not a rollback)."""
        row = self.db.execute("SELECT digest FROM sync_publication WHERE collection = ?",
                              [collection]).fetchone()
        return None if row is None else str(row[0])

    def publication_versions(self) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in self.db.execute(
            "SELECT collection, version FROM sync_publication")}

    def set_publication(self, collection: str, version: int, digest: str, issued: str,
                        expires: str, applied_at: str) -> None:
        self.db.execute(
            "INSERT INTO sync_publication (collection, version, digest, issued, expires, "
            "applied_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (collection) DO UPDATE SET "
            "version = excluded.version, digest = excluded.digest, issued = excluded.issued, "
            "expires = excluded.expires, applied_at = excluded.applied_at "
            "WHERE excluded.version > sync_publication.version",
            [collection, version, digest, issued, expires, applied_at])

    def publications(self) -> list[tuple[str, int, str, str]]:
        return [tuple(r) for r in self.db.execute(  # type: ignore[misc]
            "SELECT collection, version, expires, applied_at FROM sync_publication "
            "ORDER BY collection")]
