"""The station's side of sync, without the network (docs/sync.md).

``enroll`` and ``sync_once`` talk to the county through a ``Transport`` (HTTP in
``sync.client``); everything else builds or checks messages from the station's own log and
keeps the enrollment and receipts in its database. The USB path (``sync.usb``) uses the
same builders.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from station_app.crypto import signature_checker
from station_app.crypto.kem import SUITE_ID, KemKey, seal_to
from station_app.domain.clock import iso
from station_app.domain.log import parse_note
from station_app.domain.merkle import NodeSource, consistency_proof, node_hash
from station_app.errors import (
    AlreadyEnrolled,
    CountyUnreachable,
    EnrollRefused,
    EnrollUnreachable,
    HistoryConflict,
    NotEnrolled,
    SyncRefused,
)
from station_app.services.station import Station
from station_app.store.keyfile import StationKeys, write_keys
from sync.codec import compress
from sync.protocol import (
    DICT_LEAVES,
    UPLOAD_LIMITS,
    CheckpointRequest,
    CountyKeys,
    PackageHeader,
    PackageLimits,
    ProtocolError,
    Receipt,
    b64,
    dictionary_count,
    enrollment_mac_key,
    frame_entries,
    key_id,
    mac,
    open_enrollment_reply,
    open_keyset,
    pack_entries,
    package_bytes,
    parse_receipt,
    sha256_hex,
    split_packages,
)
from sync.recover import fill_own_log

if TYPE_CHECKING:  # sync.downlink builds on this module
    from sync.downlink import Applied

Answer = tuple[int, Mapping[str, Any]]  # HTTP-like status and JSON body
MAX_ROUNDS = 64  # bounded retries on 409 within one sync


class Transport(Protocol):
    server: str

    def enroll(self, body: bytes) -> Answer: ...
    def keys(self) -> Answer: ...
    def status(self, origin: str) -> Answer: ...
    def add_checkpoint(self, origin: str, body: bytes, station_time: str) -> Answer: ...
    def add_entries(self, origin: str, body: bytes) -> Answer: ...
    def publications(self, versions: Mapping[str, int]) -> Answer: ...
    def fill(self, log: str, start: int, auth: Mapping[str, str]) -> Answer: ...


@dataclass(frozen=True, slots=True)
class Enrollment:
    server: str
    keys: CountyKeys
    certificate: Mapping[str, Any]

    @property
    def county(self) -> str:
        return self.keys.county


@dataclass(slots=True)
class SyncReport:
    county_size: int = 0  # entries the county had before this sync
    sent_entries: int = 0
    packages: int = 0
    bytes_sent: int = 0
    filled: int = 0  # acknowledged entries taken from the county (copy restored from a backup)
    receipt: Receipt | None = None
    publications: list[Applied] = field(default_factory=list)  # what the county published
    # Messages relayed between stations (sync.relay_station).
    relay_sent: int = 0
    relay_pending: int = 0  # still queued: the recipient is not enrolled (yet)
    relay_failed: int = 0  # given up: can never be built (e.g. the person was erased)
    relay_received: int = 0
    relay_duplicates: int = 0  # taken in before: nothing changed
    relay_refused: list[str] = field(default_factory=list)  # "#seq reason", never applied

    def as_dict(self) -> dict[str, Any]:
        r = self.receipt
        return {"county_size_before": self.county_size, "sent_entries": self.sent_entries,
                "packages": self.packages, "bytes_sent": self.bytes_sent,
                "filled": self.filled,
                "acknowledged": r.size if r else None,
                "county_time": r.timestamp if r else None,
                "publications": [p.as_dict() for p in self.publications],
                "relay": {"sent": self.relay_sent, "pending": self.relay_pending,
                          "failed": self.relay_failed, "received": self.relay_received,
                          "duplicates": self.relay_duplicates,
                          "refused": self.relay_refused}}


Progress = Callable[[int, int], None]  # (entries acknowledged so far, entries to send)


# ----------------------------------------------------------------------- enrollment


def enrollment(station: Station) -> Enrollment | None:
    state = station.sync_state
    server, root, keyset = state.get("server"), state.get("root"), state.get_json("keyset")
    if not server or not root or keyset is None:
        return None
    keys = open_keyset(keyset, base64.b64decode(root), signature_checker)
    return Enrollment(server, keys, state.get_json("certificate") or {})


def require_enrollment(station: Station) -> Enrollment:
    found = enrollment(station)
    if found is None:
        raise NotEnrolled()
    return found


def kem_key(station: Station) -> KemKey:
    """The station's HPKE key, created (and saved in the key file) the first time."""
    key, seed = _kem_seed(station)
    if station.keys.kem_seed is None:
        _save_kem_seed(station, seed)
    return key


