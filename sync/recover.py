"""Filling a station's log from the county, and recovering a lost PC (docs/recovery.md).

One primitive, ``fetch_log``: the county's acknowledged entries of a log (``GET
/v1/logs/{origin}/entries``, a request signed by the asking station's key) and the receipt
they must match. Everything fetched is checked before anything is written: the county's
cosignature on the receipt (pinned key set), the station's own signature on the checkpoint
inside it, every entry's form and position, and the Merkle root over all of them.

* ``fill_own_log``: a copy of this station restored from an older backup holds a prefix
  of what the county acknowledged; sync appends the rest instead of refusing it. A copy
  whose log is not a prefix (a real fork) still gets ``HistoryConflict``.
* ``recover``: a new PC, approved by the county as the lost one's replacement, enrolls
  with new keys, fetches the lost log (and the logs it in turn succeeded), and builds its
  station folder from them (``station_app.services.recovery``).
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from station_app.crypto import Signer, new_secret, signature_checker
from station_app.crypto.kem import KemKey
from station_app.domain.clock import iso
from station_app.domain.log import (
    GENESIS_KIND,
    MalformedEntry,
    decode_entry,
    make_origin,
    note_key_id,
    origin_station,
)
from station_app.domain.merkle import Frontier, leaf_hash
from station_app.domain.numbering import check_station_code
from station_app.errors import (
    CountyUnreachable,
    EnrollRefused,
    EnrollUnreachable,
    HistoryConflict,
    InvalidInput,
    RecoveryFolderNotEmpty,
    RecoveryRefused,
    SyncRefused,
)
from station_app.services.clock import Clock
from station_app.services.recovery import (
    SUCCESSION_KIND,
    Enrolled,
    LostLog,
    RecoveryReport,
    build_recovered,
    person_keys_from,
)
from station_app.services.station import Station
from station_app.store.keyfile import StationKeys, keys_path, read_keys, write_keys
from sync.protocol import (
    CountyKeys,
    ProtocolError,
    Receipt,
    b64,
    enrollment_mac_key,
    fill_message,
    key_id,
    mac,
    open_enrollment_reply,
    open_keyset,
    parse_enroll_text,
    parse_receipt,
    unb64,
)

Answer = tuple[int, Mapping[str, Any]]
PENDING_FILE = "recovery.pending.json"  # enrolled, history not yet fetched: rerun resumes
MAX_CHAIN = 32
MAX_PAGES = 100_000


class FillTransport(Protocol):
    server: str

    def enroll(self, body: bytes) -> Answer: ...
    def fill(self, log: str, start: int, auth: Mapping[str, str]) -> Answer: ...


class Mismatch(Exception):
    """What the county sent does not verify (the message says which check failed)."""


@dataclass(frozen=True, slots=True)
class Fetched:
    entries: tuple[bytes, ...]  # from the requested start
    receipt: Receipt
    note: str


# ------------------------------------------------------------------------ fetching


def fetch_log(transport: FillTransport, *, signer: Signer, origin: str, log: str, start: int,
              clock: Clock) -> Fetched:
    """Entries ``start …`` of ``log`` up to the size the county acknowledged, page by page,
    with its receipt; raises ``Mismatch`` if the pages disagree (verifying is the caller's)."""
    entries: list[bytes] = []
    size, note = None, None
    offset, retried = timedelta(), False
    for _ in range(MAX_PAGES):
        at = start + len(entries)
        stamp = iso(clock.now() + offset)
        auth = {"x-station-origin": origin, "x-station-time": stamp,
                "x-fill-signature": b64(signer.sign(fill_message(
                    origin=origin, log=log, start=at, time=stamp)))}
        status, answer = transport.fill(log, at, auth)
        if status == 401 and answer.get("error") == "stale" and not retried:
            # A PC clock off by more than minutes: sign with the county's time instead
            # (the request stays bound to this moment of the county's clock).
            offset, retried = _county_offset(clock, answer.get("county_time")), True
            continue
        if status != 200:
            raise SyncRefused(reason=f"县级拒绝提供记录（{status} {answer.get('error', '')}）")
        try:
            page = [unb64(e) for e in answer["entries"]]
            page_size, page_note = int(answer["size"]), answer["receipt"]
        except (KeyError, TypeError, ValueError, ProtocolError):
            raise Mismatch("county answer is malformed") from None
        if (size, note) != (None, None) and (size, note) != (page_size, page_note):
            raise Mismatch("the county's acknowledged size changed while fetching")
        size, note = page_size, page_note
        entries += page
        if not answer.get("more") or not page:
            break
    if size is None or start + len(entries) != size or not isinstance(note, str):
        raise Mismatch("the county sent fewer entries than it acknowledged")
    try:
        receipt = parse_receipt(note)
    except ProtocolError:
        raise Mismatch("the county's receipt is malformed") from None
    return Fetched(tuple(entries), receipt, note)


def _county_offset(clock: Clock, county_time: Any) -> timedelta:
    try:
        return datetime.fromisoformat(str(county_time)) - clock.now()
    except ValueError:
        return timedelta()


def verify_fetched(fetched: Fetched, *, log: str, keys: CountyKeys, public_key: bytes,
                   prefix: Sequence[bytes] = ()) -> bytes:
    """Check ``fetched`` (entries after the leaf hashes ``prefix``) against its receipt:
    county cosignature, the log's own signature, every entry, the root. Returns the root."""
    receipt, start = fetched.receipt, len(prefix)
    if receipt.county != keys.county or not any(
            receipt.verify(pub, signature_checker(pub)) for pub in keys.cosigners.values()):
        raise Mismatch("the receipt is not signed by the county")
    signed = receipt.signed
    if signed.checkpoint.origin != log or signed.key_name != log or \
            signed.key_id != note_key_id(log, public_key) or \
            not signature_checker(public_key)(signed.checkpoint.body(), signed.signature):
        raise Mismatch("the receipt's checkpoint is not signed by that log's key")
    frontier = Frontier()
    for h in prefix:
        frontier.append(h)
    for offset, data in enumerate(fetched.entries):
        try:
            entry = decode_entry(data)
        except MalformedEntry as exc:
            raise Mismatch(f"entry {start + offset}: {exc}") from None
        if entry.origin != log or entry.idx != start + offset:
            raise Mismatch(f"entry {start + offset} names another log or position")
        frontier.append(leaf_hash(data))
    if frontier.size != signed.checkpoint.size or frontier.root() != signed.checkpoint.root:
        raise Mismatch("the entries do not hash to the acknowledged root")
    return frontier.root()


# ------------------------------------------------------------- older backup copy


def fill_own_log(station: Station, transport: FillTransport, keys: CountyKeys) -> int:
    """Append what the county acknowledged beyond this copy's log (restored from an older
    backup), after checking that this log is a prefix of it; returns entries added."""
    origin, local = station.info.origin, station.ledger.size()
    try:
        fetched = fetch_log(transport, signer=station.signer, origin=origin, log=origin,
                            start=local, clock=station.clock)
        if not fetched.entries:
            return 0
        prefix = [h for _, _, h in station.ledger.rows(0, local)]
        verify_fetched(fetched, log=origin, keys=keys, public_key=station.signer.public_key,
                       prefix=prefix)
    except Mismatch as exc:
        raise HistoryConflict(reason=f"本机账本不是县级已确认记录的前段（{exc}）") from None
    with station.transaction():
        for offset, data in enumerate(fetched.entries):
            station.ledger.append(data, idx=local + offset, origin=origin, signer=station.signer)
            entry = decode_entry(data)
            station.projector.apply(station.positioned(entry))
            if entry.kind == "person.erased":
                # erased after the backup this copy came from: its key came back with the
                # backup and must go again (PIPL), or the filled log would be readable
                station.vault.erase(entry.body["person"])
        # Ed25519 is deterministic: re-signing the same tree gives the very note the county
        # cosigned, so the receipt is this log's own from now on.
        if station.ledger.head_note() != fetched.receipt.signed.note():
            raise HistoryConflict(reason="补齐后的检查点与县级回执不一致")
        station.sync_state.add_receipt(fetched.receipt.size, fetched.note,
                                       fetched.receipt.timestamp, iso(station.clock.now()))
    return len(fetched.entries)


# ------------------------------------------------------------------------ recovery


@dataclass(frozen=True, slots=True)
class _Pending:
    station: str
    origin: str
    server: str
    keyset: Mapping[str, Any]
    certificate: Mapping[str, Any]
    replaces: Mapping[str, Any]

    def save(self, folder: Path) -> None:
        (folder / PENDING_FILE).write_text(json.dumps({
            "station": self.station, "origin": self.origin, "server": self.server,
            "keyset": self.keyset, "certificate": self.certificate,
            "replaces": self.replaces}, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> _Pending | None:
        path = folder / PENDING_FILE
        if not path.exists():
            return None
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(raw["station"], raw["origin"], raw["server"], raw["keyset"],
                   raw["certificate"], raw["replaces"])


def recover(folder: Path, transport: FillTransport, code_text: str | None, *, clock: Clock,
            actor: str, station_code: str | None = None,
            keys_from: Path | None = None) -> RecoveryReport:
    """Make ``folder`` (new, empty) the replacement of this station's lost PC.

    Enrolls with the county's replacement code under new keys, fetches and verifies the
    lost PC's acknowledged history, and builds the station from it. A folder left by an
    interrupted recovery (enrolled, history not yet fetched) is resumed without a code.
    """
    folder = Path(folder)
    pending = _Pending.load(folder) if (folder / PENDING_FILE).exists() else None
    if pending is None:
        pending = _enroll_successor(folder, transport, code_text or "", station_code, clock)
    keys = read_keys(folder)
    county = open_keyset(pending.keyset, unb64(pending.keyset["doc"]["root"], size=32),
                         signature_checker)
    signer = Signer(keys.signing_seed)
    try:
        chain = _fetch_chain(transport, signer, pending, county, clock)
    except Mismatch as exc:
        raise RecoveryRefused(reason=f"县级数据与其回执不符（{exc}）",
                              reason_en=f"the county's data does not match its receipt ({exc})"
                              ) from None
    person_keys = person_keys_from(keys_from, pending.station, [log.origin for log in chain]) \
        if keys_from is not None else None
    enrolled = Enrolled(
        config={"server": pending.server, "root": b64(county.root),
                "keyset": json.dumps(pending.keyset, ensure_ascii=False, sort_keys=True),
                "certificate": json.dumps(pending.certificate, ensure_ascii=False,
                                          sort_keys=True)},
        entry={"county": county.county, "server": pending.server,
               "root": key_id(county.root), "keyset_version": county.version})
    report = build_recovered(folder, keys, chain, enrolled=enrolled, clock=clock, actor=actor,
                             person_keys=person_keys)
    (folder / PENDING_FILE).unlink()
    return report


def _enroll_successor(folder: Path, transport: FillTransport, code_text: str,
                      station_code: str | None, clock: Clock) -> _Pending:
    """New keys in the new folder, enrolled as the lost PC's successor. Refused: the
    folder is left as it was found."""
    if folder.exists() and any(folder.iterdir()):
        raise RecoveryFolderNotEmpty(path=str(folder))
    station, code = _code(code_text, station_code)
    signer, seed = Signer.generate()
    kem, kem_seed = KemKey.generate()
    origin = make_origin(station, signer.public_key)
    request = {"format": "vss-enroll/1", "station": station, "origin": origin,
               "log_public": b64(signer.public_key), "kem_public": b64(kem.public_key),
               "name": "", "t_wall": iso(clock.now()), "successor": True}
    secret = enrollment_mac_key(code)
    created = not folder.exists()
    write_keys(folder, StationKeys(seed, new_secret(), new_secret(), kem_seed=kem_seed))
    try:
        body = json.dumps({"request": request, "mac": mac(secret, request)}).encode()
        try:
            status, reply = transport.enroll(body)
        except CountyUnreachable as exc:
            raise EnrollUnreachable(**exc.params) from None
        if status == 403:
            raise EnrollRefused()
        if status != 200:
            raise SyncRefused(reason=f"注册失败（{status} {reply.get('error', '')}）")
        pending = _check_reply(reply, secret, station, origin, signer, transport.server)
        pending.save(folder)
        return pending
    except BaseException:
        _forget(folder, created)
        raise


def _forget(folder: Path, created: bool) -> None:
    if created:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        shutil.rmtree(keys_path(folder).parent, ignore_errors=True)
        (folder / PENDING_FILE).unlink(missing_ok=True)


def _code(text: str, station_code: str | None) -> tuple[str, str]:
    try:
        meant_for, code = parse_enroll_text(text)
    except ProtocolError:
        raise InvalidInput(field="code", label="注册码",
                           reason="扫描的二维码不是县级注册码") from None
    if meant_for is not None and station_code and meant_for != station_code:
        raise InvalidInput(field="code", label="注册码",
                           reason=f"这是发给站点 {meant_for} 的注册码，不是 {station_code}")
    station = meant_for or station_code
    if not station:
        raise InvalidInput(field="station", label="站点编码",
                           reason="请用 --station 给出站点编码，或输入扫描二维码得到的整段文字")
    if not code.strip():
        raise InvalidInput(field="code", label="注册码", reason="请输入县里发的替换注册码")
    return check_station_code(station), code


def _check_reply(reply: Mapping[str, Any], secret: bytes, station: str, origin: str,
                 signer: Signer, server: str) -> _Pending:
    """The county's answer, authenticated by the code's MAC, must name this device and
    the lost log it replaces."""
    answer = {"certificate": reply.get("certificate"), "keyset": reply.get("keyset"),
              "replaces": reply.get("replaces")}
    try:
        _keys, cert = open_enrollment_reply(answer, reply.get("mac"), secret,
                                            signature_checker)
        replaces = dict(answer["replaces"])
        lost = str(replaces["origin"])
    except (ProtocolError, KeyError, TypeError, ValueError):
        raise EnrollRefused() from None
    if cert.get("origin") != origin or cert.get("log_public") != b64(signer.public_key) \
            or origin_station(lost) != station:
        raise EnrollRefused()
    return _Pending(station, origin, server, answer["keyset"], answer["certificate"], replaces)


def _fetch_chain(transport: FillTransport, signer: Signer, pending: _Pending,
                 keys: CountyKeys, clock: Clock) -> list[LostLog]:
    """The lost log, then each log it in turn succeeded; returned oldest first."""
    want = pending.replaces
    chain: list[LostLog] = []
    for _ in range(MAX_CHAIN):
        lost = _fetch_lost(transport, signer, pending.origin, str(want["origin"]), keys, clock)
        if (lost.size, b64(lost.root)) != (want.get("size"), want.get("root")):
            raise Mismatch("the log is not the one the county approved")
        chain.insert(0, lost)
        entry = decode_entry(lost.entries[1]) if lost.size > 1 else None
        if entry is None or entry.kind != SUCCESSION_KIND:
            return chain
        want = entry.body["predecessor"]
    raise Mismatch("too many lost PCs in one history")


def _fetch_lost(transport: FillTransport, signer: Signer, origin: str, log: str,
                keys: CountyKeys, clock: Clock) -> LostLog:
    fetched = fetch_log(transport, signer=signer, origin=origin, log=log, start=0, clock=clock)
    if not fetched.entries:
        raise Mismatch("the county holds nothing of that log")
    genesis = decode_entry(fetched.entries[0])
    try:
        public = base64.b64decode(str(genesis.body.get("public_key")), validate=True)
    except ValueError:
        raise Mismatch("entry 0 names no key") from None
    if genesis.kind != GENESIS_KIND or make_origin(origin_station(log), public) != log:
        raise Mismatch("entry 0 is not that log's genesis")
    root = verify_fetched(fetched, log=log, keys=keys, public_key=public)
    return LostLog(origin=log, public_key=b64(public), entries=fetched.entries, root=root,
                   receipt=fetched.note, county_time=fetched.receipt.timestamp)
