"""The sync protocol's wire formats, as pure functions over bytes (see docs/sync.md).

Nothing here touches the network, a database, a clock or a key: signatures are made and
checked by callables passed in, times are passed in. The station client, the county server
and the USB path all build and parse messages with these functions, so they cannot drift
apart.

Formats:

* **Receipt** — the station's signed checkpoint note with the county's C2SP
  ``cosignature/v1`` line appended. It acknowledges that the county has stored every entry
  up to that size, gives the county's time, and is the station's resume point.
* **add-checkpoint body** — C2SP tlog-witness style text: ``old N``, the consistency proof
  lines, a blank line, the signed checkpoint note.
* **Package** — ``VSP1 ‖ u32 header length ‖ canonical-JSON header ‖ HPKE ciphertext``; the
  header is bound to the ciphertext through HPKE ``info``. The plaintext is a zstd frame
  (with the ``dict`` entries before ``start`` as its dictionary) of the station's salt key
  and length-prefixed log entries ``[start, end)``, derived salts left out.
* **Signed documents** — canonical JSON ``{"doc": …, "sig": {"kid", "alg", "value"}}``,
  signed over ``vss-signed/v1\\n<purpose>\\n`` ‖ canonical(doc), so a signature made for one
  purpose (a key set) can never be replayed as another (a publication).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from station_app.domain.canonical import NotCanonical, canonical_json, parse_canonical
from station_app.domain.log import (
    Checkpoint,
    MalformedEntry,
    SignedCheckpoint,
    derived_salt,
    parse_note,
)

PROTOCOL = "vss-sync/v1"
MAX_PROOF_LINES = 63  # as in C2SP tlog-witness: enough for any log of 2**63 entries
PACKAGE_MAGIC = b"VSP1"
# A package holds at most this many entries and bytes of entries. A month of a busy town
# centre (≈ 4,300 entries, 4.4 MB) is two packages of ≈ 85 KB: two requests, each ≈ 11 s
# on a 64 kbit/s link, so a dropped connection costs little and a sync few round trips.
PACKAGE_LEAVES = 4096
PACKAGE_RAW_BYTES = 4 * 1024 * 1024
# zstd dictionary: up to this many entries just before ``start`` (which the county already
# holds) in at most this many framed bytes. Entries repeat their item snapshots, so a
# package compresses as if the whole log were one stream.
DICT_LEAVES = 1024
DICT_BYTES = 1024 * 1024
SALT_KEY_BYTES = 32
DERIVED_SALT = 0x8000_0000  # frame-length flag: the entry's salt was left out; derive it
MAX_HEADER_BYTES = 16 * 1024
MAX_ENTRY_BYTES = 1024 * 1024
ED25519 = "ed25519"
# What a signed document is for; a signature made for one purpose never passes as another.
KEYSET_PURPOSE = "county-keys"
CERT_PURPOSE = "station-cert"
PUBLICATION_PURPOSE = "publication"
RELAY_PURPOSE = "relay"

Sign = Callable[[bytes], bytes]
Check = Callable[[bytes, bytes], bool]  # (message, signature) -> valid?


class ProtocolError(ValueError):
    """Bytes that are not a well-formed protocol message. ``reason`` is English, for logs."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: Any, *, size: int | None = None) -> bytes:
    if not isinstance(text, str):
        raise ProtocolError("expected base64 text")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise ProtocolError("bad base64") from None
    if size is not None and len(raw) != size:
        raise ProtocolError(f"expected {size} bytes, got {len(raw)}")
    if b64(raw) != text:  # unused low bits set: one value must have one spelling
        raise ProtocolError("base64 is not canonical")
    return raw


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def unix_seconds(when: datetime) -> int:
    return int(when.timestamp())


