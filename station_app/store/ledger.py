"""The station log on disk: append an entry with its signed checkpoint, read it back.

Every append stores, beside the entry, a checkpoint for the new size signed by the station
key, plus the tree's frontier ("peaks") so the next append costs O(log n) and never rereads
the log. Appending must happen inside a write transaction (``db.immediate``); the caller's
transaction makes entry, checkpoint and projection one unit.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlite_utils import Database

from station_app.crypto import Signer
from station_app.domain.log import Checkpoint, SignedCheckpoint, note_key_id
from station_app.domain.merkle import Frontier, leaf_hash, pack_peaks, unpack_peaks
from station_app.domain.verify import Row, StoredCheckpoint
from station_app.errors import DataFolderCorrupt


class LedgerStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def frontier(self) -> Frontier:
        row = self.db.execute(
            "SELECT size, peaks FROM checkpoint ORDER BY size DESC LIMIT 1").fetchone()
        if row is None:
            return Frontier()
        try:
            return Frontier(row[0], unpack_peaks(row[1]))
        except ValueError as exc:
            raise DataFolderCorrupt(path="checkpoint", reason=str(exc)) from None

    def size(self) -> int:
        row = self.db.execute("SELECT MAX(size) FROM checkpoint").fetchone()
        return row[0] or 0

    def append(self, entry: bytes, *, idx: int, origin: str, signer: Signer) -> str:
        """Store entry ``idx`` and the signed checkpoint for size ``idx + 1``; return the note."""
        frontier = self.frontier()
        if frontier.size != idx:
            raise DataFolderCorrupt(path="ledger",
                                    reason=f"日志长度 {frontier.size} 与序号 {idx} 不符")
        digest = leaf_hash(entry)
        frontier.append(digest)
        checkpoint = Checkpoint(origin, frontier.size, frontier.root())
        signature = signer.sign(checkpoint.body())
        note = SignedCheckpoint(checkpoint, origin, note_key_id(origin, signer.public_key),
                                signature).note()
        self.db.execute("INSERT INTO ledger (idx, entry, leaf_hash) VALUES (?, ?, ?)",
                        [idx, entry, digest])
        self.db.execute("INSERT INTO checkpoint (size, note, peaks) VALUES (?, ?, ?)",
                        [frontier.size, note, pack_peaks(frontier.peaks)])
        return note

    def rows(self, start: int = 0, end: int | None = None) -> Iterator[Row]:
        sql = "SELECT idx, entry, leaf_hash FROM ledger WHERE idx >= ?"
        params: list[int] = [start]
        if end is not None:
            sql += " AND idx < ?"
            params.append(end)
        yield from self.db.execute(sql + " ORDER BY idx", params)

    def entry(self, idx: int) -> bytes | None:
        row = self.db.execute("SELECT entry FROM ledger WHERE idx = ?", [idx]).fetchone()
        return None if row is None else row[0]

    def checkpoints(self) -> Iterator[StoredCheckpoint]:
        yield from self.db.execute("SELECT size, note, peaks FROM checkpoint ORDER BY size")

    def head_note(self) -> str | None:
        row = self.db.execute(
            "SELECT note FROM checkpoint ORDER BY size DESC LIMIT 1").fetchone()
        return None if row is None else row[0]

    def mark_used(self, size: int, purpose: str, at: str) -> None:
        """Record that the checkpoint at ``size`` left the device (sync, export, receipt)."""
        self.db.execute("INSERT INTO checkpoint_use (size, purpose, at) VALUES (?, ?, ?)",
                        [size, purpose, at])

    def used_sizes(self) -> set[int]:
        return {r[0] for r in self.db.execute("SELECT DISTINCT size FROM checkpoint_use")}
