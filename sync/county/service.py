"""What the county server does, independent of HTTP: the same calls serve the web API and
USB imports (see docs/sync.md).

Each public method takes the request's bytes and returns a ``Reply`` (status and JSON body);
nothing is stored unless every check passed, and the reply is built only after the commit.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from station_app.crypto import signature_checker
from station_app.crypto.kem import SUITE_ID, seal_to, valid_public_key
from station_app.domain.canonical import NotCanonical, canonical_json
from station_app.domain.clock import iso
from station_app.domain.log import (
    GENESIS_KIND,
    MalformedEntry,
    SignedCheckpoint,
    decode_entry,
    make_origin,
    note_key_id,
)
from station_app.domain.merkle import (
    Frontier,
    leaf_hash,
    pack_peaks,
    unpack_peaks,
    verify_consistency,
)
from station_app.domain.numbering import STATION_CODE
from station_app.domain.publications import Revocation, revocations_content
from station_app.errors import CountyStationUnknown, CryptoFailure, ReplaceRefused
from sync.codec import decompress
from sync.county.keys import OnlineKeys
from sync.county.store import CountyDb, StationRow, Tx
from sync.protocol import (
    CERT_PURPOSE,
    COLLECTIONS,
    DICT_BYTES,
    FILL_PAGE,
    PACKAGE_LEAVES,
    PACKAGE_RAW_BYTES,
    PUBLICATION_PURPOSE,
    SALT_KEY_BYTES,
    CheckpointRequest,
    PackageHeader,
    ProtocolError,
    b64,
    cosign,
    enrollment_mac_key,
    fill_message,
    frame_entries,
    key_id,
    mac,
    mac_ok,
    parse_checkpoint_note,
    parse_checkpoint_request,
    parse_json_object,
    parse_package,
    publication_doc,
    sha256_hex,
    sign_doc,
    unb64,
    unix_seconds,
    unpack_entries,
)
from sync.relay import (
    COUNTY_KINDS,
    FETCH_PAGE,
    FETCH_SKEW_SECONDS,
    UNMASK_ANSWER,
    RelayHeader,
    envelope_bytes,
    fetch_message,
    open_envelope,
    parse_envelope,
    parse_payload,
    payload_bytes,
    read_envelope,
    seal_envelope,
)

TICKET_HOURS = 72
TICKET_ATTEMPTS = 5
DEFAULT_DAYS = 90  # a publication not renewed within this is reported stale by the stations
MAX_DAYS = 3660


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Mapping[str, Any] = field(default_factory=dict)

    def json(self) -> bytes:
        return json.dumps(self.body, ensure_ascii=False).encode()


def _signed(public: bytes, message: bytes, signature: Any) -> bool:
    """Whether ``signature`` (base64) is ``public``'s Ed25519 signature of ``message``."""
    try:
        return signature_checker(public)(message, unb64(signature, size=64))
    except ProtocolError:
        return False


def _error(status: int, code: str, detail: str = "") -> Reply:
    return Reply(status, {"error": code, **({"detail": detail} if detail else {})})


@dataclass(frozen=True, slots=True)
class Ticket:
    station: str
    code: str  # shown once to the officer; only a key derived from it is stored
    expires: str
    replaces: str | None = None  # the lost PC's origin, for a replacement code
    size: int = 0  # its acknowledged entries: what the replacement can recover


