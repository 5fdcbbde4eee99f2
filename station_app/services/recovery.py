"""A replacement PC's station folder, built from the lost PC's history (docs/recovery.md).

``sync.recover`` fetches the lost PC's acknowledged log from the county and verifies it
against the county's receipt; this module makes the new folder from it, in one transaction:
the lost log (and any earlier epochs) kept read-only as epochs, the projections replayed
from them, and the new log's first entries — ``station.created`` for the new key, then a
``log.succession`` entry naming the lost log's acknowledged size and root (the county checks
it), which is also the recovery report, then ``sync.enrolled``. Nothing here talks to the
network or trusts anything unverified.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from station_app.crypto import Signer, hash_pin
from station_app.domain.clock import CST, iso, local_day
from station_app.domain.log import (
    GENESIS_KIND,
    decode_entry,
    make_origin,
)
from station_app.domain.merkle import leaf_hash
from station_app.domain.numbering import ReservedRange, reserve_after_loss, reserved_body
from station_app.domain.users import Role, User, check_pin
from station_app.errors import (
    DataFolderError,
    InvalidInput,
    RecoveryFolderNotEmpty,
    RecoveryRefused,
)
from station_app.services.backup import restore_backup
from station_app.services.clock import Clock
from station_app.services.ledger import EpochCheck as EpochCheck  # re-exported
from station_app.services.ledger import check_epochs
from station_app.services.station import Station, Transaction
from station_app.services.users import users
from station_app.store.db import Database, immediate, open_database
from station_app.store.epochs import Epoch, add_epoch, epochs
from station_app.store.keyfile import StationKeys, keys_path, read_keys
from station_app.store.queries import StationInfo, station_info
from station_app.store.vault import Vault

SUCCESSION_KIND = "log.succession"


@dataclass(frozen=True, slots=True, kw_only=True)
class LostLog:
    """A lost PC's acknowledged log, fetched from the county and verified (sync.recover)."""

    origin: str
    public_key: str  # base64 Ed25519 key that signed it
    entries: tuple[bytes, ...]
    root: bytes
    receipt: str  # the county's receipt note for ``len(entries)``
    county_time: int  # the receipt's county time (Unix seconds)

    @property
    def size(self) -> int:
        return len(self.entries)


@dataclass(frozen=True, slots=True, kw_only=True)
class RecoveryReport:
    origin: str  # the new log
    predecessor: str  # the lost PC's log
    acknowledged: int  # entries of the lost log the county had acknowledged (all recovered)
    recovered: int  # entries recovered over every earlier epoch
    county_time: str  # when the county acknowledged the last of them
    highest_case: str | None
    highest_proxy: str | None
    persons: int  # people on record in the recovered history (not erased)
    persons_unrecoverable: int  # of them, whose sealed details no key here can open
    keys_imported: int
    epochs: tuple[str, ...] = field(default_factory=tuple)  # earlier origins, oldest first
    # numbers kept back for 补录 of the lost PC's paper (docs/recovery.md, "Numbers after…")
    reserved: tuple[ReservedRange, ...] = field(default_factory=tuple)

    def body(self, root: bytes, receipt: str, county_time: int, at: str) -> dict[str, Any]:
        """The ``log.succession`` entry's body: the link the county checks, and the report."""
        return {"predecessor": {"origin": self.predecessor, "size": self.acknowledged,
                                "root": base64.b64encode(root).decode(), "receipt": receipt,
                                "county_time": county_time},
                "epochs": list(self.epochs), "recovered": self.recovered,
                "unrecoverable_after": self.county_time,
                "highest": {"case_no": self.highest_case, "proxy_no": self.highest_proxy},
                "persons": self.persons, "persons_unrecoverable": self.persons_unrecoverable,
                "keys_imported": self.keys_imported, "reserved": reserved_body(self.reserved),
                "at": at}

    def as_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, "predecessor": self.predecessor,
                "acknowledged": self.acknowledged, "recovered": self.recovered,
                "county_time": self.county_time, "highest_case": self.highest_case,
                "highest_proxy": self.highest_proxy, "persons": self.persons,
                "persons_unrecoverable": self.persons_unrecoverable,
                "keys_imported": self.keys_imported, "epochs": list(self.epochs),
                "reserved": reserved_body(self.reserved)}

    def text(self) -> str:
        lines = [f"已从县级恢复 {self.recovered} 条记录（原电脑日志 {self.predecessor}，"
                 f"县级最后确认 {self.acknowledged} 条，确认时间 {self.county_time}）",
                 f"最大办件编号：{self.highest_case or '（无）'}；"
                 f"最大代办序号：{self.highest_proxy or '（无）'}（新编号从其后接续）",
                 f"新日志：{self.origin}",
                 f"原电脑在 {self.county_time} 之后录入的记录没有同步到县级，无法恢复，"
                 "请根据纸质材料补录"]
        lines += [_reserved_line(r) for r in self.reserved]
        if self.persons:
            lines.append(f"人员信息：共 {self.persons} 人，其中 {self.persons_unrecoverable} 人"
                         "的姓名、证件号等无法解密（原电脑的密钥已丢失），可用 --keys-from "
                         "指定从备份恢复的原数据目录导入密钥")
        return "\n".join(lines)


