"""Checking, exporting and rebuilding the station log.

A replacement PC's folder also keeps earlier epochs (the lost PCs' logs recovered from the
county, ``store/epochs.py``); ``verify_history`` checks them as well as the current log, and
``verify_folder`` folds their result into the current log's report.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from station_app.crypto import Signer, signature_checker
from station_app.domain.log import MalformedEntry, decode_entry, note_key_id, parse_note
from station_app.domain.merkle import leaf_hash, tree_root
from station_app.domain.verify import Row, StoredCheckpoint, VerifyReport, verify_log
from station_app.errors import DataFolderCorrupt, FileInvalid, InvalidInput
from station_app.services.station import Station
from station_app.store.db import Database, open_database
from station_app.store.epochs import Epoch, epoch_rows, epochs
from station_app.store.keyfile import read_keys
from station_app.store.ledger import LedgerStore
from station_app.store.queries import station_info

EXPORT_FORMAT = "vss-ledger-export/1"


@dataclass(frozen=True, slots=True, kw_only=True)
class EpochCheck:
    origin: str
    entries: int
    ok: bool
    problem: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, "entries": self.entries, "ok": self.ok,
                "problem": self.problem}


@dataclass(frozen=True, slots=True)
class HistoryReport:
    """The current log's report and one check per earlier epoch (oldest first)."""

    log: VerifyReport
    epochs: tuple[EpochCheck, ...]

    @property
    def ok(self) -> bool:
        return self.log.ok and all(e.ok for e in self.epochs)

    def combined(self) -> VerifyReport:
        """The current log's report, failed if an earlier epoch failed (named in it)."""
        bad = next((e for e in self.epochs if not e.ok), None)
        if bad is None or not self.log.ok:
            return self.log
        return replace(self.log, ok=False,
                       problem=f"早期日志 {bad.origin} 校验未通过（{bad.problem}）",
                       problem_en=f"earlier epoch {bad.origin} fails: {bad.problem}")

    def as_dict(self) -> dict[str, Any]:
        return {**self.log.as_dict(), "ok": self.ok,
                "epochs": [e.as_dict() for e in self.epochs],
                "history_entries": self.log.entries + sum(e.entries for e in self.epochs)}


def verify_folder(folder: Path, *, full: bool = False) -> VerifyReport:
    """Verify the log in a data folder, earlier epochs included (``verify_history``)."""
    return verify_history(folder, full=full).combined()


def verify_history(folder: Path, *, full: bool = False) -> HistoryReport:
    """Verify the log in a data folder using only the log itself and the station's key,
    and every earlier epoch against its recovered root and the lost key's signature.

    Projections are not trusted here (they are what a tamperer would edit first); the log's
    origin is read from entry 0, whose claim to the key is one of the things checked.
    """
    db = open_database(Path(folder))
    try:
        public_key = Signer(read_keys(Path(folder)).signing_seed).public_key
        ledger = LedgerStore(db)
        first = ledger.entry(0)
        # Entry 0 unreadable (then it is what the report names): the projection's origin
        # still says which station the failed report is about.
        origin = _origin_of(first) or _projected_origin(db)
        log = verify_log(ledger.rows, ledger.checkpoints, origin=origin,
                         public_key=public_key, check_signature=signature_checker(public_key),
                         published=ledger.used_sizes(), full=full)
        return HistoryReport(log, tuple(check_epochs(db)))
    finally:
        db.conn.close()


def check_epochs(db: Database) -> list[EpochCheck]:
    """Check every recovered epoch as kept: each entry's hash, form and position, the root
    over them, and the lost PC's own signature on the receipted checkpoint (the county's
    cosignature was checked when it was fetched)."""
    return [_check_epoch(db, epoch) for epoch in epochs(db)]


