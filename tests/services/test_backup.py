"""Encrypted backup and restore (issue 8): a real station, real files, real SQLite.

A backup restores to the same log, keys and documents; one changed byte anywhere, a cut
file, a wrong passphrase or a non-empty target is refused with a clear error and writes
nothing; the sealed chunk layer round-trips any data and catches truncation, reordering
and bytes added after the end."""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station_app.crypto import KdfParams, SealedFileError, SealedWriter, open_sealed
from station_app.crypto.backup import CHUNK, MAGIC
from station_app.domain.documents import DocKind
from station_app.domain.people import PersonDetails
from station_app.errors import (
    BackupFileInvalid,
    BackupPassphraseWrong,
    InvalidInput,
    RestoreTargetNotEmpty,
)
from station_app.services.backup import (
    backup_info,
    backup_overdue,
    backup_station,
    last_backup,
    restore_backup,
)
from station_app.services.backup_archive import file_digest, write_archive
from station_app.services.cases import CaseRequest, add_case
from station_app.services.clock import ManualClock
from station_app.services.documents import issue_document
from station_app.services.ledger import verify_folder
from station_app.services.people import open_person
from station_app.services.station import Station
from station_app.store.backup import snapshot, snapshot_facts
from station_app.store.keyfile import keys_path

PASS = "东坑村 2025 备份口令"
SECRETS = ("张三丰", "11010519491231002X", "13812341234")
# Cheap KDF settings for the property tests of the chunk layer only (the format is the same;
# backups themselves always use the real cost).
CHEAP = KdfParams(salt=b"0123456789abcdef", iterations=1, lanes=1, memory_kib=64)


@pytest.fixture
def filled(station: Station, applicant: PersonDetails) -> Station:
    """The town station with one applicant's case and its printed 收件回执 PDF."""
    case = add_case(station, CaseRequest(item="LOCAL-MZ-004", applicant=applicant))
    issue_document(station, DocKind.RECEIPT, case.case_no, print_it=False)
    return station


@pytest.fixture
def usb(tmp_path: Path) -> Path:
    folder = tmp_path / "usb"
    folder.mkdir()
    return folder


@pytest.fixture
def made(filled: Station, usb: Path) -> Path:
    return backup_station(filled, usb, PASS).path


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_backup_restores_the_same_log_keys_and_documents(filled: Station, usb: Path,
                                                           tmp_path: Path,
                                                           applicant: PersonDetails):
    stages: list[str] = []
    report = backup_station(filled, usb, PASS, progress=lambda s, f: stages.append(s))
    size = filled.ledger.size()
    assert report.path.parent == usb and report.path.name.startswith("330199101000-")
    assert report.path.suffix == ".vssbak" and report.entries == size and report.documents == 1
    assert stages[0] == "正在生成数据快照…" and stages[-1] == "备份完成"
    assert "正在校验备份（试恢复并核对账本）…" in stages
    raw = report.path.read_bytes()
    assert raw.startswith(MAGIC) and len(raw) == report.size
    for secret in (*SECRETS, filled.info.name):  # the name is in the clear header only
        assert (secret.encode() not in raw) == (secret != filled.info.name), secret
    # nothing is left behind: no scratch folders in the data folder, no .part on the drive
    assert leftovers(usb) == [report.path.name]
    assert not [p for p in filled.folder.iterdir() if p.name.startswith(".backup-work")]
    assert backup_info(report.path) == {"station": "330199101000", "name": filled.info.name,
                                        "created": last_backup(filled).at, "entries": size}

    target = tmp_path / "new-pc" / "data"
    restored = restore_backup(report.path, target, PASS)
    assert (restored.entries, restored.root, restored.documents) == (size, report.root, 1)
    assert restored.receipt_size is None  # never synced
    assert verify_folder(target).ok
    with Station.open(target) as copy:
        assert [bytes(r[1]) for r in copy.ledger.rows()] == \
               [bytes(r[1]) for r in filled.ledger.rows()]
        person = next(iter(copy.db.execute("SELECT person FROM person_key")))[0]
        assert open_person(copy, person) == applicant
        assert last_backup(copy).at == last_backup(filled).at  # the backup it came from
    assert (target / "keys" / "station.keys.json").read_bytes() == \
           (filled.folder / "keys" / "station.keys.json").read_bytes()
    assert (target / "keys" / "station.keys.json").stat().st_mode & 0o077 == 0
    docs = sorted(p.relative_to(filled.folder) for p in filled.folder.rglob("*.pdf"))
    assert docs and docs == sorted(p.relative_to(target) for p in target.rglob("*.pdf"))
    assert all((target / d).read_bytes() == (filled.folder / d).read_bytes() for d in docs)
    assert leftovers(target.parent) == ["data"]