def _reserved_line(r: ReservedRange) -> str:
    what = "办件编号" if r.kind == "case" else "代办序号"
    return (f"已为补录预留{what}（{r.period}）：序号 {r.first}–{r.last}，"
            f"新编号从 {r.last + 1} 起（补录时用 --number 填写纸质回执上的编号）")


@dataclass(frozen=True, slots=True, kw_only=True)
class Enrolled:
    """What enrolling gave the new PC, kept as ``enroll`` keeps it (``sync_config``)."""

    config: Mapping[str, str]  # server, root, keyset, certificate (JSON text where JSON)
    entry: Mapping[str, Any]  # the ``sync.enrolled`` entry's body


def build_recovered(folder: Path, keys: StationKeys, chain: Sequence[LostLog], *,
                    enrolled: Enrolled, clock: Clock, actor: str,
                    person_keys: Mapping[str, bytes] | None = None) -> RecoveryReport:
    """Make the replacement PC's station in ``folder`` (keys already there) from ``chain``
    (oldest epoch first, the lost log last). One transaction: on any failure nothing of the
    database is left."""
    db = open_database(folder, create=True)
    try:
        with immediate(db):
            report = _build(folder, db, keys, chain, enrolled, clock, actor, person_keys or {})
    except BaseException:
        db.conn.close()
        for suffix in ("", "-wal", "-shm"):
            (folder / f"station.db{suffix}").unlink(missing_ok=True)
        raise
    db.conn.close()
    return report


def _build(folder: Path, db: Database, keys: StationKeys, chain: Sequence[LostLog],
           enrolled: Enrolled, clock: Clock, actor: str, person_keys: Mapping[str, bytes]
           ) -> RecoveryReport:
    now = iso(clock.now())
    for seq, lost in enumerate(chain):
        add_epoch(db, Epoch(seq=seq, origin=lost.origin, public_key=lost.public_key,
                            size=lost.size, root=lost.root, receipt=lost.receipt,
                            county_time=lost.county_time, recovered_at=now, base=0),
                  [(e, leaf_hash(e)) for e in lost.entries])
    signer = Signer(keys.signing_seed)
    genesis = dict(decode_entry(chain[-1].entries[0]).body)
    public = base64.b64encode(signer.public_key).decode()
    info = StationInfo(code=genesis["code"], name=genesis["name"], region=genesis["region"],
                       level=genesis["level"], origin=make_origin(genesis["code"],
                                                                  signer.public_key),
                       public_key=public, created_at="", demo=bool(genesis.get("demo")))
    station = Station(folder, db, keys, signer, info, clock, actor)
    for person, key in person_keys.items():
        station.vault.put(person, key)
    station.projector.rebuild(station.history())  # the recovered epochs, by position
    lost = chain[-1]
    report = _report(station, chain, info.origin, len(person_keys))
    tx = Transaction(station)
    tx.append(GENESIS_KIND, {**{k: genesis[k] for k in ("code", "name", "region", "level")},
                             "public_key": public, "demo": bool(genesis.get("demo"))})
    tx.append(SUCCESSION_KIND, report.body(lost.root, lost.receipt, lost.county_time, now))
    for key, value in enrolled.config.items():
        station.sync_state.put(key, value)
    tx.append("sync.enrolled", dict(enrolled.entry))
    return report


