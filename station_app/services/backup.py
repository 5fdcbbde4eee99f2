"""Encrypted backup and restore of a station's data folder (docs/backup.md).

A village PC is often the only copy of what was entered since the last sync. ``backup``
takes a consistent snapshot of the live database (SQLite's online backup API), packs it
with the station's keys and printed documents, seals it under a passphrase (Argon2id,
ChaCha20-Poly1305 in chunks: ``station_app.crypto.backup``) into ``<file>.part`` with
fsync, and then proves the file can be restored: it unpacks it into a scratch folder
exactly as ``restore`` would, verifies the whole log, opens every person's key with the
restored data key, and only then renames the file into place and records the run.

``restore`` unpacks into a hidden folder beside the target, runs the same checks, and
moves it into place in one rename: a wrong passphrase or a damaged file leaves nothing
behind, and an existing station is never overwritten.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

from station_app.crypto import SealedFileError, SealedWriter, open_sealed, read_header
from station_app.domain.clock import CST, iso
from station_app.errors import (
    BackupError,
    BackupFileInvalid,
    BackupPassphraseWrong,
    CryptoFailure,
    DataFolderError,
    InvalidInput,
    RestoreTargetNotEmpty,
    StationError,
)
from station_app.services.backup_archive import (
    ArchiveError,
    allowed_name,
    file_digest,
    read_archive,
    write_archive,
)
from station_app.services.clock import Clock, SystemClock
from station_app.services.drives import removable_drives
from station_app.services.ledger import verify_folder
from station_app.services.station import Station
from station_app.store.backup import (
    BackupRun,
    SnapshotFacts,
    last_run,
    person_keys,
    record_run,
    snapshot,
    snapshot_facts,
)
from station_app.store.db import DB_FILENAME
from station_app.store.keyfile import keys_path
from station_app.store.schema import known_migrations

SUFFIX = ".vssbak"
MANIFEST_FORMAT = "vss-backup-manifest/1"
PASSPHRASE_ENV = "STATION_BACKUP_PASSPHRASE"
MIN_PASSPHRASE = 8
REMIND_AFTER = timedelta(days=7)
KEYS_NAME = "keys/station.keys.json"
# Progress: (what is happening, in Chinese; fraction of the whole job done, 0–1)
Progress = Callable[[str, float], None]


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: Path
    entries: int
    root: str
    documents: int
    size: int  # bytes of the sealed file
    sha256: str
    snapshot_s: float
    write_s: float
    verify_s: float

    def as_dict(self) -> dict[str, Any]:
        return {"ok": True, "file": str(self.path), "entries": self.entries, "root": self.root,
                "documents": self.documents, "size": self.size, "sha256": self.sha256,
                "seconds": {"snapshot": round(self.snapshot_s, 3),
                            "write": round(self.write_s, 3), "verify": round(self.verify_s, 3)}}


@dataclass(frozen=True, slots=True)
class RestoreReport:
    folder: Path
    station: str
    name: str
    entries: int
    root: str
    documents: int
    created: str  # when the backup was made (the backed-up station's clock)
    receipt_size: int | None  # the newest county receipt inside the backup
    receipt_time: str | None
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {"ok": True, "folder": str(self.folder), "station": self.station,
                "name": self.name, "entries": self.entries, "root": self.root,
                "documents": self.documents, "created": self.created,
                "receipt": None if self.receipt_size is None else {
                    "size": self.receipt_size, "county_time": self.receipt_time},
                "seconds": round(self.seconds, 3)}


# ------------------------------------------------------------------ passphrase


def check_passphrase(passphrase: str, again: str | None = None) -> str:
    """A passphrase good enough to seal the station's keys; ``again`` is the second typing."""
    if not passphrase:
        raise InvalidInput(field="passphrase", label="备份口令", reason="请填写备份口令")
    if len(passphrase) < MIN_PASSPHRASE:
        raise InvalidInput(field="passphrase", label="备份口令",
                           reason=f"至少 {MIN_PASSPHRASE} 个字符（现在 {len(passphrase)} 个），"
                                  "可用一句好记的话")
    if again is not None and again != passphrase:
        raise InvalidInput(field="passphrase2", label="确认口令", reason="两次输入的口令不一致")
    return passphrase


# ------------------------------------------------------------------ backup