def _kem_seed(station: Station) -> tuple[KemKey, bytes]:
    """The station's HPKE key and seed, a new pair (not yet saved) if it has none."""
    if station.keys.kem_seed is None:
        return KemKey.generate()
    return KemKey(station.keys.kem_seed), station.keys.kem_seed


def _save_kem_seed(station: Station, seed: bytes) -> None:
    keys = StationKeys(station.keys.signing_seed, station.keys.data_key,
                       station.keys.index_key, kem_seed=seed)
    write_keys(station.folder, keys)
    station.keys = keys


def enroll(station: Station, transport: Transport, code: str) -> Enrollment:
    """Register this station's keys with the county and pin the county's root key."""
    current = enrollment(station)
    if current is not None:
        raise AlreadyEnrolled(county=current.county, server=current.server)
    info = station.info
    kem, kem_seed = _kem_seed(station)  # saved only once the county has said yes
    request = {"format": "vss-enroll/1", "station": info.code, "origin": info.origin,
               "log_public": b64(station.signer.public_key),
               "kem_public": b64(kem.public_key), "name": info.name,
               "t_wall": iso(station.clock.now())}
    secret = enrollment_mac_key(code)
    body = {"request": request, "mac": mac(secret, request)}
    try:
        status, reply = transport.enroll(json.dumps(body, ensure_ascii=False).encode())
    except CountyUnreachable as exc:  # nothing is queued yet: say so, not "will sync later"
        raise EnrollUnreachable(**exc.params) from None
    if status == 403:
        raise EnrollRefused()
    if status != 200:
        raise SyncRefused(reason=f"注册失败（{status} {reply.get('error', '')}）")
    found = _check_enrollment(station, reply, secret)
    if station.keys.kem_seed is None:  # before the log says "enrolled": never a lost key
        _save_kem_seed(station, kem_seed)
    with station.transaction() as tx:
        state = station.sync_state
        state.put("server", transport.server)
        state.put("root", b64(found.root))
        state.put_json("keyset", reply["keyset"])
        state.put_json("certificate", reply["certificate"])
        tx.append("sync.enrolled", {"county": found.county, "server": transport.server,
                                    "root": key_id(found.root), "keyset_version": found.version})
    return Enrollment(transport.server, found, reply["certificate"])


def _check_enrollment(station: Station, reply: Mapping[str, Any], secret: bytes) -> CountyKeys:
    answer = {"certificate": reply.get("certificate"), "keyset": reply.get("keyset")}
    try:
        keys, cert = open_enrollment_reply(answer, reply.get("mac"), secret, signature_checker)
    except ProtocolError:
        raise EnrollRefused() from None
    if cert.get("origin") != station.info.origin or \
            cert.get("log_public") != b64(station.signer.public_key):
        raise EnrollRefused()
    return keys


def refresh_keys(station: Station, transport: Transport) -> CountyKeys:
    """Take a newer key set signed by the pinned root (after a county key rotation)."""
    link = require_enrollment(station)
    status, reply = transport.keys()
    if status != 200:
        raise SyncRefused(reason=f"取县级密钥失败（{status}）")
    try:
        keys = open_keyset(reply.get("keyset"), link.keys.root, signature_checker)
    except ProtocolError:
        raise SyncRefused(reason="县级密钥集签名无效") from None
    if keys.version > link.keys.version:
        with station.transaction():
            station.sync_state.put_json("keyset", reply["keyset"])
        return keys
    return link.keys


# ------------------------------------------------------------------------ messages


