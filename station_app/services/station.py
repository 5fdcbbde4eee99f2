"""A station's data folder, opened: the log, its projections, its keys and a clock.

Every change goes through ``Station.transaction()``: inside one ``BEGIN IMMEDIATE`` the caller
reads current state, decides, and appends entries; each append writes the entry, the signed
checkpoint for the new size and the projection update. Anything raised inside rolls all of
it back, so a refused request writes nothing.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from station_app.crypto import Signer, new_secret
from station_app.domain.clock import CST, iso
from station_app.domain.log import (
    GENESIS_KIND,
    Beacon,
    LogEntry,
    decode_entry,
    derived_salt,
    make_origin,
    salt_key,
)
from station_app.domain.numbering import check_station_code
from station_app.errors import (
    DataFolderCorrupt,
    DataFolderMissing,
    InvalidInput,
    MissingField,
    StationExists,
)
from station_app.services.clock import Clock, SystemClock
from station_app.store.db import DB_FILENAME, Database, immediate, open_database
from station_app.store.db import upgrade_pending as upgrade_pending  # for the app's start
from station_app.store.epochs import HistoryLedger, history, history_base
from station_app.store.keyfile import StationKeys, keys_path, read_keys, write_keys
from station_app.store.projection import Projector
from station_app.store.queries import StationInfo, station_info
from station_app.store.syncstate import SyncState
from station_app.store.vault import Vault

LEVELS = {"village": "村（社区）便民服务站", "town": "乡镇（街道）便民服务中心"}


@dataclass
class Station:
    folder: Path
    db: Database
    keys: StationKeys
    signer: Signer
    info: StationInfo
    clock: Clock = field(default_factory=SystemClock)
    actor: str = "system"
    new_id: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        # A replacement PC's earlier epochs come first in the history (docs/recovery.md).
        self.ledger = HistoryLedger(self.db, history_base(self.db))
        self.vault = Vault(self.db, self.keys.data_key)
        self.projector = Projector(self.db, self.vault, self.keys.index_key)
        self.sync_state = SyncState(self.db)
        self.salt_key = salt_key(self.keys.index_key)

    def beacon(self) -> Beacon | None:
        """The newest county receipt, written into every entry: proof of a time it followed."""
        receipt = self.sync_state.latest_receipt()
        if receipt is None:
            return None
        return Beacon(size=receipt.size, time=iso(datetime.fromtimestamp(receipt.county_time,
                                                                            CST)),
                      digest=hashlib.sha256(receipt.note.encode()).hexdigest())

    @classmethod
    def open(cls, folder: Path, *, clock: Clock | None = None, actor: str = "system") -> Station:
        folder = Path(folder)
        db = open_database(folder)
        keys = read_keys(folder)
        info = station_info(db)
        if info is None:
            raise DataFolderMissing(path=str(folder))
        signer = Signer(keys.signing_seed)
        if base64.b64encode(signer.public_key).decode() != info.public_key:
            raise DataFolderCorrupt(path=str(folder), reason="密钥文件与本站数据不匹配")
        return cls(folder, db, keys, signer, info, clock or SystemClock(), actor)

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Station:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with immediate(self.db):
            yield Transaction(self)

    def entries(self, start: int = 0) -> Iterator[LogEntry]:
        for _, data, _ in self.ledger.rows(start):
            yield decode_entry(data)

    def positioned(self, entry: LogEntry) -> LogEntry:
        """``entry`` of the current log with its position in the whole history as ``idx``
        (what projections record): the leaf index unless earlier epochs were recovered."""
        base = self.ledger.base
        return dataclasses.replace(entry, idx=entry.idx + base) if base else entry

    def history(self) -> Iterator[LogEntry]:
        """Every entry of the station's history by position: the recovered epochs of lost
        PCs, then the current log (docs/recovery.md)."""
        return history(self.db)

    def rebuild(self) -> int:
        """Throw the projections away and replay the whole history into them."""
        with immediate(self.db):
            return self.projector.rebuild(self.history())


class Transaction:
    """Appends made through one transaction; see ``Station.transaction``."""

    def __init__(self, station: Station) -> None:
        self.station = station
        self.db = station.db

    def append(self, kind: str, body: dict[str, Any], *, actor: str | None = None) -> LogEntry:
        st = self.station
        entry = LogEntry(
            origin=st.info.origin, idx=st.ledger.size(), kind=kind, actor=actor or st.actor,
            t_wall=iso(st.clock.now()), t_mono=st.clock.mono(), beacon=st.beacon(),
            catalog=st.projector.setting("catalog_version"),
            salt=derived_salt(st.salt_key, st.info.origin, st.ledger.size()), body=body)
        st.ledger.append(entry.encode(), idx=entry.idx, origin=entry.origin, signer=st.signer)
        positioned = st.positioned(entry)  # == entry unless earlier epochs were recovered
        st.projector.apply(positioned)
        return positioned


# --------------------------------------------------------------------------- creation


@dataclass(frozen=True, slots=True, kw_only=True)
class StationSetup:
    name: str
    code: str
    region: str
    level: str
    demo: bool = False


def check_setup(setup: StationSetup) -> StationSetup:
    name = " ".join((setup.name or "").split())
    if not name:
        raise MissingField(field="name", label="站点名称")
    if len(name) > 60:
        raise InvalidInput(field="name", label="站点名称", reason="不能超过60个字")
    region = (setup.region or "").strip()
    if not (region.isascii() and region.isdigit() and 6 <= len(region) <= 12):
        raise InvalidInput(field="region", label="行政区划代码",
                           reason="应为 6–12 位数字（如 330110 或 330110001001）")
    if setup.level not in LEVELS:
        raise InvalidInput(field="level", label="站点层级",
                           reason="应为 village（村）或 town（乡镇）")
    return StationSetup(name=name, code=check_station_code(setup.code), region=region,
                        level=setup.level, demo=setup.demo)


def create_station(
    folder: Path, setup: StationSetup, *, clock: Clock | None = None, actor: str = "system",
    seed: Callable[[Transaction], None] | None = None,
) -> Station:
    """Make a new station in ``folder``: keys, database, genesis entry, then ``seed``.

    Nothing is left behind if any step fails, so a refused setup can simply be retried.
    """
    folder = Path(folder)
    setup = check_setup(setup)
    if (folder / DB_FILENAME).exists() or keys_path(folder).exists():
        raise StationExists(path=str(folder), name=_existing_name(folder))
    created = not folder.exists()
    signer, seed_bytes = Signer.generate()
    keys = StationKeys(seed_bytes, new_secret(), new_secret())
    db: Database | None = None
    try:
        write_keys(folder, keys)
        db = open_database(folder, create=True)
        origin = make_origin(setup.code, signer.public_key)
        info = StationInfo(code=setup.code, name=setup.name, region=setup.region,
                           level=setup.level, origin=origin,
                           public_key=base64.b64encode(signer.public_key).decode(),
                           created_at="", demo=setup.demo)
        station = Station(folder, db, keys, signer, info, clock or SystemClock(), actor)
        with station.transaction() as tx:
            tx.append(GENESIS_KIND, {
                "code": setup.code, "name": setup.name, "region": setup.region,
                "level": setup.level, "public_key": info.public_key, "demo": setup.demo})
            if seed is not None:
                seed(tx)
        station.info = station_info(db) or info
        return station
    except BaseException:
        if db is not None:
            db.conn.close()
        _remove_partial(folder, created)
        raise


def _existing_name(folder: Path) -> str:
    try:
        with Station.open(folder) as st:
            return st.info.name
    except Exception:  # only used to word the refusal
        return "（未知）"


def _remove_partial(folder: Path, created_folder: bool) -> None:
    if created_folder:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for path in (folder / DB_FILENAME, folder / f"{DB_FILENAME}-wal",
                 folder / f"{DB_FILENAME}-shm", keys_path(folder)):
        path.unlink(missing_ok=True)


def upgrade_folder(folder: Path, clock: Clock | None = None) -> None:
    """Open ``folder`` once so that a pending upgrade runs (docs/upgrades.md), then close it:
    for a caller that must not keep the connection (it belongs to this thread)."""
    Station.open(folder, clock=clock).close()
