"""The county server's data folder: ``county.json`` (name, code, database URL), the keys
(``keys/``) and, by default, the SQLite database ``county.db``.

``init_county`` refuses a folder that already holds a county and writes the configuration
last, so a refused or failed init leaves no half-made county behind; ``open_county`` gives
the ``County`` service every command and the web server run on.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from station_app.domain.clock import CST, iso
from station_app.errors import (
    CountyExists,
    CountyKeysInvalid,
    CountyMissing,
    InvalidInput,
    MissingField,
)
from sync.county.keys import (
    ONLINE_FILE,
    ROOT_FILE,
    KeyFileError,
    OnlineKeys,
    init_keys,
    load_online,
    root_public,
)
from sync.county.service import County
from sync.county.store import CountyDb, redact_url
from sync.protocol import key_id

CONFIG_FILE = "county.json"
CONFIG_FORMAT = "vss-county/1"
DB_FILE = "county.db"
COUNTY_CODE = re.compile(r"\d{6}")  # a county-level 行政区划代码, e.g. 330199
_COUNTY_FILES = (CONFIG_FILE, f"keys/{ROOT_FILE}", f"keys/{ONLINE_FILE}")


@dataclass(frozen=True, slots=True)
class CountyConfig:
    name: str  # 示范县
    code: str  # 330199
    db: str  # database URL, or the SQLite file's path

    @property
    def county(self) -> str:
        """The cosigner name in receipts and key sets."""
        return f"county/{self.code}"

    def as_dict(self) -> dict[str, Any]:
        return {"format": CONFIG_FORMAT, "name": self.name, "code": self.code, "db": self.db}


@dataclass(frozen=True, slots=True)
class Created:
    config: CountyConfig
    root_fingerprint: str  # key id of the root public key, what stations pin
    root_file: Path


def system_now() -> datetime:
    return datetime.now(CST)


def init_county(folder: Path, *, name: str, code: str, db: str | None = None,
                now: Callable[[], datetime] = system_now) -> Created:
    """A new county: keys, database (created and migrated), then the configuration file."""
    config = _checked(folder, name, code, db)
    if any((folder / name).exists() for name in _COUNTY_FILES):
        found = _existing(folder)
        raise CountyExists(path=str(folder), name=found.name if found else "?",
                           code=found.code if found else "?")
    created = not folder.exists()
    try:
        database = CountyDb(config.db)  # a PostgreSQL that cannot be reached stops us here
        try:
            _refuse_used_database(database, config)
        finally:
            database.close()
        root, _ = init_keys(folder, config.county, iso(now()))
        _write_config(folder, config)
    except BaseException:
        _remove_partial(folder, created, config)
        raise
    return Created(config, key_id(root), folder / "keys" / ROOT_FILE)


def _checked(folder: Path, name: str, code: str, db: str | None) -> CountyConfig:
    name = " ".join((name or "").split())
    if not name:
        raise MissingField(field="name", label="县名")
    if len(name) > 60:
        raise InvalidInput(field="name", label="县名", reason="不能超过60个字")
    code = (code or "").strip()
    if not COUNTY_CODE.fullmatch(code):
        raise InvalidInput(field="code", label="县级行政区划代码",
                           reason=f"“{code}”应为 6 位数字（如 330199）")
    return CountyConfig(name, code, db or str(folder.resolve() / DB_FILE))


def _refuse_used_database(database: CountyDb, config: CountyConfig) -> None:
    with database.read() as tx:
        stations = tx.stations()
    if stations:
        raise CountyExists(path=redact_url(config.db), name="（数据库中已有站点）",
                           code=config.code)


def _remove_partial(folder: Path, created: bool, config: CountyConfig) -> None:
    """Undo a failed init: the new keys, and the new folder if we made it."""
    if created:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for name in _COUNTY_FILES:  # only what init writes: the folder may hold other things
        (folder / name).unlink(missing_ok=True)
    if config.db == str(folder.resolve() / DB_FILE):
        for suffix in ("", "-wal", "-shm"):
            Path(config.db + suffix).unlink(missing_ok=True)


def _write_config(folder: Path, config: CountyConfig) -> None:
    """Owner-only (the URL may hold a database password), written atomically."""
    path = folder / CONFIG_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(config.as_dict(), f, ensure_ascii=False, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _existing(folder: Path) -> CountyConfig | None:
    try:
        return load_config(folder)
    except CountyMissing:
        return None


def load_config(folder: Path) -> CountyConfig:
    path = folder / CONFIG_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise CountyMissing(path=str(folder)) from None
    if not isinstance(raw, dict) or raw.get("format") != CONFIG_FORMAT or not all(
            isinstance(raw.get(k), str) for k in ("name", "code", "db")):
        raise CountyMissing(path=str(folder))
    return CountyConfig(raw["name"], raw["code"], raw["db"])


def online_keys(folder: Path) -> OnlineKeys:
    try:
        return load_online(folder)
    except KeyFileError as exc:
        raise keys_invalid(exc) from None


def keys_invalid(exc: KeyFileError) -> CountyKeysInvalid:
    reason = "文件不存在" if exc.reason == "missing" else f"不是有效的密钥文件（{exc.reason}）"
    return CountyKeysInvalid(path=str(exc.path), reason=reason, reason_en=exc.reason)


def check_root(folder: Path, root_file: Path) -> None:
    """The root key file must be this county's: a key set signed by another root would cut
    every station off."""
    try:
        public = root_public(root_file)
    except KeyFileError as exc:
        raise keys_invalid(exc) from None
    if public != online_keys(folder).root:
        raise CountyKeysInvalid(path=str(root_file), reason="这不是本县的根密钥",
                                reason_en="it is not this county's root key")


def open_county(folder: Path, *, db: str | None = None,
                now: Callable[[], datetime] = system_now) -> County:
    """The service over this folder's keys and database (``db`` overrides the configured)."""
    config = load_config(folder)
    keys = online_keys(folder)
    return County(CountyDb(db or config.db), keys, now)


def root_in_folder(folder: Path) -> bool:
    """True while the root key still sits beside the online keys (it belongs offline)."""
    return (folder / "keys" / ROOT_FILE).exists()