def test_the_snapshot_is_consistent_while_the_station_keeps_writing(filled: Station, usb: Path,
                                                                    tmp_path: Path):
    """Entries written on another connection during the backup are simply not in it."""
    before = filled.ledger.size()
    writer = Station.open(filled.folder)

    def write_meanwhile(stage: str, _: float) -> None:
        if stage.startswith("正在加密写入") and writer.ledger.size() == before:
            with writer.transaction() as tx:
                tx.append("test.note", {"n": 1})

    report = backup_station(filled, usb, PASS, progress=write_meanwhile)
    writer.close()
    assert report.entries == before and filled.ledger.size() == before + 1
    restored = restore_backup(report.path, tmp_path / "copy", PASS)
    assert restored.entries == before and verify_folder(tmp_path / "copy").ok


def test_a_backup_taken_while_another_thread_keeps_appending_restores_a_whole_log(
        filled: Station, usb: Path, tmp_path: Path):
    stop, written, before = threading.Event(), [], filled.ledger.size()

    def clerk() -> None:
        with Station.open(filled.folder) as own:
            while not stop.is_set():
                with own.transaction() as tx:
                    idx = tx.append("test.note", {"n": len(written)}).idx
                written.append(idx)  # counted once committed: the snapshot may hold it

    worker = threading.Thread(target=clerk)
    worker.start()
    try:
        while len(written) < 5:  # the clerk is busy before the backup starts
            time.sleep(0.01)
        report = backup_station(filled, usb, PASS)
    finally:
        stop.set()
        worker.join()
    restored = restore_backup(report.path, tmp_path / "copy", PASS)
    # a prefix of the log: what was committed when the snapshot was taken
    assert filled.ledger.size() > restored.entries >= before + 5
    assert verify_folder(tmp_path / "copy").ok