class County:
    def __init__(self, db: CountyDb, keys: OnlineKeys, now: Callable[[], datetime]) -> None:
        self.db, self.keys, self.now = db, keys, now
        # One package verified at a time in this process. Verifying is Python work under
        # the GIL: forty server threads verifying at once only take turns, all finish
        # together and then all queue for the write lock while the core idles. One at a
        # time, each package commits while the next is being verified.
        self._verifying = threading.Lock()

    # ---------------------------------------------------------------- enrollment

    def new_ticket(self, station: str, *, replaces: bool = False) -> Ticket:
        """A one-time enrollment code for ``station`` (replaces any earlier open one).

        ``replaces``: the county approves a replacement PC for a lost one (docs/recovery.md):
        the station's newest key is revoked now, as of its last acknowledged size, and the
        device enrolling with this code becomes its successor, allowed to fetch that history.
        """
        code = base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=")
        now = self.now()
        expires = iso(now + timedelta(hours=TICKET_HOURS))
        lost: StationRow | None = None
        with self.db.write() as tx:
            if replaces:
                lost = self._approve_replacement(tx, station, iso(now))
            tx.put_ticket(station, enrollment_mac_key(code), iso(now), expires)
            if lost is not None:
                tx.set_ticket_replaces(station, lost.origin)
        shown = "-".join(code[i:i + 4] for i in range(0, len(code), 4))
        if lost is None:
            return Ticket(station, shown, expires)
        return Ticket(station, shown, expires, lost.origin, _acknowledged(lost))

    def _approve_replacement(self, tx: Tx, station: str, now: str) -> StationRow:
        """The station's newest key, revoked (if it is not yet) as of its last receipt."""
        known = tx.stations(station)
        if not known:
            raise CountyStationUnknown(value=station)
        # The newest key with acknowledged history; a newer one without any (a replacement
        # whose recovery was abandoned) is revoked with it.
        lost = next((s for s in reversed(known) if _acknowledged(s) > 0), None)
        if lost is None:
            raise ReplaceRefused(value=station)
        live = [s for s in known if s.revoked_at is None]
        for s in live:
            tx.revoke(s.origin, at=now, size=s.receipt_size,
                      reason="lost" if s.origin == lost.origin else "superseded")
        if live:
            self._publish_revocations(tx)
        return tx.station(lost.origin) or lost

    def enroll(self, body: bytes) -> Reply:
        try:
            raw = parse_json_object(body, "enroll request")
            request, tag = raw.get("request"), raw.get("mac")
            station, origin, log_public, kem_public = _enroll_fields(request)
        except ProtocolError as exc:
            return _error(400, "malformed", exc.reason)
        now = self.now()
        with self.db.write() as tx:
            ticket = tx.ticket(station)
            # One opaque refusal for every way a code can be wrong: nothing to probe.
            if ticket is None or ticket[2] is not None or ticket[1] < iso(now) \
                    or ticket[3] >= TICKET_ATTEMPTS:
                return _error(403, "enroll-refused")
            replaces = tx.ticket_replaces(station)
            # A replacement code only for a recovering device and vice versa: an ordinary
            # `station enroll` must not silently succeed a lost PC without recovering it.
            if not mac_ok(ticket[0], request, tag) or \
                    (replaces is not None) != (request.get("successor") is True):
                tx.ticket_failed(station)
                return _error(403, "enroll-refused")
            tx.ticket_used(station, iso(now))
            certificate = self._certificate(request, origin, now)
            superseded = [old for old in tx.stations(station)  # a new device replaces it
                          if old.revoked_at is None and old.origin != origin]
            for old in superseded:
                tx.revoke(old.origin, at=iso(now), size=old.receipt_size, reason="superseded")
            if superseded:
                self._publish_revocations(tx)
            if tx.station(origin) is None:
                tx.add_station(origin=origin, code=station, name=str(request.get("name", "")),
                               log_public=log_public, kem_public=kem_public,
                               certificate=json.dumps(certificate), at=iso(now))
            succeeds = None if replaces is None else \
                _succeed(tx, origin, replaces, iso(now))
        reply = {"certificate": certificate, "keyset": self.keys.keyset,
                 **({} if succeeds is None else {"replaces": succeeds})}
        return Reply(200, {**reply, "mac": mac(ticket[0], reply)})

    def _certificate(self, request: Mapping[str, Any], origin: str, now: datetime
                     ) -> dict[str, Any]:
        doc = {"format": "vss-station-cert/1", "county": self.keys.county,
               "station": request["station"], "origin": origin,
               "log_public": request["log_public"], "kem_public": request["kem_public"],
               "name": str(request.get("name", "")), "issued": iso(now)}
        return sign_doc(doc, purpose=CERT_PURPOSE, kid=self.keys.cosigner_kid,
                        sign=self.keys.cosigner.sign)

    def certificate(self, station: str) -> Reply:
        with self.db.read() as tx:
            live = [s for s in tx.stations(station) if s.revoked_at is None]
        if not live:
            return _error(404, "unknown-station")
        return Reply(200, {"certificate": json.loads(live[-1].certificate)})

    def revoke(self, station: str, reason: str = "revoked") -> list[str]:
        """Revoke every live key of ``station`` as of its last receipted size."""
        with self.db.write() as tx:
            live = [s for s in tx.stations(station) if s.revoked_at is None]
            for s in live:
                tx.revoke(s.origin, at=iso(self.now()), size=s.receipt_size, reason=reason)
            if live:  # every station learns of it at its next sync
                self._publish_revocations(tx)
        return [s.origin for s in live]

    # ------------------------------------------------------------------- upload

    def status(self, origin: str) -> Reply:
        with self.db.read() as tx:
            st = tx.station(origin)
            if st is None:
                return _error(403, "unknown-station")
            receipt = tx.receipt(origin, st.receipt_size) if st.receipt_size else None
        return Reply(200, {"size": st.size, "committed": st.committed_size,
                           "receipt": receipt, "revoked": st.revoked_at is not None})

    def add_checkpoint(self, origin: str, body: bytes, station_time: str | None = None) -> Reply:
        try:
            request = parse_checkpoint_request(body)
            signed = request.signed
        except ProtocolError as exc:
            return _error(400, "malformed", exc.reason)
        if signed.checkpoint.origin != origin:
            return _error(400, "malformed", "checkpoint names another log")
        now = iso(self.now())
        with self.db.write() as tx:
            st = tx.station(origin, lock=True)
            refused = self._admit(tx, st, body, signed.checkpoint.size, now,
                                  kind="checkpoint", signed=signed)
            if refused is not None:
                return refused
            assert st is not None
            return self._commit(tx, st, request, body, now, station_time)

    def _admit(self, tx: Tx, st: StationRow | None, body: bytes, size: int, now: str, *,
               kind: str, signed: SignedCheckpoint | None = None) -> Reply | None:
        """Refuse unknown or revoked stations and bad signatures; quarantine what a revoked
        station sends beyond its last receipt."""
        if st is None:
            return _error(403, "unknown-station")
        if signed is not None and not _station_signed(st, signed):
            return _error(400, "bad-signature")
        tx.seen(st.origin, now)
        if st.revoked_at is not None:
            if size > (st.revoked_size or 0):
                tx.quarantine(st.origin, kind, now, body)
            return _error(403, "revoked")
        return None

    def _commit(self, tx: Tx, st: StationRow, request: CheckpointRequest, body: bytes,
                now: str, station_time: str | None) -> Reply:
        size, root = request.signed.checkpoint.size, request.signed.checkpoint.root
        known = tx.checkpoint(st.origin, size)
        if known is not None:
            if known[0] != root:
                tx.add_evidence(st.origin, "fork", now, f"two roots for size {size}", body)
                return _error(422, "inconsistent", f"another root for size {size}")
            return self._progress(tx, st, size)
        if request.old != st.committed_size or size < st.committed_size:
            return Reply(409, _cursor(st))
        if not verify_consistency(st.committed_size, st.committed_root, size, root,
                                  request.proof):
            tx.add_evidence(st.origin, "inconsistent", now,
                            f"no append-only proof from {st.committed_size} to {size}", body)
            return _error(422, "inconsistent")
        tx.add_checkpoint(st.origin, size, root, request.note,
                          sha256_hex(request.note.encode()), now, station_time)
        tx.set_committed(st.origin, size, root)
        return Reply(202, {"size": st.size, "next": st.size, "committed": size})

    def _progress(self, tx: Tx, st: StationRow, size: int) -> Reply:
        """Where an already accepted checkpoint of ``size`` stands (replays land here)."""
        if st.size >= size:
            receipt = tx.receipt(st.origin, size) or self._receipt(tx, st.origin, size)
            return Reply(200, {"receipt": receipt, "size": st.size})
        return Reply(202, {"size": st.size, "next": st.size, "committed": st.committed_size})

    def _receipt(self, tx: Tx, origin: str, size: int) -> str:
        """Cosign the stored checkpoint of ``size`` now, and keep the receipt for replays."""
        found = tx.checkpoint(origin, size)
        assert found is not None
        signed = parse_checkpoint_note(found[1])
        receipt = cosign(signed, county=self.keys.county, public_key=self.keys.cosigner.public_key,
                         sign=self.keys.cosigner.sign, timestamp=unix_seconds(self.now()))
        tx.add_receipt(origin, size, receipt.note(), receipt.timestamp)
        return receipt.note()

    def add_entries(self, origin: str, body: bytes) -> Reply:
        # The CPU work (decrypt, decompress, decode every entry, hash every leaf) runs
        # before the write transaction, so other workers' packages commit meanwhile. It
        # needs nothing an upload changes: a station's origin and key are fixed at enrollment.
        with self._verifying:
            opened = self._open_package(origin, body)
            if isinstance(opened, Reply):
                return opened
            header, entries, log_public = opened
            checked = _check_entries(entries, header.start, origin, log_public)
        now = iso(self.now())
        with self.db.write() as tx:
            st = tx.station(origin, lock=True)
            refused = self._admit(tx, st, body, header.end, now, kind="package")
            if refused is not None:
                return refused
            assert st is not None
            cp = tx.checkpoint_by_digest(origin, header.checkpoint)
            if cp is None or cp[0] != header.size:
                return Reply(409, _cursor(st))
            hashes = checked.hashes
            if header.start > st.size:
                return Reply(409, _cursor(st))
            link = _succession_problem(tx, origin, header.start, entries)
            if link is not None:
                tx.add_evidence(origin, "mismatch", now, link, body)
                return _error(422, "mismatch", link)
            # Entries already stored (a replay, or a USB bundle overlapping an online sync)
            # must be the stored ones; the rest, if any, is new.
            overlap = min(header.end, st.size) - header.start
            if overlap and tx.leaf_hashes(origin, header.start, header.start + overlap
                                          ) != hashes[:overlap]:
                tx.add_evidence(origin, "fork", now, f"other entries for "
                                f"{header.start}–{header.start + overlap - 1}", body)
                return _error(422, "fork")
            if header.end <= st.size:
                return self._progress(tx, st, cp[0])
            return self._store(tx, st, header, entries[overlap:], hashes[overlap:],
                               checked.first_problem(overlap), (cp[0], cp[1]), body, now)

    def _open_package(self, origin: str, body: bytes
                      ) -> Reply | tuple[PackageHeader, list[bytes], bytes]:
        """Decrypt and unpack; any failure is a 400 and nothing is stored. Also the
        station's log key, read with the dictionary (unknown station: 403)."""
        try:
            header, ciphertext = parse_package(body)
        except ProtocolError as exc:
            return _error(400, "malformed", exc.reason)
        if header.origin != origin or header.suite != SUITE_ID:
            return _error(400, "malformed", "package names another log or suite")
        kem = self.keys.kem(header.kid)
        if kem is None:
            return _error(400, "unknown-kid")
        try:
            packed = kem.open(ciphertext, header.info())  # this authenticates the header
        except CryptoFailure:
            return _error(400, "undecryptable")
        stored = self._stored(header)
        if isinstance(stored, Reply):
            return stored
        dictionary, st = stored
        try:
            plain = decompress(packed, dictionary=dictionary,
                               limit=SALT_KEY_BYTES + PACKAGE_RAW_BYTES + 4 * PACKAGE_LEAVES)
            entries = unpack_entries(plain, origin=origin, start=header.start)
        except ProtocolError as exc:
            return _error(400, "malformed", exc.reason)
        if len(entries) != header.end - header.start:
            return _error(400, "malformed", "package holds the wrong number of entries")
        if st is None:  # checked after the package itself, as the write path would
            return _error(403, "unknown-station")
        return header, entries, st.log_public

    def _stored(self, header: PackageHeader) -> tuple[bytes, StationRow | None] | Reply:
        """The stored entries a package is compressed against, and the station as stored
        (None if unknown); a package that names entries the county does not hold yet is
        out of order (409, resume)."""
        first = header.start - header.dict_entries
        with self.db.read() as tx:
            rows = tx.entries(header.origin, first, header.start) if header.dict_entries \
                else []
            st = tx.station(header.origin)
        if len(rows) < header.dict_entries:
            return Reply(409, _cursor(st)) if st is not None else _error(403, "unknown-station")
        dictionary = frame_entries(r[1] for r in rows) if rows else b""
        if len(dictionary) > DICT_BYTES:
            return _error(400, "malformed", "package dictionary is too large")
        return dictionary, st

    def _store(self, tx: Tx, st: StationRow, header: PackageHeader, entries: list[bytes],
               hashes: list[bytes], problem: str | None, cp: tuple[int, bytes], body: bytes,
               now: str) -> Reply:
        """Check the new leaves against the signed checkpoint, store them, maybe cosign.
        ``problem``: the first malformed new entry, found before the transaction."""
        frontier = Frontier(st.size, unpack_peaks(st.peaks) if st.peaks else [])
        for h in hashes:
            frontier.append(h)
        if problem is None and not verify_consistency(header.end, frontier.root(), cp[0],
                                                      cp[1], header.proof):
            problem = "entries do not match the signed checkpoint"
        if problem is not None:
            tx.add_evidence(st.origin, "mismatch", now, problem, body)
            return _error(422, "mismatch", problem)
        tx.add_entries(st.origin, st.size, entries, hashes, now)
        tx.set_stored(st.origin, header.end, pack_peaks(frontier.peaks))
        if header.end == cp[0]:
            return Reply(200, {"receipt": self._receipt(tx, st.origin, cp[0]),
                               "size": header.end})
        return Reply(202, {"size": header.end, "next": header.end,
                           "committed": st.committed_size})

    # --------------------------------------------------------------------- fill

    def fill(self, log: str, start: str, auth: Mapping[str, str]) -> Reply:
        """Acknowledged entries of ``log`` from ``start`` (at most ``FILL_PAGE``), with the
        receipt they verify against: for the log's own station (a copy restored from an
        older backup) or for a replacement PC approved to succeed it (docs/recovery.md).
        ``auth`` is the caller's signed request (origin, time, signature)."""
        if not start.isdigit() or len(start) > 18:
            return _error(400, "malformed", "start must be a number")
        first = int(start)
        with self.db.read() as tx:
            caller = tx.station(auth.get("origin", ""))
            refused = self._fill_refused(caller, log, first, auth)
            if refused is None and not _fresh(auth.get("time", ""), self.now()):
                refused = Reply(401, {"error": "stale", "county_time": iso(self.now())})
            if refused is not None:
                return refused
            assert caller is not None
            size = _fill_size(tx, caller, log)
            if size is None:
                return _error(403, "forbidden")
            if first > size:
                return _error(400, "malformed", "start is beyond the acknowledged size")
            end = min(size, first + FILL_PAGE)
            rows = tx.entries(log, first, end)
            receipt = tx.receipt(log, size) if size else None
        return Reply(200, {"log": log, "start": first, "size": size, "receipt": receipt,
                           "entries": [b64(bytes(r[1])) for r in rows], "more": end < size})

    @staticmethod
    def _fill_refused(caller: StationRow | None, log: str, start: int,
                      auth: Mapping[str, str]) -> Reply | None:
        if caller is None:
            return _error(403, "unknown-station")
        if caller.revoked_at is not None:  # a lost PC learns nothing more
            return _error(403, "revoked")
        stamp = auth.get("time", "")
        message = fill_message(origin=caller.origin, log=log, start=start, time=stamp)
        if not _signed(caller.log_public, message, auth.get("signature")):
            return _error(401, "bad-signature")
        return None

    # ------------------------------------------------------------------ publish

    def publish(self, collection: str, content: Any, *, days: int = DEFAULT_DAYS
                ) -> dict[str, Any]:
        """Sign ``content`` as the next version of ``collection`` and keep it for the
        stations. The content must already be checked (``sync.county.publish``)."""
        with self.db.write() as tx:
            return self._publish(tx, collection, content, days)

    def publish_revocations(self, *, days: int = DEFAULT_DAYS) -> dict[str, Any]:
        """Publish the list of revoked station keys again (e.g. before it expires)."""
        with self.db.write() as tx:
            return self._publish_revocations(tx, days)

    def _publish(self, tx: Tx, collection: str, content: Any, days: int) -> dict[str, Any]:
        if collection not in COLLECTIONS:
            raise ValueError(f"unknown collection {collection!r}")
        if not 1 <= days <= MAX_DAYS:
            raise ValueError(f"a publication is valid for 1 to {MAX_DAYS} days, not {days}")
        now = self.now()
        version = tx.publication_version(collection) + 1
        doc = publication_doc(county=self.keys.county, collection=collection, version=version,
                              issued=iso(now), expires=iso(now + timedelta(days=days)),
                              content=content)
        try:
            canonical_json(doc)  # refuse floats and other non-canonical content now
        except NotCanonical as exc:
            raise ValueError(f"publication content is not canonical JSON: {exc}") from None
        signed = sign_doc(doc, purpose=PUBLICATION_PURPOSE, kid=self.keys.cosigner_kid,
                          sign=self.keys.cosigner.sign)
        tx.add_publication(collection, version, json.dumps(signed, ensure_ascii=False),
                           iso(now))
        return signed

    def _publish_revocations(self, tx: Tx, days: int = DEFAULT_DAYS) -> dict[str, Any]:
        """The revoked keys as the county's records have them, in the same transaction as
        the revocation itself: no moment where a key is revoked but not yet published."""
        revoked = [Revocation(s.origin, s.code, s.revoked_at, s.revoked_size or 0,
                              s.revoke_reason or "")
                   for s in tx.stations() if s.revoked_at is not None]
        return self._publish(tx, "revocations", revocations_content(revoked), days)

    def publications(self, since: Mapping[str, int]) -> Reply:
        """The newest version of each collection the caller does not have yet. Each version
        is the whole collection, so a station that missed some simply takes the newest."""
        with self.db.read() as tx:
            latest = tx.latest_publications()
        return Reply(200, {"publications": [json.loads(doc) for collection, version, doc in latest
                                            if version > since.get(collection, 0)]})

    def keyset(self) -> Reply:
        return Reply(200, {"keyset": self.keys.keyset})

    # -------------------------------------------------------------------- relay

    def relay(self, body: bytes) -> Reply:
        """Keep a message for another station, once per (sender, id). The county checks who
        sent it and that both sides are enrolled and live; it cannot read the payload."""
        try:
            signed = read_envelope(body)
            header, _ = parse_envelope(signed)
        except ProtocolError as exc:
            return _error(400, "malformed", exc.reason)
        now = iso(self.now())
        with self.db.write() as tx:
            st = tx.station(header.sender, lock=True)
            if st is None:
                return _error(403, "unknown-station")
            try:
                open_envelope(signed, st.log_public, signature_checker(st.log_public))
            except ProtocolError:
                return _error(400, "bad-signature")
            tx.seen(st.origin, now)
            if st.revoked_at is not None:
                tx.quarantine(st.origin, "relay", now, body)
                return _error(403, "revoked")
            if header.kind == UNMASK_ANSWER:
                return self._take_answer(tx, st, signed, header, now)
            refused = self._recipient_refused(tx, header)
            if refused is not None:
                return refused
            stored = tx.add_relay(header.to, st.origin, header.id,
                                  envelope_bytes(signed).decode(), now)
        return Reply(200, {"stored": stored, "id": header.id})

    def _take_answer(self, tx: Tx, st: StationRow, signed: Mapping[str, Any],
                     header: RelayHeader, now: str) -> Reply:
        """A station's answer to an unmask request (docs/dashboard.md): kept once, sealed as
        it came, if it answers a request made to that station and opens with a county KEM
        key. It is opened here only to check it; the clear values are never stored."""
        if header.to != self.keys.county:
            return _error(403, "unknown-recipient")
        asked = tx.unmask_request(header.id)
        if asked is None or asked[3] != st.code:
            return _error(404, "unknown-request")
        if self.keys.kem(header.kem) is None:  # sealed to a key the county no longer has
            return _error(409, "county-key")
        try:
            answer = open_unmask_answer(self.keys, signed)
        except ProtocolError as exc:
            return _error(400, "malformed", exc.reason)
        if answer["case_no"] != asked[4]:
            return _error(400, "malformed", "the answer names another case")
        stored = tx.add_unmask_answer(header.id, st.origin, envelope_bytes(signed).decode(),
                                      now)
        return Reply(200, {"stored": stored, "id": header.id})

    @staticmethod
    def _recipient_refused(tx: Tx, header: RelayHeader) -> Reply | None:
        keys = [s for s in tx.stations(header.to) if s.revoked_at is None]
        if not keys:
            return _error(403, "unknown-recipient")
        if header.kem != key_id(keys[-1].kem_public):  # sealed to a superseded device
            return _error(409, "recipient-key")
        return None

    def send_from_county(self, tx: Tx, station: StationRow, kind: str,
                         payload: Mapping[str, Any]) -> str:
        """Queue a message the county itself sends (``COUNTY_KINDS``) for ``station``, in
        the caller's transaction: sealed to the station's KEM key, signed by the cosigner,
        ``from`` the county's name. Fetched like any relayed message; returns its id."""
        assert kind in COUNTY_KINDS, kind
        header = RelayHeader(sender=self.keys.county, to=station.code,
                             id=secrets.token_hex(16), kind=kind, sent=iso(self.now()),
                             kem=key_id(station.kem_public), suite=SUITE_ID)
        ciphertext = seal_to(station.kem_public, payload_bytes(kind, payload), header.info())
        signed = seal_envelope(header, ciphertext, sender_public=self.keys.cosigner.public_key,
                               sign=self.keys.cosigner.sign)
        tx.add_relay(station.code, self.keys.county, header.id,
                     envelope_bytes(signed).decode(), header.sent)
        return header.id

    def relay_backlog(self, station: str, after: int) -> list[dict[str, Any]]:
        """Every message for ``station`` after ``after``, each as ``relay_inbox`` delivers it:
        a USB reply carries the whole queue, not a page (sync.county.usb)."""
        with self.db.read() as tx:
            rows = tx.relay_for(station, after, USB_RELAY_LIMIT)
            return [_delivery(tx, seq, text) for seq, text in rows]

    def relay_inbox(self, station: str, after: str, auth: Mapping[str, str]) -> Reply:
        """The messages for ``station`` after ``after``, to that station only (``auth`` is
        its signed request: origin, time, signature), each with its sender's certificate."""
        if not after.isdigit() or len(after) > 18:
            return _error(400, "malformed", "after must be a number")
        now = self.now()
        with self.db.read() as tx:
            refused = self._fetch_refused(tx.station(auth.get("origin", "")), station,
                                          int(after), auth, now)
            if refused is not None:
                return refused
            rows = tx.relay_for(station, int(after), FETCH_PAGE)
            messages = [_delivery(tx, seq, text) for seq, text in rows]
        return Reply(200, {"messages": messages, "next": rows[-1][0] if rows else int(after),
                           "more": len(rows) == FETCH_PAGE})

    @staticmethod
    def _fetch_refused(st: StationRow | None, station: str, after: int,
                       auth: Mapping[str, str], now: datetime) -> Reply | None:
        if st is None:
            return _error(403, "unknown-station")
        if st.revoked_at is not None:
            return _error(403, "revoked")
        if st.code != station:
            return _error(403, "forbidden")
        stamp = auth.get("time", "")
        message = fetch_message(origin=st.origin, station=station, after=after, time=stamp)
        if not _signed(st.log_public, message, auth.get("signature")):
            return _error(401, "bad-signature")
        if not _fresh(stamp, now):
            return Reply(401, {"error": "stale", "county_time": iso(now)})
        return None


