"""The station log's two formats: entries (Merkle leaves) and signed checkpoints.

An entry is canonical JSON::

    {"v": 1, "origin": "vss/330110001001/4f2a9c1d", "idx": 17, "kind": "case.moved",
     "actor": "zhangsan", "t_wall": "2025-09-30T10:15:02.123+08:00",
     "t_mono": {"boot": "…", "us": 123456789}, "beacon": null, "catalog": "2025.4",
     "salt": "…16 random bytes, base64…", "body": {…}}

``t_wall`` is the device clock when the entry was written and is never editable; the time the
service actually happened is ``body.at``, so late entries (补录) stay visible. ``t_mono`` lets an
auditor see the wall clock move against a clock that cannot be set. ``beacon`` is the newest
county receipt the station had seen: a lower bound on when the entry was made. ``salt`` keeps
leaf hashes handed to third parties (receipt QR codes) from being brute-forced. It is derived
(``derived_salt``) from a key only the station and its county know, so a sync package can
leave it out and the county put it back (docs/sync.md, "Entry frames").

A checkpoint is a C2SP tlog-checkpoint note (origin, size, base64 root) signed as a C2SP
signed note with the station's Ed25519 key, so the same text can go to the county unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from station_app.domain.canonical import canonical_json, parse_canonical

LOG_VERSION = 1
GENESIS_KIND = "station.created"  # entry 0 of every log; its body names the signing key
SALT_BYTES = 16
_ENTRY_KEYS = frozenset(
    {"v", "origin", "idx", "kind", "actor", "t_wall", "t_mono", "beacon", "catalog", "salt", "body"}
)


def salt_key(index_key: bytes) -> bytes:
    """The station's salt key, derived one-way from its blind-index key so that it survives
    signing-key epochs; the county learns it from every sync package."""
    return hmac.new(index_key, b"vss-salt-key/v1", hashlib.sha256).digest()


def derived_salt(key: bytes, origin: str, idx: int) -> str:
    """Entry ``idx``'s salt (base64 of 16 bytes): unguessable without ``key``, and
    recomputable by whoever holds it, so it costs nothing on the wire."""
    mac = hmac.new(key, f"vss-salt/v1\n{origin}\n{idx}".encode(), hashlib.sha256).digest()
    return base64.b64encode(mac[:SALT_BYTES]).decode()


_MONO_KEYS = frozenset({"boot", "us"})
_BEACON_KEYS = frozenset({"size", "time", "digest"})


class MalformedEntry(ValueError):
    """Bytes that are not a well-formed log entry of this version."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MonoReading:
    """A monotonic clock reading in microseconds; readings compare only within one ``boot``.

    Microseconds, not nanoseconds: canonical JSON integers stop at 2**53, which a nanosecond
    counter passes after 104 days of uptime; in microseconds that takes 285 years.
    """

    boot: str
    us: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Beacon:
    """The newest county receipt seen: its tree size, county time and SHA-256 (hex)."""

    size: int
    time: str
    digest: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LogEntry:
    origin: str
    idx: int
    kind: str
    actor: str
    t_wall: str
    t_mono: MonoReading
    beacon: Beacon | None
    catalog: str | None
    salt: str
    body: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        beacon = self.beacon
        return {
            "v": LOG_VERSION,
            "origin": self.origin,
            "idx": self.idx,
            "kind": self.kind,
            "actor": self.actor,
            "t_wall": self.t_wall,
            "t_mono": {"boot": self.t_mono.boot, "us": self.t_mono.us},
            "beacon": None if beacon is None else
            {"size": beacon.size, "time": beacon.time, "digest": beacon.digest},
            "catalog": self.catalog,
            "salt": self.salt,
            "body": dict(self.body),
        }

    def encode(self) -> bytes:
        return canonical_json(self.to_dict())


