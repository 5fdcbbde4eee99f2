"""USB bundles at the station: sync without a link (docs/sync.md, "USB").

``export_bundle`` writes what an HTTP sync would send: one add-checkpoint body for every size
the county may have committed, then the packages, cut the way an online upload from each of
those sizes would have cut them, so the county can always continue from its own cursor. The
county answers with a reply bundle (``sync.county.usb``); ``import_bundle`` checks it and
keeps the receipt, takes a newer key set, and applies the publications. Relayed messages
ride along as record type 5: the export carries the outbox sealed exactly as the online
send seals it and the signed fetch cursor; the reply says which messages the county stored
(only then are they marked sent, as online) and carries the messages queued for this
station, taken in by the online fetch's own code. Importing a reply twice changes nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from station_app.crypto import signature_checker
from station_app.domain.clock import iso
from station_app.domain.log import parse_note
from station_app.errors import SyncFileInvalid
from station_app.services.station import Station
from sync.downlink import apply_publications
from sync.protocol import (
    REC_CHECKPOINT,
    REC_KEYSET,
    REC_ORIGIN,
    REC_PACKAGE,
    REC_PUBLICATION,
    REC_RECEIPT,
    REC_RELAY,
    REC_STATION_TIME,
    CountyKeys,
    ProtocolError,
    bundle_bytes,
    open_keyset,
    parse_bundle,
    parse_receipt,
)
from sync.relay_station import (
    Outgoing,
    confirm_posted,
    keep_certificates,
    seal_outbox,
    signed_cursor,
    take_delivered,
    taken_up_to,
)
from sync.station import (
    Enrollment,
    SyncReport,
    accept_receipt,
    acknowledged,
    checkpoint_request,
    packages,
    require_enrollment,
)

SENT_PURPOSES = ("sync", "usb")  # a checkpoint that left by these may be committed
MAX_CHAINS = 8  # package cuttings per bundle: the acknowledged size and the newest sends


# -------------------------------------------------------------------------- export


def export_bundle(station: Station, path: Path | str) -> dict[str, Any]:
    """Write this station's upload bundle to ``path``; a summary of what it holds."""
    link = require_enrollment(station)
    note = station.ledger.head_note()
    assert note is not None  # the genesis entry is written at creation
    head = parse_note(note).checkpoint.size
    ack = acknowledged(station)
    starts = _possible_commits(station, ack, head)
    now = iso(station.clock.now())
    records = [(REC_ORIGIN, station.info.origin.encode()), (REC_STATION_TIME, now.encode())]
    records += [(REC_CHECKPOINT, checkpoint_request(station, c).encode()) for c in starts]
    bodies = _package_chains(station, starts, note, link.keys)
    records += [(REC_PACKAGE, body) for body in bodies]
    outgoing = seal_outbox(station)
    records += _relay_records(station, outgoing, now)
    data = bundle_bytes(records)
    try:
        with station.transaction():  # the mark and the file go together: a failed write unmarks
            station.ledger.mark_used(head, "usb", now)
            _write_atomically(Path(path), data)
    except OSError as exc:
        raise SyncFileInvalid(path=str(path), reason=f"无法写入（{exc.strerror}）") from None
    return {"ok": True, "file": str(path), "origin": station.info.origin, "size": head,
            "acknowledged": ack, "entries": head - ack, "packages": len(bodies),
            "bytes": len(data), "relay_messages": len(outgoing.envelopes),
            "relay_failed": outgoing.failed, "certificates_wanted": outgoing.wanted}


def _relay_records(station: Station, outgoing: Outgoing, now: str) -> list[tuple[int, bytes]]:
    """Type-5 records of an export (docs/sync.md, "USB"): the signed fetch cursor, the
    certificates wanted, the sealed envelopes."""
    records = [{"taken": signed_cursor(station, now)}]
    records += [{"want": code} for code in outgoing.wanted]
    records += [{"envelope": envelope} for envelope in outgoing.envelopes]
    return [(REC_RELAY, _json(r)) for r in records]


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True).encode()