def open_unmask_answer(keys: OnlineKeys, signed: Any) -> dict[str, Any]:
    """The payload of a station's ``unmask-answer`` envelope, opened with the county's KEM
    key it names (its header is bound to the ciphertext). ``ProtocolError`` if it does not
    open: the key is gone, or the envelope was changed."""
    header, ciphertext = parse_envelope(signed)
    kem = keys.kem(header.kem)
    if header.kind != UNMASK_ANSWER or kem is None:
        raise ProtocolError("not an answer this county can open")
    try:
        return parse_payload(UNMASK_ANSWER, kem.open(ciphertext, header.info()))
    except CryptoFailure:
        raise ProtocolError("the answer does not open") from None


USB_RELAY_LIMIT = 1_000_000  # messages in one USB reply: in practice, all of them


def _delivery(tx: Tx, seq: int, text: str) -> dict[str, Any]:
    """One stored message as the recipient gets it: with the sender's certificate, or
    refused if the sender has been revoked since."""
    signed = json.loads(text)
    if signed["doc"]["kind"] in COUNTY_KINDS:  # the county's own: its key set vouches for it
        return {"seq": seq, "envelope": signed, "certificate": None}
    sender = tx.station(signed["doc"]["from"])
    if sender is None or sender.revoked_at is not None:
        return {"seq": seq, "refused": "revoked"}
    return {"seq": seq, "envelope": signed, "certificate": json.loads(sender.certificate)}