def acknowledged(station: Station) -> int:
    receipt = station.sync_state.latest_receipt()
    return receipt.size if receipt else 0


def checkpoint_request(station: Station, committed: int) -> CheckpointRequest:
    """The head checkpoint with a consistency proof from the county's committed size."""
    note = station.ledger.head_note()
    assert note is not None
    size = parse_note(note).checkpoint.size
    if committed > size:
        raise HistoryConflict(reason=f"县级已确认 {committed} 条，本机只有 {size} 条")
    proof = consistency_proof(_leaves(station, size), committed, size) if committed else []
    return CheckpointRequest(committed, tuple(proof), note)


def _leaves(station: Station, size: int) -> NodeSource:
    """The station's tree as a proof source that hashes each perfect subtree once.

    A plain ``LeafList`` recomputes every subtree a proof touches, so each package's proof
    cost O(size) and a year's backlog (≈ 200 packages of a 50k-entry log) spent most of
    its sync time hashing the same nodes again.
    """
    leaves = [h for _, _, h in station.ledger.rows(0, size)]
    known: dict[tuple[int, int], bytes] = {}

    def node(level: int, index: int) -> bytes:
        found = known.get((level, index))
        if found is None:
            found = leaves[index] if level == 0 else node_hash(
                node(level - 1, 2 * index), node(level - 1, 2 * index + 1))
            known[(level, index)] = found
        return found

    return node


def packages(station: Station, start: int, note: str, keys: CountyKeys,
             limits: PackageLimits = UPLOAD_LIMITS) -> Iterator[tuple[int, int, bytes]]:
    """Entries ``start … size-1`` of the checkpoint ``note`` as encrypted packages, each
    compressed against the entries just before it (which the county holds by then)."""
    size = parse_note(note).checkpoint.size
    dict_from = max(start - DICT_LEAVES, 0)
    rows = [r[1] for r in station.ledger.rows(dict_from, size)]
    leaves = _leaves(station, size)
    kid, public = keys.current_kem
    origin = station.info.origin
    for first, end in split_packages([len(r) for r in rows[start - dict_from:]], start, limits):
        before = rows[max(first - DICT_LEAVES, dict_from) - dict_from:first - dict_from]
        n = dictionary_count([len(r) for r in before])
        proof = consistency_proof(leaves, end, size) if end < size else []
        header = PackageHeader(origin=origin, kid=kid, suite=SUITE_ID, start=first, end=end,
                               checkpoint=sha256_hex(note.encode()), size=size,
                               proof=tuple(proof), dict_entries=n)
        plain = compress(pack_entries(rows[first - dict_from:end - dict_from], origin=origin,
                                      start=first, salt_key=station.salt_key),
                         frame_entries(before[len(before) - n:]))
        yield first, end, package_bytes(header, seal_to(public, plain, header.info()))


def accept_receipt(station: Station, note: str, keys: CountyKeys) -> Receipt:
    """Check a receipt (county signature, our own checkpoint) and keep it."""
    try:
        receipt = parse_receipt(note)
    except ProtocolError:
        raise SyncRefused(reason="县级回执格式不对") from None
    ours = _our_note(station, receipt.size)
    if ours is None or receipt.signed.note() != ours:
        raise HistoryConflict(reason=f"县级回执中的第 {receipt.size} 条检查点不是本机签的")
    if receipt.county != keys.county or not any(
            receipt.verify(pub, signature_checker(pub)) for pub in keys.cosigners.values()):
        raise SyncRefused(reason="县级回执的签名无效")
    with station.transaction():
        station.sync_state.add_receipt(receipt.size, note, receipt.timestamp,
                                       iso(station.clock.now()))
    return receipt


def _our_note(station: Station, size: int) -> str | None:
    row = station.db.execute("SELECT note FROM checkpoint WHERE size = ?", [size]).fetchone()
    return None if row is None else row[0]


# ---------------------------------------------------------------------------- sync