def backup_path(station: Station, to: Path) -> Path:
    """Where the file goes: a new ``<code>-<YYYYMMDD-HHMM>.vssbak`` in the folder ``to``, or
    ``to`` itself if it names a ``.vssbak`` file. Anything else must be an existing folder:
    a U盘 that is not plugged in must not turn its mount path into a file name."""
    to = Path(to)
    if to.is_dir():
        stem = f"{station.info.code}-{station.clock.now():%Y%m%d-%H%M}"
        dest, n = to / f"{stem}{SUFFIX}", 2
        while dest.exists():
            dest, n = to / f"{stem}-{n}{SUFFIX}", n + 1
    else:
        dest = to
        missing = dest.parent if dest.suffix == SUFFIX else dest
        if not missing.is_dir():
            raise InvalidInput(field="to", label="备份位置",
                               reason=f"文件夹“{missing}”不存在（U盘是否已插好？）")
    if _inside(dest, station.folder):
        raise InvalidInput(field="to", label="备份位置",
                           reason="不能放在站点数据目录里（电脑坏了会一起丢失），请选U盘或另一块硬盘")
    return dest


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def backup_station(station: Station, to: Path, passphrase: str, *,
                   progress: Progress | None = None) -> BackupReport:
    """Write a sealed, verified backup of ``station`` to ``to`` (a file or a folder)."""
    check_passphrase(passphrase)
    dest = backup_path(station, to)
    report, took = _Step(progress), _Timer()
    part = dest.with_name(dest.name + ".part")
    try:
        with _scratch(station.folder) as work:
            with took("snapshot"):
                report("正在生成数据快照…", 0.0)
                facts, files, manifest = _snapshot(station, work)
            with took("write"):
                report("正在加密写入备份文件…", 0.15)
                _write_sealed(part, passphrase, station, facts, manifest, files, report)
            with took("verify"):
                report("正在校验备份（试恢复并核对账本）…", 0.6)
                _verify_copy(part, passphrase, work / "verify", facts, report)
            size, sha256 = file_digest(part)
            os.replace(part, dest)
            _sync_folder(dest.parent)
    except OSError as exc:
        raise BackupError(reason=f"无法写入“{dest}”（{exc.strerror or exc}），未生成备份文件",
                          reason_en=f"cannot write {dest} ({exc.strerror or exc})") from None
    finally:
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
    with station.transaction():
        record_run(station.db, BackupRun(
            kind="backup", at=iso(station.clock.now()), entries=facts.entries, root=facts.root,
            size=size, sha256=sha256, file=dest.name, seconds=round(took.total(), 3)))
    report("备份完成", 1.0)
    return BackupReport(dest, facts.entries, facts.root, len(files) - 2, size, sha256,
                        took.seconds["snapshot"], took.seconds["write"], took.seconds["verify"])


class _Step:
    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress

    def __call__(self, stage: str, fraction: float) -> None:
        if self.progress is not None:
            self.progress(stage, min(max(fraction, 0.0), 1.0))


class _Timer:
    """Seconds per named phase (the report and the benchmark show them separately)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.seconds[phase] = time.perf_counter() - started

    def total(self) -> float:
        return sum(self.seconds.values())


@contextlib.contextmanager
def _scratch(folder: Path) -> Iterator[Path]:
    """Scratch space on the data folder's own disk (room for the database, owner-only)."""
    work = folder / f".backup-work-{uuid.uuid4().hex[:8]}"
    work.mkdir(mode=0o700)
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _snapshot(station: Station, work: Path
              ) -> tuple[SnapshotFacts, list[tuple[str, Path]], dict[str, Any]]:
    snap = work / DB_FILENAME
    snapshot(station.db, snap)
    keys = work / "station.keys.json"  # a copy: enrolling meanwhile cannot change it
    shutil.copyfile(keys_path(station.folder), keys)
    files = [("station.db", snap), (KEYS_NAME, keys), *_documents(station.folder)]
    facts = snapshot_facts(snap)
    return facts, files, _manifest(station, facts, files)


def _documents(folder: Path) -> list[tuple[str, Path]]:
    """The printed documents: the station's copies of what villagers were handed."""
    root = folder / "documents"
    found = []
    for path in sorted(root.rglob("*")) if root.is_dir() else []:
        name = path.relative_to(folder).as_posix()
        if path.is_file() and not path.is_symlink() and not name.endswith(".part") \
                and allowed_name(name):
            found.append((name, path))
    return found


def _manifest(station: Station, facts: SnapshotFacts,
              files: list[tuple[str, Path]]) -> dict[str, Any]:
    listed = []
    for name, path in files:
        size, digest = file_digest(path)
        listed.append({"path": name, "size": size, "sha256": digest})
    info = station.info
    return {"format": MANIFEST_FORMAT, "created": iso(station.clock.now()),
            "station": {"code": info.code, "name": info.name, "origin": info.origin,
                        "level": info.level},
            "entries": facts.entries, "root": facts.root,
            "receipt": None if facts.receipt_size is None else {
                "size": facts.receipt_size, "county_time": facts.receipt_time},
            "migrations": list(facts.migrations), "program": _program_version(),
            "files": listed}


def _program_version() -> str:
    try:
        return metadata.version("station-app")
    except metadata.PackageNotFoundError:
        return "unknown"