def _check_epoch(db: Database, epoch: Epoch) -> EpochCheck:
    def bad(problem: str) -> EpochCheck:
        return EpochCheck(origin=epoch.origin, entries=epoch.size, ok=False, problem=problem)

    leaves = []
    for idx, data, stored in epoch_rows(db, epoch.seq):
        try:
            entry = decode_entry(data)
        except MalformedEntry as exc:
            return bad(f"entry {idx}: {exc}")
        if leaf_hash(data) != stored or entry.origin != epoch.origin or entry.idx != idx:
            return bad(f"entry {idx} does not match its hash, log or position")
        leaves.append(stored)
    if len(leaves) != epoch.size or tree_root(leaves) != epoch.root:
        return bad("the entries do not hash to the recovered root")
    head = epoch.receipt.rstrip("\n")
    try:
        note = parse_note(head[:head.rfind("\n") + 1])
    except MalformedEntry as exc:
        return bad(f"receipt: {exc}")
    public = base64.b64decode(epoch.public_key)
    if (note.checkpoint.origin, note.checkpoint.size, note.checkpoint.root) != (
            epoch.origin, epoch.size, epoch.root) or note.key_id != note_key_id(
            epoch.origin, public) or not signature_checker(public)(note.checkpoint.body(),
                                                                    note.signature):
        return bad("the receipt's checkpoint is not that log's signed root")
    return EpochCheck(origin=epoch.origin, entries=epoch.size, ok=True)


def _projected_origin(db: Database) -> str:
    info = station_info(db)
    return info.origin if info else ""


def _origin_of(entry: bytes | None) -> str:
    try:
        return json.loads(entry)["origin"] if entry else ""
    except (ValueError, KeyError, TypeError):
        return ""


@dataclass(frozen=True, slots=True)
class ExportSummary:
    path: Path
    entries: int
    root: str
    origin: str


def export_ledger(station: Station, path: Path) -> ExportSummary:
    """Write the whole log as JSON Lines: a header, one entry per line, the signed head."""
    note = station.ledger.head_note()
    if note is None:
        raise DataFolderCorrupt(path=str(station.folder), reason="账本为空")
    head = parse_note(note).checkpoint
    header = {"format": EXPORT_FORMAT, "origin": station.info.origin,
              "station": station.info.code, "public_key": station.info.public_key,
              "entries": head.size, "root": head.root.hex()}
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    try:
        with open(tmp, "wb") as f:
            f.write(json.dumps(header, ensure_ascii=False).encode() + b"\n")
            for _, entry, _ in station.ledger.rows(0, head.size):
                f.write(entry + b"\n")
            # every checkpoint, so a checker can name the first bad entry, not just say "bad"
            for size, cp_note, _ in station.ledger.checkpoints():
                if size <= head.size:
                    f.write(json.dumps({"checkpoint": cp_note}).encode() + b"\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # no such folder, a folder of that name, no permission, disk full
        tmp.unlink(missing_ok=True)
        raise InvalidInput(field="file", label="导出文件",
                           reason=f"无法写入“{path}”（{exc.strerror or exc}）") from None
    with station.transaction():
        station.ledger.mark_used(head.size, "export", station.clock.now().isoformat())
    return ExportSummary(path, head.size, head.root.hex(), station.info.origin)


def verify_export(path: Path, public_key: bytes | None = None) -> VerifyReport:
    """Verify an exported log; ``public_key`` is the key you trust (default: the file's own)."""
    try:
        lines = Path(path).read_bytes().split(b"\n")
    except OSError as exc:
        raise FileInvalid(where=str(path), reason=f"：无法读取（{exc.strerror or exc}）") from None
    if lines and lines[-1] == b"":
        lines.pop()
    try:
        header = json.loads(lines[0])
        if header.get("format") != EXPORT_FORMAT:
            raise ValueError("not an export")
        key = public_key or base64.b64decode(header["public_key"])
        count, origin = int(header["entries"]), header["origin"]
        entries = lines[1 : 1 + count]
        checkpoints = [_checkpoint_line(line) for line in lines[1 + count :]]
        if not checkpoints:
            raise ValueError("no checkpoint")
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        raise FileInvalid(where=str(path), reason="：不是账本导出文件") from None
    return verify_log(lambda: _rows(entries), lambda: checkpoints, origin=origin,
                      public_key=key, check_signature=signature_checker(key))


def _checkpoint_line(line: bytes) -> StoredCheckpoint:
    note = json.loads(line)["checkpoint"]
    return parse_note(note).checkpoint.size, note, b""


def _rows(lines: list[bytes]) -> Iterator[Row]:
    for idx, entry in enumerate(lines):
        yield idx, entry, leaf_hash(entry)


def rebuild_projections(station: Station) -> int:
    return station.rebuild()