def decode_entry(data: bytes) -> LogEntry:
    """Parse and check an entry's bytes; raise MalformedEntry naming what is wrong."""
    try:
        raw = parse_canonical(data)
    except ValueError as exc:
        raise MalformedEntry(str(exc)) from exc
    if not isinstance(raw, dict) or set(raw) != _ENTRY_KEYS:
        raise MalformedEntry("entry fields are not the v1 set")
    if raw["v"] != LOG_VERSION:
        raise MalformedEntry(f"unknown entry version {raw['v']!r}")
    try:
        mono = MonoReading(boot=_str(raw["t_mono"]["boot"]), us=_int(raw["t_mono"]["us"]))
        beacon = None if raw["beacon"] is None else Beacon(
            size=_int(raw["beacon"]["size"]), time=_str(raw["beacon"]["time"]),
            digest=_str(raw["beacon"]["digest"]))
        entry = LogEntry(
            origin=_str(raw["origin"]), idx=_int(raw["idx"]), kind=_str(raw["kind"]),
            actor=_str(raw["actor"]), t_wall=_str(raw["t_wall"]), t_mono=mono, beacon=beacon,
            catalog=None if raw["catalog"] is None else _str(raw["catalog"]),
            salt=_str(raw["salt"]), body=_dict(raw["body"]))
    except (KeyError, TypeError) as exc:
        raise MalformedEntry(f"entry field has the wrong shape: {exc}") from exc
    # The bytes are canonical, so they are the v1 form exactly when the parsed value has
    # the v1 shape; checking that is cheaper than writing the entry again to compare.
    if type(raw["v"]) is not int or set(raw["t_mono"]) != _MONO_KEYS or (
            raw["beacon"] is not None and set(raw["beacon"]) != _BEACON_KEYS):
        raise MalformedEntry("entry is not in the v1 form")  # "v": true, an unknown key …
    return entry


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError("expected a string")
    return v


def _int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError("expected an integer")
    return v


def _dict(v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise TypeError("expected an object")
    return v


# --------------------------------------------------------------------------- checkpoints


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """C2SP tlog-checkpoint body: ``origin\\nsize\\nbase64(root)\\n``."""

    origin: str
    size: int
    root: bytes

    def body(self) -> bytes:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n".encode()


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    key_name: str
    key_id: bytes
    signature: bytes

    def note(self) -> str:
        stamp = base64.b64encode(self.key_id + self.signature).decode()
        return self.checkpoint.body().decode() + f"\n\u2014 {self.key_name} {stamp}\n"


def note_key_id(key_name: str, public_key: bytes) -> bytes:
    """C2SP signed-note key id for an Ed25519 key: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[:4]."""
    return hashlib.sha256(key_name.encode() + b"\n\x01" + public_key).digest()[:4]


def parse_note(text: str) -> SignedCheckpoint:
    """Parse a one-signature checkpoint note; raise MalformedEntry if it is not one."""
    body, sep, sig_line = text.partition("\n\n")
    lines = body.split("\n")
    if not sep or len(lines) != 3 or not sig_line.startswith("\u2014 ") or \
            not sig_line.endswith("\n") or sig_line.count("\n") != 1:
        raise MalformedEntry("not a signed checkpoint note")
    name, _, stamp = sig_line[2:-1].partition(" ")
    try:
        size = int(lines[1])
        root = base64.b64decode(lines[2], validate=True)
        raw = base64.b64decode(stamp, validate=True)
    except ValueError as exc:
        raise MalformedEntry(f"checkpoint field is malformed: {exc}") from exc
    if size < 0 or str(size) != lines[1] or len(root) != 32 or len(raw) != 4 + 64:
        raise MalformedEntry("checkpoint size, root or signature has the wrong length")
    if base64.b64encode(root).decode() != lines[2] or base64.b64encode(raw).decode() != stamp:
        raise MalformedEntry("checkpoint base64 is not canonical")  # one note, one spelling
    return SignedCheckpoint(Checkpoint(lines[0], size, root), name, raw[:4], raw[4:])


def make_origin(station_code: str, public_key: bytes) -> str:
    """The log's name: station code plus a short id of the key that signs it."""
    return f"vss/{station_code}/{hashlib.sha256(public_key).hexdigest()[:8]}"


def origin_station(origin: str) -> str:
    """The station code named in an origin (``vss/<code>/<key id>``), or "" if none."""
    parts = origin.split("/")
    return parts[1] if len(parts) == 3 and parts[0] == "vss" else ""