def _write_sealed(part: Path, passphrase: str, station: Station, facts: SnapshotFacts,
                  manifest: dict[str, Any], files: list[tuple[str, Path]], report: _Step
                  ) -> None:
    # Clear facts only (the station is public; the entries count helps pick the right file).
    meta = {"station": station.info.code, "name": station.info.name,
            "created": manifest["created"], "entries": facts.entries}
    total = sum(f["size"] for f in manifest["files"]) or 1
    with open(part, "wb") as out:
        sealed = SealedWriter(out, passphrase, meta)
        write_archive(sealed, manifest, files,
                      lambda done: report("正在加密写入备份文件…", 0.15 + 0.45 * done / total))
        sealed.close()
        out.flush()
        os.fsync(out.fileno())
        _drop_cache(out.fileno())  # so the check below reads the drive, not memory


def _drop_cache(fd: int) -> None:
    advise = getattr(os, "posix_fadvise", None)
    if advise is not None:
        with contextlib.suppress(OSError):
            advise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; Windows has no directory handles for this)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):  # best effort: some drives' file systems refuse it
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _verify_copy(part: Path, passphrase: str, scratch: Path, facts: SnapshotFacts,
                 report: _Step) -> None:
    """Restore the written file into ``scratch`` exactly as ``restore`` does."""
    try:
        manifest = _unpack(part, passphrase, scratch,
                           lambda f: report("正在校验备份（试恢复并核对账本）…", 0.6 + 0.2 * f))
        report("正在校验备份（试恢复并核对账本）…", 0.8)
        _check_restored(scratch, manifest, part)
    except StationError as error:
        raise BackupError(reason=f"写入后的校验失败（{error.text}），请换一个U盘再试",
                          reason_en=f"the written file failed its check ({error.text_en})") \
            from None
    if (manifest["entries"], manifest["root"]) != (facts.entries, facts.root):
        raise BackupError(reason="写入后的校验失败（账本条数或默克尔根不符）",
                          reason_en="the written file holds another log than the snapshot")


# ------------------------------------------------------------------ restore


def backup_info(source: Path) -> dict[str, Any]:
    """The clear facts in a backup's header (station, name, created, entries)."""
    source = Path(source)
    try:
        with open(source, "rb") as f:
            return dict(read_header(f).meta)
    except OSError as exc:
        raise BackupFileInvalid(path=str(source), reason=f"无法读取（{exc.strerror or exc}）",
                                reason_en=f"cannot read it ({exc.strerror or exc})") from None
    except SealedFileError as exc:
        raise _file_error(source, exc) from None