def _possible_commits(station: Station, ack: int, head: int) -> list[int]:
    """Sizes the county's committed checkpoint may be at: the acknowledged one, or any sent
    since (newest first: the likeliest)."""
    marks = ", ".join("?" * len(SENT_PURPOSES))
    sent = {r[0] for r in station.db.execute(
        f"SELECT DISTINCT size FROM checkpoint_use WHERE purpose IN ({marks}) "
        "AND size > ? AND size <= ?", [*SENT_PURPOSES, ack, head])}
    return sorted(sent | {ack}, reverse=True)


def _package_chains(station: Station, starts: list[int], note: str, keys: CountyKeys
                    ) -> list[bytes]:
    """Packages cut from each possible county cursor. Cutting is greedy, so two cuttings
    that share a boundary coincide after it: each stops where it meets one already made."""
    made: dict[int, bytes] = {}
    ack, sent = starts[-1], starts[:-1]  # newest first, the acknowledged size last
    for start in [ack, *sent[:MAX_CHAINS - 1]]:
        for first, _end, body in packages(station, start, note, keys):
            if first in made:
                break
            made[first] = body
    return [made[k] for k in sorted(made)]


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# -------------------------------------------------------------------------- import


@dataclass(frozen=True, slots=True)
class Reply:
    """The county's reply bundle, parsed and checked against this station."""

    receipt: str | None
    keyset: dict[str, Any] | None
    publications: list[dict[str, Any]] = field(default_factory=list)
    relay: Relayed | None = None


@dataclass(frozen=True, slots=True)
class Relayed:
    """The type-5 records of a reply: the county's word on this station's messages, the
    certificates it sent, and the messages queued for this station after ``after``."""

    stored: list[str] = field(default_factory=list)
    retry: dict[str, str] = field(default_factory=dict)  # message id -> the county's error
    certificates: list[Any] = field(default_factory=list)
    after: int | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)


def import_bundle(station: Station, path: Path | str) -> dict[str, Any]:
    """Apply the county's reply: receipt, key set, publications, relayed messages. Nothing
    is written unless the whole file checks out."""
    link = require_enrollment(station)
    reply = read_reply(station, _read(path), str(path))
    keys, newer = _keyset(reply, link, str(path))
    _check_cursor(station, reply, str(path))
    receipt = accept_receipt(station, reply.receipt, keys) if reply.receipt else None
    if newer:
        with station.transaction():
            station.sync_state.put_json("keyset", reply.keyset)
    applied = _apply_publications(station, reply.publications)
    relayed = _apply_relay(station, reply.relay) if reply.relay else SyncReport()
    return {"ok": True, "file": str(path), "receipt_size": receipt.size if receipt else None,
            "county_time": receipt.timestamp if receipt else None,
            "acknowledged": acknowledged(station), "size": station.ledger.size(),
            "keyset_version": keys.version, "keyset_updated": newer, **applied,
            "relay": relayed.as_dict()["relay"]}