def _fresh(stamp: str, now: datetime) -> bool:
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return False
    if when.tzinfo is None:
        return False
    return abs((when - now).total_seconds()) <= FETCH_SKEW_SECONDS


def _cursor(st: StationRow) -> dict[str, int]:
    return {"size": st.size, "next": st.size, "committed": st.committed_size}


def _station_signed(st: StationRow, signed: SignedCheckpoint) -> bool:
    return (signed.key_name == st.origin
            and signed.key_id == note_key_id(st.origin, st.log_public)
            and signature_checker(st.log_public)(signed.checkpoint.body(), signed.signature))


@dataclass(frozen=True, slots=True)
class _Checked:
    """A package's entries as checked outside the write transaction: each leaf hash, and
    each entry's problem (None for an entry in the v1 form, of this log, at its index)."""

    hashes: list[bytes]
    problems: list[str | None]

    def first_problem(self, offset: int) -> str | None:
        """The first problem from ``offset`` on: entries below it are already stored (and
        compared by hash instead), so only the new ones must be well formed."""
        return next((p for p in self.problems[offset:] if p is not None), None)


def _check_entries(entries: list[bytes], start: int, origin: str, log_public: bytes
                   ) -> _Checked:
    return _Checked([leaf_hash(e) for e in entries],
                    [_entry_problem(data, start + offset, origin, log_public)
                     for offset, data in enumerate(entries)])


