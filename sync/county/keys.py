"""The county's keys on disk: an offline root and the online cosigner and KEM keys.

``keys/root.key.json`` holds the root seed. It signs only the key set, so after
``county init`` it belongs on a USB stick in a safe, not on the server; rotating the online
keys asks for it (``--root FILE``). ``keys/online.keys.json`` holds the online keys and the
current root-signed key set. Both files are written atomically, owner-only.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from station_app.crypto import Signer, signature_checker
from station_app.crypto.kem import SUITE_ID, KemKey
from sync.protocol import KEYSET_PURPOSE, CountyKeys, key_id, keyset_doc, open_keyset, sign_doc

ROOT_FILE = "root.key.json"
ONLINE_FILE = "online.keys.json"
ROOT_FORMAT = "vss-county-root/1"
ONLINE_FORMAT = "vss-county-online/1"


class KeyFileError(Exception):
    """A key file is missing or unreadable; ``path`` names it."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


@dataclass
class OnlineKeys:
    """What the running server needs: cosigner, KEM keys by kid, the signed key set."""

    county: str
    cosigner_seed: bytes
    kem_seeds: dict[str, bytes]  # kid → seed, newest first
    retired: list[str]
    version: int
    keyset: dict[str, Any]  # root-signed
    _kems: dict[str, KemKey] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.cosigner = Signer(self.cosigner_seed)
        self.cosigner_kid = key_id(self.cosigner.public_key)
        self._kems = {kid: KemKey(seed) for kid, seed in self.kem_seeds.items()}

    def kem(self, kid: str) -> KemKey | None:
        """The KEM key for ``kid`` if packages to it are still accepted (current or retired)."""
        return self._kems.get(kid)

    @property
    def root(self) -> bytes:
        return base64.b64decode(self.keyset["doc"]["root"])

    def public(self) -> CountyKeys:
        """The key set as stations see it (checked against its own root)."""
        return open_keyset(self.keyset, self.root, signature_checker)


def init_keys(folder: Path, county: str, issued: str) -> tuple[bytes, OnlineKeys]:
    """New root and online keys; returns the root public key and the online keys."""
    root, root_seed = Signer.generate()
    _write(folder / "keys" / ROOT_FILE, {"format": ROOT_FORMAT, "seed": _b(root_seed)})
    cosigner, cosigner_seed = Signer.generate()
    kem, kem_seed = KemKey.generate()
    online = _signed(root, county, cosigner_seed, {key_id(kem.public_key): kem_seed}, [], 1,
                     issued)
    save_online(folder, online)
    return root.public_key, online


def rotate_kem(folder: Path, root_file: Path, issued: str) -> OnlineKeys:
    """A new KEM key becomes current; the old ones stay accepted (retired) until dropped."""
    online, root = load_online(folder), _this_root(folder, root_file)
    kem, seed = KemKey.generate()
    seeds = {key_id(kem.public_key): seed, **online.kem_seeds}
    rotated = _signed(root, online.county, online.cosigner_seed, seeds,
                      [*online.retired, *online.kem_seeds], online.version + 1, issued)
    save_online(folder, rotated)
    return rotated


def drop_kem(folder: Path, root_file: Path, kid: str, issued: str) -> OnlineKeys:
    """Forget a retired KEM key after its grace period: packages to it are refused."""
    online, root = load_online(folder), _this_root(folder, root_file)
    if kid not in online.retired:
        raise KeyFileError(folder / "keys" / ONLINE_FILE, f"{kid} is not a retired KEM key")
    seeds = {k: v for k, v in online.kem_seeds.items() if k != kid}
    dropped = _signed(root, online.county, online.cosigner_seed, seeds,
                      [k for k in online.retired if k != kid], online.version + 1, issued)
    save_online(folder, dropped)
    return dropped


def _signed(root: Signer, county: str, cosigner_seed: bytes, kem_seeds: dict[str, bytes],
            retired: list[str], version: int, issued: str) -> OnlineKeys:
    cosigner = Signer(cosigner_seed)
    current = next(iter(kem_seeds))
    public = CountyKeys(
        county=county, version=version, root=root.public_key,
        cosigners={key_id(cosigner.public_key): cosigner.public_key},
        kems={current: KemKey(kem_seeds[current]).public_key},
        retired_kems=tuple(retired))
    keyset = sign_doc(keyset_doc(public, issued=issued, suite=SUITE_ID), purpose=KEYSET_PURPOSE,
                      kid=key_id(root.public_key), sign=root.sign)
    return OnlineKeys(county, cosigner_seed, kem_seeds, retired, version, keyset)


def load_online(folder: Path) -> OnlineKeys:
    path = folder / "keys" / ONLINE_FILE
    raw = _read(path, ONLINE_FORMAT)
    try:
        return OnlineKeys(
            county=raw["county"], cosigner_seed=_unb(raw["cosigner"]),
            kem_seeds={k["kid"]: _unb(k["seed"]) for k in raw["kems"]},
            retired=list(raw["retired"]), version=int(raw["version"]), keyset=raw["keyset"])
    except (KeyError, TypeError, ValueError) as exc:
        raise KeyFileError(path, f"damaged ({exc})") from None


def save_online(folder: Path, online: OnlineKeys) -> None:
    _write(folder / "keys" / ONLINE_FILE, {
        "format": ONLINE_FORMAT, "county": online.county, "cosigner": _b(online.cosigner_seed),
        "kems": [{"kid": k, "seed": _b(v)} for k, v in online.kem_seeds.items()],
        "retired": online.retired, "version": online.version, "keyset": online.keyset})


def _this_root(folder: Path, root_file: Path) -> Signer:
    """The root key, refused unless it is the one that signed this county's key set: a key
    set signed by another root would cut every station off."""
    root = _load_root(root_file)
    if root.public_key != load_online(folder).root:
        raise KeyFileError(root_file, "not this county's root key")
    return root


def _load_root(path: Path) -> Signer:
    raw = _read(path, ROOT_FORMAT)
    try:
        return Signer(_unb(raw["seed"]))
    except (KeyError, ValueError) as exc:
        raise KeyFileError(path, f"damaged ({exc})") from None


def root_public(root_file: Path) -> bytes:
    return _load_root(root_file).public_key


def _read(path: Path, fmt: str) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise KeyFileError(path, "missing") from None
    except ValueError:
        raise KeyFileError(path, "not a key file") from None
    if not isinstance(raw, dict) or raw.get("format") != fmt:
        raise KeyFileError(path, "not a key file of this kind")
    return raw


def _write(path: Path, value: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(json.dumps(value, indent=1).encode())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _b(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