def _read(path: Path | str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise SyncFileInvalid(path=str(path), reason="文件不存在") from None
    except OSError as exc:
        raise SyncFileInvalid(path=str(path), reason=f"无法读取（{exc.strerror}）") from None


def read_reply(station: Station, data: bytes, name: str) -> Reply:
    def invalid(reason: str) -> SyncFileInvalid:
        return SyncFileInvalid(path=name, reason=reason)

    try:
        found = _by_type(parse_bundle(data))
        origin = [o.decode() for o in found.get(REC_ORIGIN, [])]
        if found.get(REC_CHECKPOINT) or found.get(REC_PACKAGE) or len(origin) != 1:
            raise invalid("这不是县级的回复文件（本站导出的文件应交给县级导入）")
        if origin[0] != station.info.origin:
            raise invalid(f"这是给另一个站点的回复文件（{origin[0]}）")
        receipts = [r.decode() for r in found.get(REC_RECEIPT, [])]
        if len(receipts) > 1 or len(found.get(REC_KEYSET, [])) > 1:
            raise invalid("文件中的回执或密钥集不止一份")
        if receipts and parse_receipt(receipts[0]).checkpoint.origin != station.info.origin:
            raise invalid("文件中的回执属于另一个站点")
        keyset = json.loads(found[REC_KEYSET][0]) if found.get(REC_KEYSET) else None
        docs = [json.loads(d) for d in found.get(REC_PUBLICATION, [])]
        relay = _read_relay(found.get(REC_RELAY, [])) if found.get(REC_RELAY) else None
    except (ProtocolError, UnicodeDecodeError, ValueError) as exc:
        raise invalid(getattr(exc, "reason", "内容已损坏")) from None
    return Reply(receipts[0] if receipts else None, keyset, docs, relay)


def _read_relay(bodies: list[bytes]) -> Relayed:
    """The type-5 records of a reply, by shape (each message is checked when taken in).
    ValueError if one is not of a reply's kinds, or the messages do not follow ``after``
    in ``seq`` order."""
    stored: list[str] = []
    retry: dict[str, str] = {}
    certificates: list[Any] = []
    after: int | None = None
    messages: list[dict[str, Any]] = []
    for body in bodies:
        record = json.loads(body)
        if not isinstance(record, dict) or len(record) != 1:
            raise ValueError("relay record")
        (key, value), = record.items()
        if key == "stored" and isinstance(value, str):
            stored.append(value)
        elif key == "retry" and isinstance(value, dict) and isinstance(value.get("id"), str):
            retry[value["id"]] = str(value.get("error", ""))
        elif key == "certificate":
            certificates.append(value)
        elif key == "after" and type(value) is int and after is None:
            after = value
        elif key == "message" and isinstance(value, dict) and after is not None:
            messages.append(value)
        else:
            raise ValueError("relay record")
    seqs = [m.get("seq") for m in messages]
    if not all(type(q) is int for q in seqs) or seqs != sorted(set(seqs)) \
            or (after is not None and seqs and seqs[0] <= after):
        raise ValueError("relay order")
    return Relayed(stored, retry, certificates, after, messages)


def _check_cursor(station: Station, reply: Reply, name: str) -> None:
    """The reply's messages must follow on from what this station has taken in: one cut
    after a later cursor would skip messages for good."""
    after = reply.relay.after if reply.relay else None
    if after is not None and after > taken_up_to(station):
        raise SyncFileInvalid(path=name, reason="文件中的转交消息与本站已收到的接不上"
                                                "（文件不是按本站最新导出的文件生成的），请重新导出")


def _apply_relay(station: Station, relayed: Relayed) -> SyncReport:
    """The certificates kept (checked again when used), the county's word on this station's
    messages, then the messages for it: the code paths of the online send and fetch."""
    report = SyncReport()
    confirm_posted(station, relayed.stored, relayed.retry, report)  # may drop a stale cert
    keep_certificates(station, relayed.certificates)  # … which the reply then replaces
    take_delivered(station, relayed.messages, report)
    return report


def _keyset(reply: Reply, link: Enrollment, name: str) -> tuple[CountyKeys, bool]:
    """The key set to check with: the bundle's if the pinned root signed it and it is newer."""
    if reply.keyset is None:
        return link.keys, False
    try:
        keys = open_keyset(reply.keyset, link.keys.root, signature_checker)
    except ProtocolError:
        raise SyncFileInvalid(path=name, reason="县级密钥集不是本站注册时认定的县级根密钥签发的"
                              ) from None
    if keys.version > link.keys.version:
        return keys, True
    return link.keys, False


def _apply_publications(station: Station, docs: list[dict[str, Any]]) -> dict[str, Any]:
    """Hand the publications to the download code: it checks each one (signature, county,
    version, expiry) and reports what became of it; a version already applied comes back as
    "already", so importing a reply twice changes nothing."""
    applied = apply_publications(station, docs) if docs else []
    return {"publications": [a.as_dict() for a in applied]}


def _by_type(records: list[tuple[int, bytes]]) -> dict[int, list[bytes]]:
    found: dict[int, list[bytes]] = {}
    for kind, body in records:
        found.setdefault(kind, []).append(body)
    return found
