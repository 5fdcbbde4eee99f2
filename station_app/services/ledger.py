"""Checking, exporting and rebuilding the station log."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from station_app.crypto import Signer, signature_checker
from station_app.domain.log import parse_note
from station_app.domain.merkle import leaf_hash
from station_app.domain.verify import Row, StoredCheckpoint, VerifyReport, verify_log
from station_app.errors import DataFolderCorrupt, FileInvalid, InvalidInput
from station_app.services.station import Station
from station_app.store.db import Database, open_database
from station_app.store.keyfile import read_keys
from station_app.store.ledger import LedgerStore
from station_app.store.queries import station_info

EXPORT_FORMAT = "vss-ledger-export/1"


def verify_folder(folder: Path, *, full: bool = False) -> VerifyReport:
    """Verify the log in a data folder using only the log itself and the station's key.

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
        return verify_log(ledger.rows, ledger.checkpoints, origin=origin,
                          public_key=public_key, check_signature=signature_checker(public_key),
                          published=ledger.used_sizes(), full=full)
    finally:
        db.conn.close()


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