def iso_utc(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------- receipts


def cosigner_key_id(name: str, public_key: bytes) -> bytes:
    """C2SP tlog-cosignature key id: SHA-256(name ‖ 0x0A ‖ 0x04 ‖ key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n\x04" + public_key).digest()[:4]


def cosignature_message(checkpoint: Checkpoint, timestamp: int) -> bytes:
    return b"cosignature/v1\ntime %d\n" % timestamp + checkpoint.body()


@dataclass(frozen=True, slots=True)
class Receipt:
    """A station checkpoint countersigned by the county at ``timestamp`` (Unix seconds)."""

    signed: SignedCheckpoint
    county: str
    key_id: bytes
    timestamp: int
    signature: bytes

    @property
    def size(self) -> int:
        return self.signed.checkpoint.size

    @property
    def checkpoint(self) -> Checkpoint:
        return self.signed.checkpoint

    def note(self) -> str:
        stamp = b64(self.key_id + struct.pack(">Q", self.timestamp) + self.signature)
        return self.signed.note() + f"\u2014 {self.county} {stamp}\n"

    def digest(self) -> str:
        return sha256_hex(self.note().encode())

    def verify(self, cosigner_public: bytes, check: Check) -> bool:
        """The county's signature, made by the key ``cosigner_public`` named ``county``."""
        return (self.key_id == cosigner_key_id(self.county, cosigner_public)
                and check(cosignature_message(self.checkpoint, self.timestamp), self.signature))


def cosign(signed: SignedCheckpoint, *, county: str, public_key: bytes, sign: Sign,
           timestamp: int) -> Receipt:
    return Receipt(signed, county, cosigner_key_id(county, public_key), timestamp,
                   sign(cosignature_message(signed.checkpoint, timestamp)))


def parse_receipt(text: str) -> Receipt:
    """A station note followed by exactly one county cosignature line."""
    head, sep, last = text.rstrip("\n").rpartition("\n")
    if not sep or not last.startswith("\u2014 "):
        raise ProtocolError("not a receipt")
    try:
        signed = parse_note(head + "\n")
    except MalformedEntry as exc:
        raise ProtocolError(f"receipt checkpoint: {exc}") from None
    county, _, stamp = last[2:].partition(" ")
    raw = unb64(stamp)
    if not county or len(raw) != 4 + 8 + 64 or not text.endswith("\n"):
        raise ProtocolError("receipt cosignature line is malformed")
    receipt = Receipt(signed, county, raw[:4], struct.unpack(">Q", raw[4:12])[0], raw[12:])
    if receipt.note() != text:  # e.g. a trailing blank line, or base64 with stray low bits
        raise ProtocolError("receipt is not in its canonical form")
    return receipt


def parse_checkpoint_note(text: str) -> SignedCheckpoint:
    """A signed checkpoint note, byte for byte in the one form the station writes, so a
    note's digest (which packages name) cannot be changed without changing the note."""
    try:
        signed = parse_note(text)
    except MalformedEntry as exc:
        raise ProtocolError(f"checkpoint: {exc}") from None
    if signed.note() != text:
        raise ProtocolError("checkpoint note is not in its canonical form")
    return signed


# ----------------------------------------------------------------- add-checkpoint body


@dataclass(frozen=True, slots=True)
class CheckpointRequest:
    old: int  # the size the station believes the county has committed
    proof: tuple[bytes, ...]  # consistency proof from ``old`` to the new checkpoint
    note: str  # the station's signed checkpoint note

    def encode(self) -> bytes:
        lines = [f"old {self.old}", *(b64(p) for p in self.proof), "", self.note]
        return "\n".join(lines).encode()

    @property
    def signed(self) -> SignedCheckpoint:
        return parse_checkpoint_note(self.note)


def parse_checkpoint_request(body: bytes) -> CheckpointRequest:
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise ProtocolError("add-checkpoint body is not UTF-8") from None
    head, sep, note = text.partition("\n\n")
    lines = head.split("\n")
    if not sep or not lines[0].startswith("old "):
        raise ProtocolError("add-checkpoint body must start with 'old N' and a blank line")
    old = _natural(lines[0][4:])
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise ProtocolError("too many proof lines")
    proof = tuple(unb64(line, size=32) for line in lines[1:])
    parse_checkpoint_note(note)
    return CheckpointRequest(old, proof, note)


def _natural(text: str) -> int:
    if not text.isdigit() or str(int(text)) != text:
        raise ProtocolError(f"not a size: {text!r}")
    return int(text)


# --------------------------------------------------------------------------- packages


@dataclass(frozen=True, slots=True, kw_only=True)
class PackageHeader:
    origin: str
    kid: str  # which county KEM key the package is encrypted to
    suite: str
    start: int
    end: int
    checkpoint: str  # SHA-256 (hex) of the signed checkpoint note these entries belong to
    size: int  # that checkpoint's size
    proof: tuple[bytes, ...]  # consistency proof from ``end`` to ``size``
    codec: str = "zstd"
    dict_entries: int = 0  # entries just before ``start`` that are the zstd dictionary

    def to_dict(self) -> dict[str, Any]:
        return {"v": 1, "origin": self.origin, "kid": self.kid, "suite": self.suite,
                "start": self.start, "end": self.end, "checkpoint": self.checkpoint,
                "size": self.size, "proof": [b64(p) for p in self.proof],
                "codec": self.codec, "dict": self.dict_entries}

    def encode(self) -> bytes:
        return canonical_json(self.to_dict())

    def info(self) -> bytes:
        """HPKE ``info``: binds the clear-text header to the ciphertext."""
        return f"{PROTOCOL} package\n".encode() + self.encode()


def package_bytes(header: PackageHeader, ciphertext: bytes) -> bytes:
    head = header.encode()
    return PACKAGE_MAGIC + struct.pack(">I", len(head)) + head + ciphertext


def parse_package(data: bytes) -> tuple[PackageHeader, bytes]:
    if len(data) < 8 or data[:4] != PACKAGE_MAGIC:
        raise ProtocolError("not a sync package")
    (length,) = struct.unpack(">I", data[4:8])
    if length > MAX_HEADER_BYTES or 8 + length > len(data):
        raise ProtocolError("package header length is wrong")
    raw = _canonical_dict(data[8:8 + length], "package header")
    expected = {"v", "origin", "kid", "suite", "start", "end", "checkpoint", "size", "proof",
                "codec", "dict"}
    if set(raw) != expected or raw["v"] != 1:
        raise ProtocolError("package header fields are not the v1 set")
    header = PackageHeader(
        origin=_text(raw["origin"]), kid=_text(raw["kid"]), suite=_text(raw["suite"]),
        start=_count(raw["start"]), end=_count(raw["end"]),
        checkpoint=_text(raw["checkpoint"]), size=_count(raw["size"]),
        proof=tuple(unb64(p, size=32) for p in _list(raw["proof"])), codec=_text(raw["codec"]),
        dict_entries=_count(raw["dict"]))
    if not header.start < header.end <= header.size or len(header.proof) > MAX_PROOF_LINES:
        raise ProtocolError("package range is wrong")
    if header.end - header.start > PACKAGE_LEAVES:
        raise ProtocolError("package holds too many entries")
    if header.dict_entries > min(DICT_LEAVES, header.start):
        raise ProtocolError("package dictionary is out of range")
    return header, data[8 + length:]


def frame_entries(entries: Iterable[bytes]) -> bytes:
    return b"".join(struct.pack(">I", len(e)) + e for e in entries)


def unframe_entries(data: bytes) -> list[bytes]:
    out, at = [], 0
    while at < len(data):
        if at + 4 > len(data):
            raise ProtocolError("entry frame is cut short")
        (n,) = struct.unpack(">I", data[at:at + 4])
        if n > MAX_ENTRY_BYTES or at + 4 + n > len(data):
            raise ProtocolError("entry frame length is wrong")
        out.append(data[at + 4:at + 4 + n])
        at += 4 + n
    return out


def pack_entries(entries: Sequence[bytes], *, origin: str, start: int, salt_key: bytes
                 ) -> bytes:
    """A package plaintext: the salt key, then entries ``start …`` framed; an entry whose
    salt is the derived one travels without it (16 random-looking bytes saved per entry)."""
    out = [salt_key]
    for offset, entry in enumerate(entries):
        short = _without_salt(entry, derived_salt(salt_key, origin, start + offset))
        if short is None:
            out.append(struct.pack(">I", len(entry)) + entry)
        else:
            out.append(struct.pack(">I", len(short) | DERIVED_SALT) + short)
    return b"".join(out)


def unpack_entries(data: bytes, *, origin: str, start: int) -> list[bytes]:
    """The entries of a package plaintext, derived salts put back byte for byte."""
    if len(data) < SALT_KEY_BYTES:
        raise ProtocolError("package plaintext is cut short")
    key, at, out = data[:SALT_KEY_BYTES], SALT_KEY_BYTES, []
    while at < len(data):
        if at + 4 > len(data):
            raise ProtocolError("entry frame is cut short")
        (n,) = struct.unpack(">I", data[at:at + 4])
        derived, n = n & DERIVED_SALT, n & ~DERIVED_SALT
        if n > MAX_ENTRY_BYTES or at + 4 + n > len(data):
            raise ProtocolError("entry frame length is wrong")
        entry = data[at + 4:at + 4 + n]
        if derived:
            entry = _with_salt(entry, derived_salt(key, origin, start + len(out)))
        out.append(entry)
        at += 4 + n
    return out


_T_MONO = b'"t_mono":'


def _salt_field(salt: str) -> bytes:
    return b'"salt":"' + salt.encode() + b'",'


def _without_salt(entry: bytes, salt: str) -> bytes | None:
    """``entry`` minus its top-level salt field, if that is ``salt``. Canonical JSON sorts
    keys, so the salt sits right before the last ``"t_mono":`` (body comes earlier)."""
    field = _salt_field(salt)
    at = entry.rfind(_T_MONO) - len(field)
    if at < 0 or entry[at:at + len(field)] != field:
        return None
    return entry[:at] + entry[at + len(field):]


def _with_salt(entry: bytes, salt: str) -> bytes:
    at = entry.rfind(_T_MONO)
    if at < 0:
        raise ProtocolError("entry without a salt has no place for one")
    return entry[:at] + _salt_field(salt) + entry[at:]


def dictionary_count(sizes_before: Sequence[int]) -> int:
    """How many of the entries just before a package (their sizes, oldest first) make its
    dictionary: the most recent ones, within ``DICT_LEAVES`` and ``DICT_BYTES`` framed."""
    count, total = 0, 0
    for n in reversed(sizes_before[-DICT_LEAVES:]):
        if total + 4 + n > DICT_BYTES:
            break
        count, total = count + 1, total + 4 + n
    return count


@dataclass(frozen=True, slots=True)
class PackageLimits:
    """How a sender cuts its upload; any cut within the protocol maxima is accepted."""

    leaves: int = PACKAGE_LEAVES
    raw_bytes: int = PACKAGE_RAW_BYTES


UPLOAD_LIMITS = PackageLimits()


def split_packages(sizes: Sequence[int], start: int, limits: PackageLimits = UPLOAD_LIMITS
                   ) -> list[tuple[int, int]]:
    """Cut entries ``start, start+1, …`` (with byte ``sizes``) into package ranges."""
    ranges, first, total = [], start, 0
    for offset, n in enumerate(sizes):
        idx = start + offset
        if idx > first and (idx - first >= limits.leaves or total + n > limits.raw_bytes):
            ranges.append((first, idx))
            first, total = idx, 0
        total += n
    if start + len(sizes) > first:
        ranges.append((first, start + len(sizes)))
    return ranges


# -------------------------------------------------------------------- signed documents


def sign_doc(doc: Mapping[str, Any], *, purpose: str, kid: str, sign: Sign) -> dict[str, Any]:
    signature = sign(_signed_message(purpose, doc))
    return {"doc": dict(doc), "sig": {"kid": kid, "alg": ED25519, "value": b64(signature)}}


def open_doc(signed: Any, *, purpose: str, keys: Mapping[str, Check]) -> dict[str, Any]:
    """The document, if it is signed for ``purpose`` by one of ``keys`` (kid → checker)."""
    if not isinstance(signed, dict) or set(signed) != {"doc", "sig"}:
        raise ProtocolError(f"{purpose}: not a signed document")
    doc, sig = signed["doc"], signed["sig"]
    if not isinstance(doc, dict) or not isinstance(sig, dict) or set(sig) != {
            "kid", "alg", "value"} or sig["alg"] != ED25519:
        raise ProtocolError(f"{purpose}: signature block is malformed")
    check = keys.get(sig["kid"]) if isinstance(sig["kid"], str) else None
    if check is None:
        raise ProtocolError(f"{purpose}: signed by an unknown key")
    if not check(_signed_message(purpose, doc), unb64(sig["value"], size=64)):
        raise ProtocolError(f"{purpose}: bad signature")
    return doc


def _signed_message(purpose: str, doc: Mapping[str, Any]) -> bytes:
    try:
        body = canonical_json(doc)
    except NotCanonical as exc:
        raise ProtocolError(f"{purpose}: not canonical JSON: {exc}") from None
    return f"vss-signed/v1\n{purpose}\n".encode() + body


def key_id(public_key: bytes) -> str:
    """Short id of any public key: the first 8 bytes of its SHA-256, hex."""
    return hashlib.sha256(public_key).hexdigest()[:16]


# ----------------------------------------------------------------------- publications

PUBLICATION_FORMAT = "vss-publication/1"
# "app": the county's minimum program version (docs/upgrades.md); "badreview": the 差评整改
# working-day limits and reason options. A station of 0.1.0 knows neither and reports them
# as malformed publications, without applying anything.
COLLECTIONS = ("catalog", "calendar", "templates", "revocations", "app", "badreview")


@dataclass(frozen=True, slots=True, kw_only=True)
class Publication:
    """One signed county decision: the whole collection as of ``version``."""

    county: str
    collection: str
    version: int
    issued: str  # RFC 3339, the county's clock
    expires: str  # after this the station warns: nobody should be stuck on an old decision
    content: Any
    digest: str  # SHA-256 (hex) of the canonical document: what the station's log cites


def publication_doc(*, county: str, collection: str, version: int, issued: str, expires: str,
                    content: Any) -> dict[str, Any]:
    return {"format": PUBLICATION_FORMAT, "county": county, "collection": collection,
            "version": version, "issued": issued, "expires": expires, "content": content}


def parse_publication(doc: Mapping[str, Any]) -> Publication:
    """The fields of an opened (signature-checked) publication document; shape only."""
    if set(doc) != {"format", "county", "collection", "version", "issued", "expires",
                    "content"} or doc["format"] != PUBLICATION_FORMAT:
        raise ProtocolError("not a v1 publication")
    if doc["collection"] not in COLLECTIONS:
        raise ProtocolError(f"unknown collection {doc['collection']!r}")
    version = _count(doc["version"])
    if version < 1:
        raise ProtocolError("publication versions start at 1")
    try:
        digest = sha256_hex(canonical_json(doc))
    except NotCanonical as exc:
        raise ProtocolError(f"publication is not canonical JSON: {exc}") from None
    return Publication(county=_text(doc["county"]), collection=doc["collection"],
                       version=version, issued=_text(doc["issued"]),
                       expires=_text(doc["expires"]), content=doc["content"], digest=digest)


# ------------------------------------------------------------------ county key set


@dataclass(frozen=True, slots=True, kw_only=True)
class CountyKeys:
    """The county's online keys, as signed by its offline root key."""

    county: str  # the cosigner name in receipts, e.g. "county/330199"
    version: int
    root: bytes
    cosigners: Mapping[str, bytes]  # kid → Ed25519 public key (newest first)
    kems: Mapping[str, bytes]  # kid → HPKE public key (newest first)
    retired_kems: tuple[str, ...]  # kids still accepted during their grace period

    @property
    def current_kem(self) -> tuple[str, bytes]:
        kid = next(iter(self.kems))
        return kid, self.kems[kid]



def keyset_doc(keys: CountyKeys, *, issued: str, suite: str) -> dict[str, Any]:
    return {"format": "vss-county-keys/1", "county": keys.county, "version": keys.version,
            "issued": issued, "root": b64(keys.root), "suite": suite,
            "cosigners": [{"kid": k, "public": b64(v)} for k, v in keys.cosigners.items()],
            "kems": [{"kid": k, "public": b64(v)} for k, v in keys.kems.items()],
            "retired_kems": list(keys.retired_kems)}


def open_keyset(signed: Any, root: bytes, check_with: Callable[[bytes], Check]) -> CountyKeys:
    """A key set signed by ``root``; raises ProtocolError otherwise."""
    doc = open_doc(signed, purpose=KEYSET_PURPOSE, keys={key_id(root): check_with(root)})
    try:
        if doc["format"] != "vss-county-keys/1" or unb64(doc["root"]) != root:
            raise ProtocolError("key set names another root")
        keys = CountyKeys(
            county=_text(doc["county"]), version=_count(doc["version"]), root=root,
            cosigners={_text(k["kid"]): unb64(k["public"], size=32)
                       for k in _list(doc["cosigners"])},
            kems={_text(k["kid"]): unb64(k["public"]) for k in _list(doc["kems"])},
            retired_kems=tuple(_text(k) for k in _list(doc["retired_kems"])))
    except (KeyError, TypeError) as exc:
        raise ProtocolError(f"key set is malformed: {exc}") from None
    if not keys.cosigners or not keys.kems:
        raise ProtocolError("key set has no online keys")
    return keys


# ------------------------------------------------------------------------- enrollment


def enrollment_mac_key(code: str) -> bytes:
    """The one-time code never travels: both sides derive a MAC key from it."""
    return hashlib.sha256(b"vss-enroll/v1\n" + normalize_code(code).encode()).digest()


def normalize_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def mac(key: bytes, value: Any) -> str:
    return hmac.new(key, canonical_json(value), hashlib.sha256).hexdigest()


def open_enrollment_reply(answer: Mapping[str, Any], tag: Any, secret: bytes,
                          check_with: Callable[[bytes], Check]
                          ) -> tuple[CountyKeys, dict[str, Any]]:
    """The county's key set and the station certificate from an enrollment (or replacement)
    reply. It must carry the code's MAC: that is what makes the root key trustworthy."""
    if not mac_ok(secret, answer, tag):
        raise ProtocolError("enrollment reply: bad MAC")
    try:
        root = unb64(answer["keyset"]["doc"]["root"], size=32)
        keys = open_keyset(answer["keyset"], root, check_with)
        cert = open_doc(answer["certificate"], purpose=CERT_PURPOSE,
                        keys={k: check_with(v) for k, v in keys.cosigners.items()})
    except (KeyError, TypeError, ValueError):
        raise ProtocolError("enrollment reply: malformed") from None
    return keys, cert


def mac_ok(key: bytes, value: Any, tag: Any) -> bool:
    return isinstance(tag, str) and hmac.compare_digest(mac(key, value), tag)


# ------------------------------------------------------------------------ USB bundles
# A bundle carries the same messages as the HTTP exchange, for stations without a link:
# ``VSB1`` then records ``u8 type ‖ u32 length ‖ bytes``, the last one always the SHA-256 of
# every byte before it, so a truncated or damaged file is refused before anything is stored.

BUNDLE_MAGIC = b"VSB1"
REC_CHECKPOINT = 1  # an add-checkpoint body
REC_PACKAGE = 2  # an add-entries package
REC_RECEIPT = 3  # a receipt note
REC_PUBLICATION = 4  # a signed publication (JSON)
REC_RELAY = 5  # a relayed message (JSON)
REC_KEYSET = 6  # the root-signed county key set (JSON)
REC_ORIGIN = 7  # the station log the bundle comes from (export) or is for (reply)
REC_STATION_TIME = 8  # the station's clock at export (the X-Station-Time of HTTP)
REC_DIGEST = 9  # SHA-256 of everything before it; always last
MAX_BUNDLE_RECORD = PACKAGE_RAW_BYTES + 512 * 1024  # a package, as on HTTP
ENROLL_QR_PREFIX = "VSS-ENROLL:1:"


def bundle_bytes(records: Iterable[tuple[int, bytes]]) -> bytes:
    out = bytearray(BUNDLE_MAGIC)
    for kind, data in records:
        out += _bundle_record(kind, data)
    out += _bundle_record(REC_DIGEST, hashlib.sha256(out).digest())
    return bytes(out)


def _bundle_record(kind: int, data: bytes) -> bytes:
    if not REC_CHECKPOINT <= kind <= REC_DIGEST or len(data) > MAX_BUNDLE_RECORD:
        raise ProtocolError(f"bundle record {kind} cannot be written")
    return struct.pack(">BI", kind, len(data)) + data


def parse_bundle(data: bytes) -> list[tuple[int, bytes]]:
    """The records of a bundle (digest checked and dropped); ProtocolError if damaged."""
    if data[:4] != BUNDLE_MAGIC:
        raise ProtocolError("not a sync bundle")
    records: list[tuple[int, bytes]] = []
    at = 4
    while at + 5 <= len(data):
        kind, length = struct.unpack(">BI", data[at:at + 5])
        end = at + 5 + length
        if not REC_CHECKPOINT <= kind <= REC_DIGEST or length > MAX_BUNDLE_RECORD \
                or end > len(data):
            raise ProtocolError("bundle record is damaged or cut short")
        if kind == REC_DIGEST:
            if end != len(data) or data[at + 5:end] != hashlib.sha256(data[:at]).digest():
                raise ProtocolError("bundle checksum does not match: the file is damaged")
            return records
        records.append((kind, data[at + 5:end]))
        at = end
    raise ProtocolError("bundle is cut short")


def enroll_qr_text(station: str, code: str) -> str:
    """What the enrollment QR code says: the station it is for and the one-time code."""
    return f"{ENROLL_QR_PREFIX}{station}:{code}"


def parse_enroll_text(text: str) -> tuple[str | None, str]:
    """(station, code) from a scanned QR text, or (None, code) for a typed code."""
    value = text.strip()
    if not value.upper().startswith("VSS-ENROLL:"):
        return None, value
    if not value.startswith(ENROLL_QR_PREFIX) or value.count(":") != 3:
        raise ProtocolError("not a v1 enrollment QR code")
    station, _, code = value.removeprefix(ENROLL_QR_PREFIX).partition(":")
    if not station or not normalize_code(code):
        raise ProtocolError("enrollment QR code names no station or code")
    return station, code


# ------------------------------------------------------------------------------ fill

FILL_PAGE = 1024  # stored entries per fill answer (docs/recovery.md)


def fill_message(*, origin: str, log: str, start: int, time: str) -> bytes:
    """What a station signs to read acknowledged entries of ``log`` from ``start``
    (``GET /v1/logs/{log}/entries``): its own log, or one its origin was approved to
    succeed (a lost PC's)."""
    return f"vss-sync/v1 fill\n{origin}\n{log}\n{start}\n{time}\n".encode()


# ----------------------------------------------------------------------------- helpers


def _canonical_dict(data: bytes, what: str) -> dict[str, Any]:
    try:
        raw = parse_canonical(data)
    except (NotCanonical, ValueError) as exc:
        raise ProtocolError(f"{what} is not canonical JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ProtocolError(f"{what} is not an object")
    return raw


def parse_json_object(data: bytes, what: str) -> dict[str, Any]:
    """Any JSON object (request bodies need not be canonical)."""
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError(f"{what} is not JSON") from None
    if not isinstance(raw, dict):
        raise ProtocolError(f"{what} is not an object")
    return raw


def _text(v: Any) -> str:
    if not isinstance(v, str):
        raise ProtocolError("expected text")
    return v


def _count(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ProtocolError("expected a non-negative integer")
    return v


def _list(v: Any) -> list[Any]:
    if not isinstance(v, list):
        raise ProtocolError("expected a list")
    return v