def _entry_problem(data: bytes, idx: int, origin: str, log_public: bytes) -> str | None:
    """An entry in the v1 form, of this log, at its index; the genesis names the key."""
    try:
        entry = decode_entry(data)
    except MalformedEntry as exc:
        return f"entry {idx}: {exc}"
    if entry.origin != origin or entry.idx != idx:
        return f"entry {idx} names another log or position"
    if idx == 0 and (entry.kind != GENESIS_KIND
                     or entry.body.get("public_key") != b64(log_public)):
        return "entry 0 is not this station's genesis"
    return None


def _enroll_fields(request: Any) -> tuple[str, str, bytes, bytes]:
    if not isinstance(request, dict) or request.get("format") != "vss-enroll/1":
        raise ProtocolError("not an enrollment request")
    station, origin = request.get("station"), request.get("origin")
    if not isinstance(station, str) or not isinstance(origin, str):
        raise ProtocolError("station and origin are required")
    if not STATION_CODE.match(station):
        raise ProtocolError("station is not a station code")
    name = request.get("name", "")
    # Stored and shown at the county (and PostgreSQL text refuses NUL): plain text only.
    if not isinstance(name, str) or len(name) > 60 or not name.isprintable():
        raise ProtocolError("name must be printable text of at most 60 characters")
    log_public = unb64(request.get("log_public"), size=32)
    kem_public = unb64(request.get("kem_public"))
    if origin != make_origin(station, log_public) or not valid_public_key(kem_public):
        raise ProtocolError("origin or keys do not fit")
    return station, origin, log_public, kem_public



