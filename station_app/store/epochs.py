"""Earlier key epochs of the station's log (docs/recovery.md).

A replacement PC (the old one was lost) starts a log of its own under a new key; the old
log's acknowledged entries, fetched from the county and verified against its receipt, are
kept here read-only. Together they are one history: a *position* counts entries over every
epoch in order (epoch 1's entries, then epoch 2's …, then the current log), and that is the
``idx`` the projections record, so case events and numbers run on across the boundary.
Without earlier epochs a position is simply the current log's leaf index.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from station_app.domain.log import LogEntry, decode_entry
from station_app.store.ledger import LedgerStore


@dataclass(frozen=True, slots=True, kw_only=True)
class Epoch:
    seq: int  # 0 for the oldest epoch
    origin: str
    public_key: str  # base64 Ed25519 key that signed that log
    size: int  # acknowledged entries recovered
    root: bytes  # Merkle root at ``size``, as the county's receipt states
    receipt: str  # the county's receipt note for ``size``
    county_time: int  # the receipt's county time (Unix seconds)
    recovered_at: str
    base: int  # position of the epoch's entry 0


def epochs(db: Database) -> list[Epoch]:
    rows = db.execute("SELECT seq, origin, public_key, size, root, receipt, county_time, "
                      "recovered_at FROM log_epoch ORDER BY seq").fetchall()
    out, base = [], 0
    for seq, origin, public_key, size, root, receipt, county_time, at in rows:
        out.append(Epoch(seq=seq, origin=origin, public_key=public_key, size=size, root=root,
                         receipt=receipt, county_time=county_time, recovered_at=at,
                         base=base))
        base += size
    return out


def history_base(db: Database) -> int:
    """Entries of every earlier epoch: the position of the current log's entry 0."""
    return int(db.execute("SELECT COALESCE(SUM(size), 0) FROM log_epoch").fetchone()[0])


def add_epoch(db: Database, epoch: Epoch, entries: Sequence[tuple[bytes, bytes]]) -> None:
    """Keep a verified earlier epoch: ``entries`` are (entry bytes, leaf hash) from 0."""
    db.execute("INSERT INTO log_epoch (seq, origin, public_key, size, root, receipt, "
               "county_time, recovered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               [epoch.seq, epoch.origin, epoch.public_key, epoch.size, epoch.root,
                epoch.receipt, epoch.county_time, epoch.recovered_at])
    db.conn.executemany("INSERT INTO epoch_entry (seq, idx, entry, leaf_hash) "
                        "VALUES (?, ?, ?, ?)",
                        [(epoch.seq, i, e, h) for i, (e, h) in enumerate(entries)])


def epoch_rows(db: Database, seq: int) -> Iterator[tuple[int, bytes, bytes]]:
    yield from db.execute("SELECT idx, entry, leaf_hash FROM epoch_entry WHERE seq = ? "
                          "ORDER BY idx", [seq])


def history(db: Database) -> Iterator[LogEntry]:
    """Every entry of the station's history by position: the recovered epochs of lost PCs,
    then the current log (docs/recovery.md). What a projection rebuild replays."""
    base = 0
    for epoch in epochs(db):
        for idx, data, _ in epoch_rows(db, epoch.seq):
            yield dataclasses.replace(decode_entry(data), idx=epoch.base + idx)
        base = epoch.base + epoch.size
    for _, data, _ in LedgerStore(db).rows():
        entry = decode_entry(data)
        yield dataclasses.replace(entry, idx=entry.idx + base) if base else entry


class HistoryLedger(LedgerStore):
    """The current log, whose ``entry`` takes a position over the whole history (what
    projections record); everything else (rows, checkpoints, appends) is the current log's
    own leaf indices."""

    def __init__(self, db: Database, base: int = 0) -> None:
        super().__init__(db)
        self.base = base

    def entry(self, idx: int) -> bytes | None:
        if idx >= self.base:
            return super().entry(idx - self.base)
        for epoch in epochs(self.db):
            if epoch.base <= idx < epoch.base + epoch.size:
                row = self.db.execute("SELECT entry FROM epoch_entry WHERE seq = ? AND idx = ?",
                                      [epoch.seq, idx - epoch.base]).fetchone()
                return None if row is None else row[0]
        return None