def restore_backup(source: Path, target: Path, passphrase: str, *, clock: Clock | None = None,
                   progress: Progress | None = None) -> RestoreReport:
    """Restore ``source`` into ``target``, a data folder that does not exist yet or is empty
    (but for ``logs/``: opening the app on a new PC's empty folder makes it)."""
    source, target, report = Path(source), Path(target), _Step(progress)
    started = time.perf_counter()
    if target.exists() and (not target.is_dir() or any(
            p.name != "logs" or not p.is_dir() for p in target.iterdir())):
        raise RestoreTargetNotEmpty(path=str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.restoring-{uuid.uuid4().hex[:8]}"
    try:
        manifest = _unpack(source, passphrase, staging,
                           lambda f: report("正在解密并解包备份…", 0.8 * f))
        report("正在核对账本和密钥…", 0.8)
        _check_restored(staging, manifest, source)
        _record_restore(staging, manifest, source, clock or SystemClock())
        if target.exists():  # empty but for logs/ (checked above), which comes along
            if (target / "logs").is_dir():
                os.replace(target / "logs", staging / "logs")
            target.rmdir()
        os.replace(staging, target)
        _sync_folder(target.parent)
    except OSError as exc:
        raise BackupError(reason=f"无法写入“{target}”（{exc.strerror or exc}），未恢复任何数据",
                          reason_en=f"cannot write {target} ({exc.strerror or exc})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report("恢复完成", 1.0)
    receipt = manifest["receipt"]
    return RestoreReport(
        target, manifest["station"]["code"], manifest["station"]["name"], manifest["entries"],
        manifest["root"], len(manifest["files"]) - 2, manifest["created"],
        receipt["size"] if receipt else None,
        iso(datetime.fromtimestamp(receipt["county_time"], CST)) if receipt else None,
        time.perf_counter() - started)


def _unpack(source: Path, passphrase: str, folder: Path,
            progress: Callable[[float], None]) -> dict[str, Any]:
    """Decrypt and unpack ``source`` into the new ``folder``; every byte is checked."""
    folder.mkdir(mode=0o700)
    try:
        f = open(source, "rb")  # closed below, once the chunk generator is done
    except OSError as exc:
        raise BackupFileInvalid(path=str(source), reason=f"无法读取（{exc.strerror or exc}）",
                                reason_en=f"cannot read it ({exc.strerror or exc})") from None
    with f:
        total = max(os.fstat(f.fileno()).st_size, 1)
        try:
            header, chunks = open_sealed(f, passphrase)
            manifest = read_archive(chunks, folder, lambda _: progress(f.tell() / total))
        except SealedFileError as exc:
            raise _file_error(source, exc) from None
        except ArchiveError as exc:
            raise BackupFileInvalid(path=str(source), reason="内容格式不对",
                                    reason_en=f"malformed content ({exc})") from None
    _check_manifest(source, manifest, header.meta)
    return manifest


def _file_error(source: Path, exc: SealedFileError) -> StationError:
    if exc.problem == "passphrase":
        return BackupPassphraseWrong()
    reason = {"magic": ("不是站点备份文件", "not a station backup file"),
              "header": ("文件头已损坏", "the header is damaged"),
              "truncated": ("文件不完整（可能没有复制完）", "the file is truncated")}.get(
        exc.problem, (f"第 {(exc.chunk or 0) + 1} 段数据已损坏、被改动或文件不完整",
                      f"chunk {exc.chunk} is damaged, altered or missing"))
    return BackupFileInvalid(path=str(source), reason=reason[0], reason_en=reason[1])


def _check_manifest(source: Path, manifest: dict[str, Any], meta: dict[str, Any]) -> None:
    try:
        fine = (manifest["format"] == MANIFEST_FORMAT
                and [f["path"] for f in manifest["files"][:2]] == ["station.db", KEYS_NAME]
                and manifest["entries"] == meta["entries"]
                and manifest["station"]["code"] == meta["station"])
        newer = [m for m in manifest["migrations"] if m not in known_migrations()]
    except (KeyError, TypeError):
        fine, newer = False, []
    if not fine:
        raise BackupFileInvalid(path=str(source), reason="内容格式不对",
                                reason_en="malformed manifest")
    if newer:
        raise BackupFileInvalid(path=str(source),
                                reason=f"备份来自更新版本的程序（{newer[-1]}），请用新版本程序恢复",
                                reason_en=f"written by a newer program ({newer[-1]})")


def _check_restored(folder: Path, manifest: dict[str, Any], source: Path) -> None:
    """The log verifies to the manifest's root, and the keys open this station's vault."""
    try:
        result = verify_folder(folder)
    except DataFolderError as error:  # e.g. written by a newer program, or not a database
        raise BackupFileInvalid(path=str(source), reason=f"备份中的数据无法打开（{error.text}）",
                                reason_en=f"the data inside cannot be opened "
                                          f"({error.text_en})") from None
    if not result.ok or (result.entries, result.root.hex()) != (manifest["entries"],
                                                               manifest["root"]):
        problem = result.problem or "条数或根不符"
        raise BackupFileInvalid(path=str(source), reason=f"备份中的账本校验未通过（{problem}）",
                                reason_en=f"the log inside fails verification "
                                          f"({result.problem_en or 'size or root differs'})")
    with Station.open(folder) as station:
        try:
            for person in person_keys(station.db):
                station.vault.key(person)
        except CryptoFailure:
            raise BackupFileInvalid(path=str(source), reason="备份中的密钥打不开本站的个人信息",
                                    reason_en="the keys inside do not open the vault") from None


def _record_restore(folder: Path, manifest: dict[str, Any], source: Path, clock: Clock) -> None:
    """The restored copy remembers the backup it came from (local state, not the log: an
    entry written here could clash with entries the county already holds at that index)."""
    size, sha256 = file_digest(source)
    with Station.open(folder, clock=clock) as station, station.transaction():
        for kind, at in (("backup", manifest["created"]), ("restored", iso(clock.now()))):
            record_run(station.db, BackupRun(kind=kind, at=at, entries=manifest["entries"],
                                             root=manifest["root"], size=size, sha256=sha256,
                                             file=source.name, seconds=0.0))


def backups_on_drives() -> list[Path]:
    """``*.vssbak`` files on the plugged-in U盘s (top folder and one level down), newest
    first: what a new PC's first-run screen offers to restore."""
    found: set[Path] = set()
    for drive in removable_drives():
        for pattern in (f"*{SUFFIX}", f"*/*{SUFFIX}"):
            with contextlib.suppress(OSError):
                found.update(p for p in drive.path.glob(pattern) if p.is_file())
    return sorted(found, key=_mtime, reverse=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


# ------------------------------------------------------------------ reminder


def last_backup(station: Station) -> BackupRun | None:
    return last_run(station.db, "backup")


def backup_overdue(station: Station, now: datetime) -> bool:
    """True when no backup was ever made, or the newest is older than a week."""
    run = last_backup(station)
    return run is None or now - datetime.fromisoformat(run.at) > REMIND_AFTER
