"""The station's secret keys, kept in a file beside (not inside) the database.

A copy of ``station.db`` alone therefore reveals no personal data: the per-person keys in it
are wrapped under ``data_key``, which lives only here. The file is written atomically with
owner-only permissions. (Full-disk encryption on the PC protects this file at rest; the
release notes say so.)
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path

from station_app.errors import DataFolderCorrupt, KeysMissing

KEYS_DIR = "keys"
KEYS_FILENAME = "station.keys.json"
KEYS_FORMAT = "vss-station-keys/1"


@dataclass(frozen=True, slots=True)
class StationKeys:
    signing_seed: bytes  # Ed25519 seed for the log and documents
    data_key: bytes  # wraps the per-person keys
    index_key: bytes  # keys the blind indexes used to find a person
    kem_seed: bytes | None = None  # HPKE key for messages relayed to this station (enrollment)


def keys_path(folder: Path) -> Path:
    return folder / KEYS_DIR / KEYS_FILENAME


def write_keys(folder: Path, keys: StationKeys) -> None:
    path = keys_path(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps({
        "format": KEYS_FORMAT,
        "signing_seed": base64.b64encode(keys.signing_seed).decode(),
        "data_key": base64.b64encode(keys.data_key).decode(),
        "index_key": base64.b64encode(keys.index_key).decode(),
        **({"kem_seed": base64.b64encode(keys.kem_seed).decode()} if keys.kem_seed else {}),
    }, indent=1).encode()
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_keys(folder: Path) -> StationKeys:
    path = keys_path(folder)
    try:
        raw = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise KeysMissing(path=str(path)) from None
    except ValueError as exc:
        raise DataFolderCorrupt(path=str(path), reason=f"密钥文件无法读取：{exc}") from None
    if not isinstance(raw, dict) or raw.get("format") != KEYS_FORMAT:
        raise DataFolderCorrupt(path=str(path), reason="密钥文件格式不对")
    try:
        kem = raw.get("kem_seed")
        return StationKeys(*(base64.b64decode(raw[k], validate=True)
                             for k in ("signing_seed", "data_key", "index_key")),
                           kem_seed=base64.b64decode(kem, validate=True) if kem else None)
    except (KeyError, ValueError) as exc:
        raise DataFolderCorrupt(path=str(path), reason=f"密钥文件内容损坏：{exc}") from None