def sync_once(station: Station, transport: Transport, progress: Progress | None = None,
              limits: PackageLimits = UPLOAD_LIMITS) -> SyncReport:
    """Upload everything the county lacks and take its receipt; safe to repeat anytime.

    It starts straight with ``add-checkpoint`` from the station's own receipts: a county
    that holds more (a receipt lost on the way) answers 409 with its size, one extra round
    trip only then. A month's backlog is three requests.
    """
    link = require_enrollment(station)
    keys, report, origin = link.keys, SyncReport(), station.info.origin
    committed = report.county_size = acknowledged(station)
    for _ in range(MAX_ROUNDS):
        request = checkpoint_request(station, committed)
        size = request.signed.checkpoint.size
        with station.transaction():
            station.ledger.mark_used(size, "sync", iso(station.clock.now()))
        status, answer = transport.add_checkpoint(origin, request.encode(),
                                                  iso(station.clock.now()))
        if status == 409:
            committed = int(answer["committed"])
            report.county_size = int(answer.get("size", committed))
            if committed > size:  # a copy restored from an older backup: fill it first
                report.filled += fill_own_log(station, transport, keys)
                _county_not_ahead(committed, station.ledger.size())
            continue
        _refused(status, answer, transport.server)
        report.county_size = int(answer.get("size", report.county_size))
        if status == 200:
            report.receipt = accept_receipt(station, answer["receipt"], keys)
            if report.county_size > size:  # likewise, found by a replayed checkpoint
                report.filled += fill_own_log(station, transport, keys)
                _county_not_ahead(report.county_size, station.ledger.size())
                committed = acknowledged(station)
                continue
            return report
        outcome = _upload(station, transport, request.note, int(answer["next"]), keys, report,
                          progress, limits)
        if outcome == "done":
            return report
        if outcome == "rekey":
            keys = refresh_keys(station, transport)
        committed = int(transport.status(origin)[1].get("committed", committed))
    raise SyncRefused(reason="多次重试后仍未完成")


def _county_not_ahead(county_size: int, size: int) -> None:
    """The county holds entries beyond this station's log even after filling it with what
    the county acknowledged (a checkpoint committed but never completed by the lost
    original): this copy must not write over what the county already has."""
    if county_size > size:
        raise HistoryConflict(reason=f"县级已确认 {county_size} 条，本机只有 {size} 条")


def _upload(station: Station, transport: Transport, note: str, start: int, keys: CountyKeys,
            report: SyncReport, progress: Progress | None, limits: PackageLimits) -> str:
    """Send packages from ``start``; "done" with a receipt, else why to start over."""
    size = parse_note(note).checkpoint.size
    for first, end, body in packages(station, start, note, keys, limits):
        status, answer = transport.add_entries(station.info.origin, body)
        if status == 400 and answer.get("error") == "unknown-kid":
            return "rekey"
        if status == 409:
            return "resume"
        _refused(status, answer, transport.server)
        report.sent_entries += end - first
        report.packages += 1
        report.bytes_sent += len(body)
        if progress is not None:
            progress(end - start, size - start)
        if status == 200:
            report.receipt = accept_receipt(station, answer["receipt"], keys)
            return "done"
    return "resume"


def _refused(status: int, answer: Mapping[str, Any], server: str) -> None:
    if status in (200, 202):
        return
    error = str(answer.get("error", ""))
    if status >= 500:
        raise CountyUnreachable(server=server, reason=f"服务器暂时不可用（{status}）")
    if status == 422:
        raise HistoryConflict(reason=_REASONS.get(error, error))
    if status == 403:
        raise SyncRefused(reason=_REASONS.get(error, error or "拒绝访问"))
    raise SyncRefused(reason=f"{status} {_REASONS.get(error, error)}".strip())


_REASONS = {
    "revoked": "本站的密钥已被县级吊销，请联系县级管理员重新注册",
    "unknown-station": "县级服务器不认识本站，请先注册",
    "inconsistent": "检查点与县级已确认的历史不一致",
    "fork": "同一位置出现了不同的记录",
    "mismatch": "记录与签名的检查点不符",
    "bad-signature": "检查点签名无效",
    "malformed": "数据格式不对",
    "undecryptable": "县级无法解密数据包",
    "unavailable": "县级服务器暂时不可用",
}