def _report(station: Station, chain: Sequence[LostLog], origin: str, imported: int
            ) -> RecoveryReport:
    db, lost = station.db, chain[-1]
    case = db.execute("SELECT case_no FROM cases ORDER BY day DESC, seq DESC LIMIT 1"
                      ).fetchone()
    proxy = db.execute("SELECT proxy_no FROM proxies ORDER BY year DESC, seq DESC LIMIT 1"
                       ).fetchone()
    recorded: set[str] = set()
    erased: set[str] = set()
    for log in chain:
        for data in log.entries:
            entry = decode_entry(data)
            if entry.kind == "person.recorded":
                recorded.add(entry.body["person"])
            elif entry.kind == "person.erased":
                erased.add(entry.body["person"])
    living = recorded - erased
    opened = {p for p in living if station.vault.key(p) is not None}
    last = decode_entry(lost.entries[-1])
    reserved = reserve_after_loss(
        last_day=local_day(datetime.fromisoformat(last.t_wall)),
        recovery_day=local_day(station.clock.now()),
        highest_case={r[0]: r[1] for r in db.execute(
            "SELECT day, MAX(seq) FROM cases GROUP BY day")},
        highest_proxy={str(r[0]): r[1] for r in db.execute(
            "SELECT year, MAX(seq) FROM proxies GROUP BY year")})
    return RecoveryReport(
        origin=origin, predecessor=lost.origin, acknowledged=lost.size,
        recovered=sum(log.size for log in chain),
        county_time=iso(datetime.fromtimestamp(lost.county_time, CST)),
        highest_case=case[0] if case else None, highest_proxy=proxy[0] if proxy else None,
        persons=len(living), persons_unrecoverable=len(living - opened),
        keys_imported=imported, epochs=tuple(log.origin for log in chain),
        reserved=reserved)


def person_keys_from(restored: Path, code: str, origins: Sequence[str]) -> dict[str, bytes]:
    """The per-person keys of a copy of the lost PC restored from a backup (its own data
    folder, with its key file): the only place they survive. The copy must be this
    station's, under one of the recovered logs' keys."""
    try:
        keys = read_keys(Path(restored))
        db = open_database(Path(restored))
    except DataFolderError as exc:
        raise RecoveryRefused(reason=f"用于导入人员密钥的数据（--keys-from）不可用（{exc.text}）",
                              reason_en=f"--keys-from folder unusable ({exc.text_en})") from None
    try:
        info = station_info(db)
        if info is None or info.code != code or not (
                info.origin in origins or any(e.origin in origins for e in epochs(db))):
            raise RecoveryRefused(reason="用于导入人员密钥的备份（--keys-from）"
                                         "不是本站原电脑的数据",
                                  reason_en="the --keys-from folder is not this station's")
        vault = Vault(db, keys.data_key)
        people = [r[0] for r in db.execute("SELECT person FROM person_key")]
        return {p: k for p in people if (k := vault.key(p)) is not None}
    finally:
        db.conn.close()


def succession_of(station: Station) -> dict[str, Any] | None:
    """The ``log.succession`` body of this station's current log (None if it replaced no
    lost PC): the recovery report as the log keeps it."""
    for _, raw, _ in station.ledger.rows(1, 2):
        entry = decode_entry(raw)
        if entry.kind == SUCCESSION_KIND:
            return json.loads(json.dumps(dict(entry.body)))
    return None


def verify_epochs(station: Station) -> list[EpochCheck]:
    """Check every recovered epoch as kept (``services.ledger.check_epochs``, which
    ``ledger verify`` runs too)."""
    return check_epochs(station.db)


# ------------------------------------------------------------------ the app's first run

# (folder to build the station in, a restored copy of the lost PC for its person keys)
Recover = Callable[[Path, Path | None], RecoveryReport]


def fresh_data_folder(folder: Path) -> bool:
    """No station here yet: missing, or empty but for ``logs/`` (which the app makes as
    soon as it starts on a new PC)."""
    folder = Path(folder)
    return not folder.exists() or (folder.is_dir() and all(
        p.name == "logs" and p.is_dir() for p in folder.iterdir()))


def recovery_staging(target: Path) -> Path:
    """Where the app builds the replacement station for ``target``: beside it (same disk,
    one rename), and kept when a try stops after enrolling, so the retry resumes."""
    target = Path(target)
    return target.parent / f".{target.name}.recovering"