def corrupt(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset % len(data)] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(("where", "reason"), [
    (0, "不是站点备份文件"),            # the magic
    (10, "文件头已损坏"),              # the header length
    (40, "文件头已损坏"),              # inside the header (salt, cost, check value …)
    ("digest", "文件头已损坏"),        # the header's digest
    ("first", "第 1 段数据已损坏"),     # the first byte of the sealed data
    ("middle", "第 1 段数据已损坏"),
    (-1, "第 1 段数据已损坏"),          # the last byte (the final chunk's tag)
])
def test_one_changed_byte_anywhere_is_refused_and_nothing_is_written(
        made: Path, tmp_path: Path, where: int | str, reason: str):
    header_end = made.read_bytes().index(b"}}") + 2  # the header JSON ends with "meta": {…}}
    offset = {"digest": header_end + 5, "first": header_end + 32,
              "middle": (header_end + 32 + made.stat().st_size) // 2}.get(where, where)
    corrupt(made, offset)  # type: ignore[arg-type]
    target = tmp_path / "restored"
    with pytest.raises(BackupFileInvalid) as refused:
        restore_backup(made, target, PASS)
    assert reason in refused.value.text and "未恢复任何数据" in refused.value.text
    assert not target.exists() and leftovers(tmp_path) == sorted(["station", "usb"])


def test_an_altered_clear_header_is_refused_even_with_its_digest_recomputed(made: Path,
                                                                             tmp_path: Path):
    """The header is the AEAD's associated data: claiming other facts breaks every chunk."""
    import hashlib
    import struct

    raw = made.read_bytes()
    (length,) = struct.unpack(">I", raw[8:12])
    header = json.loads(raw[12:12 + length])
    header["meta"]["entries"] += 1
    new = json.dumps(header, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    lead = MAGIC + struct.pack(">I", len(new)) + new
    made.write_bytes(lead + hashlib.sha256(lead).digest() + raw[12 + length + 32:])
    with pytest.raises(BackupFileInvalid, match="第 1 段数据已损坏"):
        restore_backup(made, tmp_path / "restored", PASS)
    assert not (tmp_path / "restored").exists()


@pytest.mark.parametrize("keep", [0, 5, 30, "header", "half"])
def test_a_truncated_file_is_refused(made: Path, tmp_path: Path, keep: int | str):
    raw = made.read_bytes()
    header_end = raw.index(b"}}") + 2 + 32
    cut = {"header": header_end, "half": len(raw) // 2}.get(keep, keep)
    made.write_bytes(raw[:cut])  # type: ignore[misc]
    with pytest.raises(BackupFileInvalid) as refused:
        restore_backup(made, tmp_path / "restored", PASS)
    assert any(w in refused.value.text for w in ("不完整", "已损坏"))
    assert not (tmp_path / "restored").exists() and leftovers(tmp_path) == ["station", "usb"]


def test_a_wrong_passphrase_is_refused_and_nothing_is_written(made: Path, tmp_path: Path):
    with pytest.raises(BackupPassphraseWrong) as refused:
        restore_backup(made, tmp_path / "restored", PASS + "x")
    assert refused.value.text.startswith("备份口令不正确")
    assert leftovers(tmp_path) == ["station", "usb"]


def test_restore_never_overwrites_a_folder_with_something_in_it(made: Path, filled: Station,
                                                                tmp_path: Path):
    before = sorted(p.name for p in filled.folder.rglob("*"))
    with pytest.raises(RestoreTargetNotEmpty):
        restore_backup(made, filled.folder, PASS)
    assert sorted(p.name for p in filled.folder.rglob("*")) == before
    # an empty folder is fine, and so is one where the app only wrote its error log
    empty = tmp_path / "empty"
    empty.mkdir()
    assert restore_backup(made, empty, PASS).entries == filled.ledger.size()
    opened_once = tmp_path / "opened-once"
    (opened_once / "logs").mkdir(parents=True)
    (opened_once / "logs" / "ui-errors.log").write_text("", encoding="utf-8")
    assert restore_backup(made, opened_once, PASS).entries == filled.ledger.size()
    assert (opened_once / "logs" / "ui-errors.log").is_file() and verify_folder(opened_once).ok


def test_a_short_passphrase_or_a_place_inside_the_data_folder_is_refused(filled: Station,
                                                                         usb: Path):
    with pytest.raises(InvalidInput, match="至少 8 个字符"):
        backup_station(filled, usb, "1234567")
    with pytest.raises(InvalidInput, match="不能放在站点数据目录里"):
        backup_station(filled, filled.folder / "backups.vssbak", PASS)
    with pytest.raises(InvalidInput, match="no-such-folder”不存在"):
        backup_station(filled, usb / "no-such-folder" / "x.vssbak", PASS)
    with pytest.raises(InvalidInput, match="not-mounted”不存在（U盘是否已插好？）"):
        backup_station(filled, usb / "not-mounted", PASS)  # not a .vssbak name: a folder
    assert leftovers(usb) == [] and last_backup(filled) is None
    assert not list(filled.folder.glob("*.vssbak*"))


def test_the_reminder_is_due_until_a_backup_and_again_a_week_later(filled: Station, usb: Path):
    clock = filled.clock
    assert isinstance(clock, ManualClock)
    assert backup_overdue(filled, clock.now())
    backup_station(filled, usb, PASS)
    assert not backup_overdue(filled, clock.now() + timedelta(days=7))
    assert backup_overdue(filled, clock.now() + timedelta(days=7, minutes=1))
    # a second backup in the same minute gets its own file name
    again = backup_station(filled, usb, PASS)
    assert again.path.name.endswith("-2.vssbak") and len(leftovers(usb)) == 2


# ------------------------------------------------------------------ the sealed chunk layer


def seal(data: bytes, passphrase: str = PASS) -> bytes:
    out = io.BytesIO()
    writer = SealedWriter(out, passphrase, {"n": len(data)}, params=CHEAP)
    for i in range(0, len(data), 300_007):  # uneven writes, as the compressor makes them
        writer.write(data[i:i + 300_007])
    writer.close()
    return out.getvalue()


def unseal(blob: bytes, passphrase: str = PASS) -> bytes:
    header, chunks = open_sealed(io.BytesIO(blob), passphrase)
    return b"".join(chunks)


SIZES = st.sampled_from([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 17])


@settings(max_examples=12, deadline=None)
@given(size=SIZES, seed=st.integers(0, 255))
def test_sealed_chunks_round_trip_any_length(size: int, seed: int):
    data = (bytes(range(seed, 256)) + bytes(range(seed))) * (size // 256 + 1)
    data = data[:size]
    assert unseal(seal(data)) == data


def chunk_spans(blob: bytes) -> list[tuple[int, int]]:
    start = blob.index(b"}}") + 2 + 32
    spans = []
    while start < len(blob):
        spans.append((start, min(start + CHUNK + 16, len(blob))))
        start += CHUNK + 16
    return spans


def test_truncation_reordering_and_added_bytes_are_all_caught():
    blob = seal(bytes(range(256)) * (CHUNK // 128))  # exactly two full chunks
    (a0, a1), (b0, b1) = chunk_spans(blob)
    head = blob[:a0]
    cases = {
        "cut at the chunk boundary": blob[:b0],
        "chunks swapped": head + blob[b0:b1] + blob[a0:a1],
        "first chunk repeated": head + blob[a0:a1] + blob[a0:a1],
        "bytes added after the end": blob + b"\x00",
        "last chunk cut short": blob[:-1],
    }
    for name, bad in cases.items():
        with pytest.raises(SealedFileError) as caught:
            unseal(bad)
        assert caught.value.problem == "chunk", name
    with pytest.raises(SealedFileError) as caught:
        unseal(blob, "another passphrase")
    assert caught.value.problem == "passphrase"


# ------------------------------------------------------------------ files sealed by others


def sealed_by_hand(station: Station, path: Path, *, migrations_extra: tuple[str, ...] = (),
                   names: tuple[str, str] = ("station.db", "keys/station.keys.json")) -> Path:
    """A backup made with the right passphrase but not by this program's backup."""
    snap = path.with_suffix(".db")
    snapshot(station.db, snap)
    facts = snapshot_facts(snap)
    files = list(zip(names, (snap, keys_path(station.folder)), strict=True))
    info = station.info
    manifest = {"format": "vss-backup-manifest/1", "created": "2026-12-06T10:00:00.000+08:00",
                "station": {"code": info.code, "name": info.name, "origin": info.origin,
                            "level": info.level},
                "entries": facts.entries, "root": facts.root, "receipt": None,
                "migrations": [*facts.migrations, *migrations_extra], "program": "9.0.0",
                "files": [dict(zip(("path", "size", "sha256"), (n, *file_digest(p)),
                                   strict=True)) for n, p in files]}
    with open(path, "wb") as out:
        writer = SealedWriter(out, PASS, {"station": info.code, "name": info.name,
                                          "created": manifest["created"],
                                          "entries": facts.entries})
        write_archive(writer, manifest, files)
        writer.close()
    return path


def test_a_backup_from_a_newer_program_is_refused(filled: Station, tmp_path: Path):
    future = sealed_by_hand(filled, tmp_path / "future.vssbak",
                            migrations_extra=("m999_from_the_future",))
    with pytest.raises(BackupFileInvalid, match="备份来自更新版本的程序（m999_from_the_future）"):
        restore_backup(future, tmp_path / "restored", PASS)
    assert not (tmp_path / "restored").exists()


@pytest.mark.parametrize("evil", ["../outside.db", "/tmp/outside.db", "documents/../../x"])
def test_a_sealed_file_cannot_write_outside_the_folder_it_is_restored_into(
        filled: Station, tmp_path: Path, evil: str):
    crafted = sealed_by_hand(filled, tmp_path / "crafted.vssbak",
                             names=(evil, "keys/station.keys.json"))
    with pytest.raises(BackupFileInvalid, match="内容格式不对"):
        restore_backup(crafted, tmp_path / "restored", PASS)
    assert not (tmp_path / "outside.db").exists() and not Path("/tmp/outside.db").exists()
    assert not (tmp_path / "restored").exists()