# ------------------------------------------------------------------ succession

SUCCESSION_KIND = "log.succession"  # entry 1 of a replacement PC's log (docs/recovery.md)
MAX_CHAIN = 32  # lost PCs one history may pass through


def _acknowledged(st: StationRow) -> int:
    """What the county vouches for of a (lost) PC's log: its receipted size, or where it
    stood when it was revoked."""
    return (st.revoked_size or 0) if st.revoked_at is not None else st.receipt_size


def _succeed(tx: Tx, origin: str, lost: str, now: str) -> dict[str, Any]:
    """Record ``origin`` as the successor of the lost PC's log; what its log must name."""
    old = tx.station(lost)
    assert old is not None  # the ticket was approved for it
    size = _acknowledged(old)
    found = tx.checkpoint(lost, size)
    receipt = tx.receipt(lost, size)
    assert found is not None and receipt is not None  # a receipted size has both
    county_time = next(t for s, _, t in tx.receipts(lost) if s == size)
    if tx.succession(origin) is None:
        tx.add_succession(origin, lost, size, found[0], county_time, now)
    return {"origin": lost, "size": size, "root": b64(found[0]), "receipt": receipt}


def _fill_size(tx: Tx, caller: StationRow, log: str) -> int | None:
    """How far ``caller`` may read ``log``: its own receipted size, or the acknowledged
    size of a lost PC somewhere up its chain of predecessors; None: not at all."""
    if log == caller.origin:
        return caller.receipt_size
    current = caller.origin
    for _ in range(MAX_CHAIN):
        link = tx.succession(current)
        if link is None:
            return None
        if link[0] == log:
            return link[1]
        current = link[0]
    return None


def _succession_problem(tx: Tx, origin: str, start: int, entries: list[bytes]) -> str | None:
    """A replacement PC's entry 1 must name the lost log exactly as the county holds it."""
    if not start <= 1 < start + len(entries):
        return None
    link = tx.succession(origin)
    if link is None:
        return None
    try:
        entry = decode_entry(entries[1 - start])
    except MalformedEntry:
        return "entry 1 is not a log.succession entry"
    named = entry.body.get("predecessor")
    if entry.kind != SUCCESSION_KIND or not isinstance(named, dict) or (
            named.get("origin"), named.get("size"), named.get("root")) != (
            link[0], link[1], b64(link[2])):
        return "entry 1 does not name the lost log's acknowledged size and root"
    return None