def recovery_started(target: Path) -> bool:
    """An earlier try enrolled (its code is used up) but did not finish: a retry resumes
    without a code."""
    return keys_path(recovery_staging(target)).exists()


def recover_into(target: Path, recover: Recover, *, keys_backup: Path | None = None,
                 passphrase: str = "", clock: Clock,
                 progress: Callable[[str, float], None] | None = None) -> RecoveryReport:
    """The replacement PC's recovery into the app's data folder ``target``.

    The lost PC's backup (for its person keys) is opened first, in a scratch folder, so a
    wrong passphrase costs no replacement code; ``recover`` (``sync.auto``) then builds the
    station in ``recovery_staging(target)``, which is moved into place only when complete:
    whatever fails, ``target`` is left as it was."""
    target = Path(target)
    if not fresh_data_folder(target):
        raise RecoveryFolderNotEmpty(path=str(target))
    target.parent.mkdir(parents=True, exist_ok=True)

    def step(stage: str, fraction: float) -> None:
        if progress is not None:
            progress(stage, fraction)

    scratch = target.parent / f".{target.name}.keys-{uuid.uuid4().hex[:8]}"
    try:
        keys_from = None
        if keys_backup is not None:
            restore_backup(keys_backup, scratch, passphrase, clock=clock,
                           progress=lambda stage, f: step(stage, 0.3 * f))
            keys_from = scratch
        step("正在向县级注册并下载本站记录…", 0.35)
        report = recover(recovery_staging(target), keys_from)
        if keys_from is not None:
            import_pins(keys_from, recovery_staging(target))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    step("正在启用恢复的数据…", 0.95)
    _adopt(recovery_staging(target), target)
    step("恢复完成", 1.0)
    return report


def _adopt(staging: Path, target: Path) -> None:
    """Move the finished folder into place in one rename; ``logs/`` comes along."""
    if target.exists():
        if (target / "logs").is_dir():
            os.replace(target / "logs", staging / "logs")
        target.rmdir()
    os.replace(staging, target)


def import_pins(restored: Path, folder: Path) -> int:
    """Copy the users' PIN hashes from a restored copy of the lost PC (local state like
    the person keys: never in the log, so the county cannot give them back)."""
    with Station.open(Path(restored)) as old:
        rows = old.db.execute("SELECT user_id, pin_hash FROM credential").fetchall()
    with Station.open(Path(folder)) as new, new.transaction():
        known = {u.user_id for u in users(new, include_inactive=True)}
        for user_id, pin_hash in rows:
            if user_id in known:
                new.db.execute("INSERT OR IGNORE INTO credential (user_id, pin_hash) "
                               "VALUES (?, ?)", [user_id, pin_hash])
    return len(rows)


def users_without_pin(station: Station) -> list[User]:
    """Recovered users who cannot sign in yet (no PIN on this PC)."""
    have = {r[0] for r in station.db.execute("SELECT user_id FROM credential")}
    return [u for u in users(station) if u.user_id not in have]


def set_first_pins(station: Station, pins: Mapping[str, str]) -> int:
    """New PINs for recovered users who have none (``pins``: user id → PIN; blank ones are
    skipped). At least one administrator must get one, or nobody could run the station;
    users who already have a PIN are never changed here."""
    waiting = {u.user_id: u for u in users_without_pin(station)}
    chosen = {uid: pin.strip() for uid, pin in pins.items() if uid in waiting and pin.strip()}
    for uid, pin in chosen.items():
        try:
            check_pin(pin)
        except InvalidInput as error:
            error.field = f"pin_{uid}"
            raise
    if not any(waiting[uid].role is Role.ADMIN for uid in chosen) and \
            not any(u.role is Role.ADMIN for u in users(station) if u.user_id not in waiting):
        raise InvalidInput(field="pins", label="PIN 码",
                           reason="请至少为一位站点管理员设置 PIN 码")
    hashed = {uid: hash_pin(pin) for uid, pin in chosen.items()}  # slow: before the lock
    with station.transaction() as tx:
        for uid, pin_hash in hashed.items():
            tx.db.execute("INSERT INTO credential (user_id, pin_hash) VALUES (?, ?)",
                          [uid, pin_hash])
    return len(hashed)
