"""The station's side of the relay (docs/sync.md, "Relay between stations").

``send_outbox`` turns what ``station_app.services.outbox`` queued into sealed envelopes and
hands them to the county; ``fetch_inbox`` takes this station's messages in. Both run in
``sync.session.run_sync`` after the upload, and both are safe to repeat:

* sending: the county stores a message once per (sender, id); the outbox row is marked sent
  with a ``relay.sent`` log entry only after the county said it stored it;
* receiving: each message is taken in one transaction together with the fetch cursor, and a
  message already in the inbox projection (same sender, same id) changes nothing.

A message is refused, reported and never applied when its sender's certificate is not signed
by the pinned county key set, its signature or binding is wrong, it names another recipient
or another key of ours, its sender is revoked, or (a status report) it concerns a proxy entry
this station never handed to that sender. A refusal is a ``relay.refused`` log entry: the
cursor moves past it, so one bad message cannot block the queue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from station_app.crypto import signature_checker
from station_app.crypto.kem import SUITE_ID, KemKey, seal_to
from station_app.domain.audit.rectification import decision_from_payload, notice_from_payload
from station_app.domain.cases import ReceivedMaterial
from station_app.domain.clock import iso
from station_app.domain.evaluations import Level
from station_app.domain.log import LogEntry, decode_entry
from station_app.domain.numbering import parse_case_number, parse_proxy_number
from station_app.domain.people import PersonDetails, validate_person
from station_app.domain.proxy import move_body
from station_app.domain.relay import (
    CASE_STATUS,
    HANDOVER,
    REPORTED_STATES,
    follow_up,
    status_result,
)
from station_app.domain.states import CaseState
from station_app.errors import (
    CaseNotFound,
    CryptoFailure,
    InvalidInput,
    NotFound,
    PersonErased,
    PersonNotFound,
    ProxyEntryNotFound,
    RuleViolation,
    SyncRefused,
)
from station_app.services import qr_ratings
from station_app.services.cases import get_case
from station_app.services.notices import receive_decision, receive_notice
from station_app.services.outbox import town_centre
from station_app.services.people import log_unmask, open_person, record_person
from station_app.services.proxy import get_proxy
from station_app.services.station import Station, Transaction
from station_app.store.relay import QUEUED, Outbox, OutboxRow, inbound
from sync.downlink import revoked
from sync.protocol import (
    CERT_PURPOSE,
    RELAY_PURPOSE,
    CountyKeys,
    ProtocolError,
    b64,
    key_id,
    open_doc,
    unb64,
)
from sync.relay import (
    ANSWER_FIELDS,
    ANSWERED,
    COUNTY_KINDS,
    ERASED,
    EVALUATION,
    NOT_FOUND,
    RECTIFICATION,
    RECTIFICATION_DECISION,
    TO_COUNTY_KINDS,
    UNMASK_ANSWER,
    UNMASK_REQUEST,
    RelayHeader,
    envelope_bytes,
    open_envelope,
    parse_envelope,
    parse_payload,
    payload_bytes,
    seal_envelope,
)
from sync.relay import fetch_message as fetch_request
from sync.station import (
    Answer,
    SyncReport,
    Transport,
    kem_key,
    refresh_keys,
    require_enrollment,
)

CURSOR = "relay.after"  # sync_config: the county's sequence number of the last message taken
MAX_PAGES = 20  # fetch pages per sync (1,000 messages): the rest waits for the next sync
ACTOR = "relay"  # who made the entries a relayed message causes (see services.users)
PERSONAL_FIELDS = ["name", "cert_no", "phone", "address"]
ERASED_TEXT = "已删除"  # what an unmask answer says in each field of an erased person


class RelayTransport(Transport, Protocol):
    def certificate(self, station: str) -> Answer: ...
    def relay_send(self, body: bytes) -> Answer: ...
    def relay_fetch(self, station: str, after: int, auth: Mapping[str, str]) -> Answer: ...


@dataclass(frozen=True, slots=True)
class Recipient:
    station: str
    kem_public: bytes


class Refused(Exception):
    """A relayed message this station will not apply; ``reason`` is a stable English code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ------------------------------------------------------------------------------ sending


def send_outbox(station: Station, transport: RelayTransport, report: SyncReport) -> None:
    """Seal and hand to the county everything queued; what cannot go yet stays queued."""
    certs = Certificates(station, transport)
    recipients: dict[str, Recipient | None] = {}
    for row in Outbox(station.db).pending():
        if row.kind in TO_COUNTY_KINDS:
            continue  # answers to the county: ``send_answers``, after the inbox is read
        if row.to_station not in recipients:
            recipients[row.to_station] = _recipient(transport, certs, row.to_station)
        recipient = recipients[row.to_station]
        if recipient is None:
            _retry_later(station, row, f"县级服务器上没有站点 {row.to_station}", report)
            continue
        try:
            payload, person = _payload(station, row)
        except (PersonErased, PersonNotFound, ProxyEntryNotFound, CaseNotFound) as error:
            with station.transaction():
                Outbox(station.db).mark_failed(row.id, error.text)
            report.relay_failed += 1
            continue
        status, answer = transport.relay_send(envelope_bytes(_seal(station, row, recipient,
                                                                   payload)))
        if status == 200:
            _sent(station, row, person)
            report.relay_sent += 1
        elif status in (403, 409) and answer.get("error") in ("unknown-recipient",
                                                              "recipient-key"):
            recipients.pop(row.to_station, None)  # its key changed: ask again next time
            _retry_later(station, row, f"收件站点 {row.to_station} 暂不可用", report)
        else:
            raise SyncRefused(reason=f"转交消息被拒绝（{status} {answer.get('error', '')}）")


def _retry_later(station: Station, row: OutboxRow, problem: str, report: SyncReport) -> None:
    with station.transaction():
        Outbox(station.db).retry_later(row.id, problem)
    report.relay_pending += 1


def _sent(station: Station, row: OutboxRow, person: str) -> None:
    """The county has it: mark it sent, and log what left the station (and whose details)."""
    with station.transaction() as tx:
        Outbox(station.db).mark_sent(row.id, iso(station.clock.now()))
        body: dict[str, Any] = {"id": row.id, "kind": row.kind, "to": row.to_station,
                                "subject": row.subject}
        if person:
            body |= {"person": person, "fields": PERSONAL_FIELDS}
        tx.append("relay.sent", body)


def _recipient(transport: RelayTransport, certs: Certificates, code: str) -> Recipient | None:
    """The recipient's KEM key, from its certificate as the county's cosigner signed it."""
    status, answer = transport.certificate(code)
    if status == 404:
        return None
    if status != 200:
        raise SyncRefused(reason=f"取站点 {code} 的证书失败（{status}）")
    doc = certs.open(answer.get("certificate"))
    if doc is None or doc.get("station") != code:
        raise SyncRefused(reason=f"县级返回的站点 {code} 证书无效")
    remember_certificate(certs.station, code, answer["certificate"])  # for USB exports
    return Recipient(code, unb64(doc["kem_public"]))


class Certificates:
    """Station certificates, checked against the pinned county key set. If one is signed
    by a cosigner the set does not list, the county may have rotated its keys: the set is
    refreshed (signed by the pinned root) once per sync and the check repeated."""

    def __init__(self, station: Station, transport: RelayTransport | None) -> None:
        self.station, self.transport = station, transport
        self.keys = require_enrollment(station).keys
        self.refreshed = transport is None  # a USB file: the key set came with it, if newer

    def open(self, cert: Any) -> dict[str, Any] | None:
        doc = _open_certificate(self.keys, cert)
        if doc is None and not self.refreshed:
            self.refreshed = True
            self.keys = refresh_keys(self.station, self.transport)
            doc = _open_certificate(self.keys, cert)
        return doc


def _open_certificate(keys: CountyKeys, cert: Any) -> dict[str, Any] | None:
    checks = {kid: signature_checker(pub) for kid, pub in keys.cosigners.items()}
    try:
        doc = open_doc(cert, purpose=CERT_PURPOSE, keys=checks)
    except ProtocolError:
        return None
    return doc if doc.get("county") == keys.county else None


def _payload(station: Station, row: OutboxRow) -> tuple[dict[str, Any], str]:
    """The message body (and the person whose details it carries), built now."""
    cause = _entry(station, row.ref)
    if row.kind == HANDOVER:
        return _handover(station, row.subject, cause)
    case = get_case(station, row.subject)
    state = CaseState(cause.body["to"])
    return {"proxy_no": case.proxy_no, "case_no": case.case_no, "state": state.value,
            "result": status_result(state, cause.body["details"]),
            "at": cause.body["at"]}, ""


def _handover(station: Station, proxy_no: str, cause: LogEntry) -> tuple[dict[str, Any], str]:
    entry = get_proxy(station, proxy_no)
    who = open_person(station, entry.villager)  # logged by relay.sent
    return {"proxy_no": entry.proxy_no, "item": entry.item.code, "item_name": entry.item.name,
            "materials": [{"name": m.name, "originals": m.originals, "copies": m.copies}
                          for m in entry.materials],
            "agent": entry.agent, "agent_phone": entry.agent_phone,
            "village_group": entry.village_group,
            "villager": {"name": who.name, "cert_type": who.cert_type.value,
                         "cert_no": who.cert_no, "phone": who.phone, "address": who.address},
            "registered_at": iso(entry.registered_at), "submitted_at": cause.body["at"],
            "note": cause.body.get("note", "")}, entry.villager


def _entry(station: Station, idx: int) -> LogEntry:
    data = station.ledger.entry(idx)
    assert data is not None, f"outbox names log entry {idx}, which is not there"
    return decode_entry(data)


def _seal(station: Station, row: OutboxRow, to: Recipient, payload: Mapping[str, Any]
          ) -> dict[str, Any]:
    header = RelayHeader(sender=station.info.origin, to=to.station, id=row.id, kind=row.kind,
                         sent=iso(station.clock.now()), kem=key_id(to.kem_public),
                         suite=SUITE_ID)
    ciphertext = seal_to(to.kem_public, payload_bytes(row.kind, payload), header.info())
    return seal_envelope(header, ciphertext, sender_public=station.signer.public_key,
                         sign=station.signer.sign)


# ---------------------------------------------------------------------------- receiving


def fetch_inbox(station: Station, transport: RelayTransport, report: SyncReport) -> None:
    """Take in this station's messages after the cursor, one transaction each."""
    certs = Certificates(station, transport)
    kem = kem_key(station)
    for _ in range(MAX_PAGES):
        answer = _fetch_page(station, transport, _cursor(station))
        messages = answer.get("messages")
        if not isinstance(messages, list):
            raise SyncRefused(reason="县级转来的消息格式不对")
        for message in messages:
            _take(station, certs, kem, message, report)
        if not answer.get("more") or not messages:
            break
    send_answers(station, transport, report, certs.keys)


def _cursor(station: Station) -> int:
    return int(station.sync_state.get(CURSOR) or 0)


def _fetch_page(station: Station, transport: RelayTransport, after: int) -> Mapping[str, Any]:
    """One signed fetch. A station clock the county finds too far off is corrected once from
    the county's answer (village PCs' clocks drift; time is never trusted, only bounded)."""
    offset = timedelta(0)
    for attempt in range(2):
        stamp = iso(station.clock.now() + offset)
        message = fetch_request(origin=station.info.origin, station=station.info.code,
                                after=after, time=stamp)
        auth = {"x-station-origin": station.info.origin, "x-station-time": stamp,
                "x-relay-signature": b64(station.signer.sign(message))}
        status, answer = transport.relay_fetch(station.info.code, after, auth)
        if status == 401 and answer.get("error") == "stale" and attempt == 0:
            offset = _county_offset(station, answer.get("county_time"))
            continue
        if status != 200:
            raise SyncRefused(reason=f"取转来的消息失败（{status} {answer.get('error', '')}）")
        return answer
    raise SyncRefused(reason="本机时钟与县级相差太大，无法取转来的消息")


def _county_offset(station: Station, county_time: Any) -> timedelta:
    try:
        return datetime.fromisoformat(str(county_time)) - station.clock.now()
    except ValueError:
        raise SyncRefused(reason="县级时间格式不对") from None


def _take(station: Station, certs: Certificates, kem: KemKey, message: Any,
          report: SyncReport) -> None:
    seq = message.get("seq") if isinstance(message, dict) else None
    if not isinstance(seq, int) or seq <= _cursor(station):
        raise SyncRefused(reason="县级转来的消息序号不对")
    try:
        opened = _open(station, certs, kem, message)
    except Refused as refusal:
        _refuse(station, seq, message, refusal.reason)
        report.relay_refused.append(f"#{seq} {refusal.reason}")
        return
    header, cert, payload = opened
    try:
        with station.transaction() as tx:
            if inbound(station.db, header.sender, header.id) is not None:
                report.relay_duplicates += 1  # a replay: already taken in
            else:
                _APPLY[header.kind](tx, header, cert, payload, seq)
                report.relay_received += 1
            station.sync_state.put(CURSOR, str(seq))
    except (InvalidInput, RuleViolation, NotFound):  # checked already; never block the queue
        _refuse(station, seq, message, "unusable")
        report.relay_refused.append(f"#{seq} unusable")


def _refuse(station: Station, seq: int, message: Mapping[str, Any], reason: str) -> None:
    doc = message.get("envelope", {}).get("doc", {}) if isinstance(
        message.get("envelope"), dict) else {}
    with station.transaction() as tx:
        tx.append("relay.refused", {"seq": seq, "reason": reason,
                                    "from": _short(doc.get("from")), "id": _short(doc.get("id")),
                                    "kind": _short(doc.get("kind"))}, actor=ACTOR)
        station.sync_state.put(CURSOR, str(seq))


def _short(value: Any) -> str:
    return value[:100] if isinstance(value, str) else ""


Opened = tuple[RelayHeader, dict[str, Any], dict[str, Any]]


def _open(station: Station, certs: Certificates, kem: KemKey, message: Mapping[str, Any]
          ) -> Opened:
    """Check a delivered message all the way to its payload; raises ``Refused``."""
    if "refused" in message:  # the county has revoked the sender since it sent this
        raise Refused("revoked")
    if _county_kind(message):
        return _open_from_county(station, certs, kem, message)
    cert = certs.open(message.get("certificate"))
    try:
        header, ciphertext = parse_envelope(message.get("envelope"))
    except ProtocolError:
        raise Refused("malformed") from None
    if cert is None or cert.get("origin") != header.sender:
        raise Refused("bad-certificate")
    sender_public = _public(cert.get("log_public"), "bad-certificate")
    try:
        open_envelope(message["envelope"], sender_public, signature_checker(sender_public))
    except ProtocolError:
        raise Refused("bad-signature") from None
    return header, cert, _decrypted(station, header, kem, ciphertext)


def _decrypted(station: Station, header: RelayHeader, kem: KemKey, ciphertext: bytes
               ) -> dict[str, Any]:
    """The payload of a message addressed to this station, opened and checked."""
    _check_route(station, header, kem)
    try:
        payload = parse_payload(header.kind, kem.open(ciphertext, header.info()))
    except CryptoFailure:
        raise Refused("undecryptable") from None
    except ProtocolError:
        raise Refused("malformed") from None
    _check_payload(station, header, payload)
    return payload


def _county_kind(message: Mapping[str, Any]) -> bool:
    envelope = message.get("envelope")
    doc = envelope.get("doc") if isinstance(envelope, dict) else None
    return isinstance(doc, dict) and doc.get("kind") in COUNTY_KINDS


def _open_from_county(station: Station, certs: Certificates, kem: KemKey,
                      message: Mapping[str, Any]) -> Opened:
    """A message the county itself sent: from the pinned county's name, signed by a cosigner
    of its key set (refreshed once if the county rotated), sealed to this station."""
    try:
        header, ciphertext = parse_envelope(message.get("envelope"))
    except ProtocolError:
        raise Refused("malformed") from None
    if header.sender != certs.keys.county:
        raise Refused("bad-sender")
    if not _county_signed(certs.keys, message["envelope"]):
        if certs.refreshed:
            raise Refused("bad-signature")
        certs.refreshed = True
        certs.keys = refresh_keys(station, certs.transport)
        if not _county_signed(certs.keys, message["envelope"]):
            raise Refused("bad-signature")
    return (header, {"origin": header.sender, "name": header.sender},
            _decrypted(station, header, kem, ciphertext))


def _county_signed(keys: CountyKeys, envelope: Any) -> bool:
    checks = {kid: signature_checker(pub) for kid, pub in keys.cosigners.items()}
    try:
        open_doc(envelope, purpose=RELAY_PURPOSE, keys=checks)
    except ProtocolError:
        return False
    return True


def _public(value: Any, reason: str) -> bytes:
    try:
        return unb64(value, size=32)
    except ProtocolError:
        raise Refused(reason) from None


def _check_route(station: Station, header: RelayHeader, kem: KemKey) -> None:
    if header.to != station.info.code:
        raise Refused("wrong-recipient")
    if header.kem != key_id(kem.public_key):
        raise Refused("other-key")  # sealed to another device of this station
    if revoked(station, header.sender) is not None:  # the county's published list
        raise Refused("revoked")


# ----------------------------------------------------------------------------- applying


def _apply_handover(tx: Transaction, header: RelayHeader, cert: Mapping[str, Any],
                    payload: Mapping[str, Any], seq: int) -> None:
    """The town's side: the villager's details sealed like any applicant's, then the
    handover waits for 收件 (``services.relay``)."""
    villager, materials = _villager(payload["villager"]), _materials(payload["materials"])
    person = record_person(tx, villager)
    tx.append("relay.received", {
        **_source(header, cert, seq), "proxy_no": payload["proxy_no"], "item": payload["item"],
        "item_name": payload["item_name"], "materials": materials,
        "agent": payload["agent"], "agent_phone": payload["agent_phone"],
        "village_group": payload["village_group"], "villager": person,
        "registered_at": payload["registered_at"], "submitted_at": payload["submitted_at"],
        "note": payload["note"]}, actor=ACTOR)


def _apply_status(tx: Transaction, header: RelayHeader, cert: Mapping[str, Any],
                  payload: Mapping[str, Any], seq: int) -> None:
    """The village's side: note the case's news and move the proxy entry if it can move."""
    st = tx.station
    entry = get_proxy(st, payload["proxy_no"])
    state = CaseState(payload["state"])
    step = follow_up(entry, state=state, case_no=payload["case_no"], result=payload["result"],
                     town=str(cert.get("name", "")))
    tx.append("relay.received", {
        **_source(header, cert, seq), "proxy_no": entry.proxy_no,
        "case_no": payload["case_no"], "state": state.value, "result": payload["result"],
        "at": payload["at"], "applied": step is not None}, actor=ACTOR)
    if step is not None:
        at = max(st.clock.now(), entry.history[-1].at)
        tx.append("proxy.moved", move_body(entry, to=step.target, at=at, note=step.note,
                                           details={**step.details, "relay_id": header.id}),
                  actor=ACTOR)


def _apply_unmask(tx: Transaction, header: RelayHeader, cert: Mapping[str, Any],
                  payload: Mapping[str, Any], seq: int) -> None:
    """A county auditor asked to see a case's personal data: the station's log records who
    asked and why, and the answer is queued under the request's id. The station answers
    on its own (the county supervises it; docs/dashboard.md says why): ``send_answers``
    builds it at send time, so no clear value is ever stored on the station."""
    outbox = Outbox(tx.db)
    if outbox.get(header.id) is not None:
        return  # the same request again: recorded and answered already
    entry = tx.append("county.unmask_requested", {
        **_source(header, cert, seq), "case_no": payload["case_no"],
        "auditor": payload["auditor"], "reason": payload["reason"],
        "requested_at": payload["requested_at"]}, actor=ACTOR)
    outbox.queue(id=header.id, kind=UNMASK_ANSWER, to_station=header.sender,
                 subject=payload["case_no"], ref=entry.idx, at=iso(tx.station.clock.now()))


# ------------------------------------------------------------------- unmask answers


def send_answers(station: Station, transport: RelayTransport, report: SyncReport,
                 keys: CountyKeys | None = None) -> None:
    """Answer the county's unmask requests: each answer sealed to the county's current KEM
    key and sent as an ``unmask-answer`` message; once the county stored it, the station
    logs ``county.unmask_answered`` (which fields, never the values) and, when personal
    data left, a ``person.unmasked`` entry in its own unmask log."""
    rows = [r for r in Outbox(station.db).pending() if r.kind == UNMASK_ANSWER]
    if not rows:
        return
    keys = keys or require_enrollment(station).keys
    for row in rows:
        if row.to_station != keys.county:  # asked by a county this station left since
            with station.transaction():
                Outbox(station.db).mark_failed(row.id, f"申请来自 {row.to_station}，不是本站的县级")
            report.relay_failed += 1
            continue
        payload, person = _unmask_answer(station, row.subject)
        status, answer = _send_answer(station, transport, keys, row, payload)
        if status == 409 and answer.get("error") == "county-key":  # the county rotated
            keys = refresh_keys(station, transport)
            status, answer = _send_answer(station, transport, keys, row, payload)
        if status == 200:
            _answered(station, row, payload, person)
            report.relay_sent += 1
        elif status == 404 and answer.get("error") == "unknown-request":
            with station.transaction():
                Outbox(station.db).mark_failed(row.id, "县级没有这条查看申请")
            report.relay_failed += 1
        else:
            raise SyncRefused(reason=f"查看申请的答复被拒绝（{status} {answer.get('error', '')}）")


def _unmask_answer(station: Station, case_no: str) -> tuple[dict[str, Any], str]:
    """Exactly the case's applicant fields (and the person they belong to), built now."""
    base = {"case_no": case_no, "answered_at": iso(station.clock.now())}
    try:
        case = get_case(station, case_no)
        who = open_person(station, case.applicant)  # logged by _answered
    except (CaseNotFound, PersonNotFound):
        return {**base, "status": NOT_FOUND, **dict.fromkeys(ANSWER_FIELDS, "")}, ""
    except PersonErased:
        return {**base, "status": ERASED, **dict.fromkeys(ANSWER_FIELDS, ERASED_TEXT)}, ""
    return {**base, "status": ANSWERED, "name": who.name, "cert_no": who.cert_no,
            "phone": who.phone or "", "address": who.address or ""}, case.applicant


def _send_answer(station: Station, transport: RelayTransport, keys: CountyKeys,
                 row: OutboxRow, payload: Mapping[str, Any]) -> Answer:
    return transport.relay_send(envelope_bytes(_answer_envelope(station, keys, row, payload)))


def _answer_envelope(station: Station, keys: CountyKeys, row: OutboxRow,
                     payload: Mapping[str, Any]) -> dict[str, Any]:
    """An unmask answer sealed to the county's current KEM key (online or in a USB file)."""
    kid, county_public = keys.current_kem
    header = RelayHeader(sender=station.info.origin, to=keys.county, id=row.id,
                         kind=UNMASK_ANSWER, sent=iso(station.clock.now()), kem=kid,
                         suite=SUITE_ID)
    sealed = seal_to(county_public, payload_bytes(UNMASK_ANSWER, payload), header.info())
    return seal_envelope(header, sealed, sender_public=station.signer.public_key,
                         sign=station.signer.sign)


def _answered(station: Station, row: OutboxRow, payload: Mapping[str, Any],
              person: str) -> None:
    """The county has the answer: the log says what was disclosed, to whom — not the values."""
    asked = _entry(station, row.ref).body
    disclosed = list(ANSWER_FIELDS) if payload["status"] == ANSWERED else []
    with station.transaction() as tx:
        Outbox(station.db).mark_sent(row.id, iso(station.clock.now()))
        tx.append("county.unmask_answered", {
            "id": row.id, "to": row.to_station, "case_no": row.subject,
            "status": payload["status"], "fields": disclosed, "person": person,
            "auditor": asked["auditor"], "request_idx": row.ref}, actor=ACTOR)
        if person:
            log_unmask(tx, person, reason=f"县级审核人员 {asked['auditor']} 申请查看办件 "
                       f"{row.subject}：{asked['reason']}", actor=ACTOR)


def _apply_notice(tx: Transaction, header: RelayHeader, cert: Mapping[str, Any],
                  payload: Mapping[str, Any], seq: int) -> None:
    """A county notice (an inspection's result, a 整改通知): logged as received, which the
    county sees at the next sync as its proof of delivery."""
    receive_notice(tx, payload, {"from": header.sender, "id": header.id, "sent": header.sent,
                                 "seq": seq}, actor=ACTOR)


def _apply_decision(tx: Transaction, header: RelayHeader, cert: Mapping[str, Any],
                    payload: Mapping[str, Any], seq: int) -> None:
    """The county's decision on a disputed 整改通知, logged as ``county.notice_decided``."""
    receive_decision(tx, payload, {"from": header.sender, "id": header.id,
                                   "sent": header.sent, "seq": seq}, actor=ACTOR)


def _apply_rating(tx: Transaction, header: RelayHeader, cert: Mapping[str, Any],
                  payload: Mapping[str, Any], seq: int) -> None:
    """A rating from the county's QR page (docs/evaluation-qr.md): recorded with channel
    二维码, or noted as refused with the reason (a second 首评 …); never blocks the queue."""
    if not qr_ratings.taken(tx.station, header.sender, header.id):
        qr_ratings.take_rating(tx, sender=header.sender, message_id=header.id, seq=seq,
                               payload=payload, actor=ACTOR)


def _source(header: RelayHeader, cert: Mapping[str, Any], seq: int) -> dict[str, Any]:
    return {"from": header.sender, "from_station": header.sender_station,
            "from_name": str(cert.get("name", "")), "id": header.id, "kind": header.kind,
            "sent": header.sent, "seq": seq}


_APPLY: dict[str, Callable[[Transaction, RelayHeader, Mapping[str, Any], Mapping[str, Any],
                            int], None]] = {HANDOVER: _apply_handover, CASE_STATUS: _apply_status,
                                            UNMASK_REQUEST: _apply_unmask,
                                            RECTIFICATION: _apply_notice,
                                            RECTIFICATION_DECISION: _apply_decision,
                                            EVALUATION: _apply_rating}


def _villager(raw: Mapping[str, Any]) -> PersonDetails:
    return validate_person(name=raw["name"], cert_no=raw["cert_no"],
                           cert_type=raw["cert_type"], phone=raw["phone"],
                           address=raw["address"])


def _materials(raw: Any) -> list[dict[str, Any]]:
    items = [ReceivedMaterial(name=str(m["name"]), originals=int(m["originals"]),
                              copies=int(m["copies"])) for m in raw]
    return [{"name": m.name, "originals": m.originals, "copies": m.copies} for m in items]


def _check_payload(station: Station, header: RelayHeader, payload: Mapping[str, Any]) -> None:
    """What the payload says must make sense here: checked before anything is written."""
    if header.kind == RECTIFICATION:
        try:
            notice_from_payload(payload, station.info.code)
        except InvalidInput:
            raise Refused("malformed") from None
        return
    if header.kind == RECTIFICATION_DECISION:
        try:
            decision_from_payload(payload)
        except InvalidInput:
            raise Refused("malformed") from None
        return
    if header.kind == EVALUATION:
        return _check_rating(payload)
    if header.kind == UNMASK_REQUEST:  # a case not here is recorded and answered NOT_FOUND
        if parse_case_number(payload["case_no"]) is None:
            raise Refused("malformed")
        return
    if header.kind == HANDOVER:
        try:
            _villager(payload["villager"])
            _materials(payload["materials"])
        except (InvalidInput, KeyError, TypeError, ValueError):
            raise Refused("malformed") from None
        return
    _check_status(station, header, payload)


def _check_status(station: Station, header: RelayHeader, payload: Mapping[str, Any]) -> None:
    if payload["state"] not in {s.value for s in REPORTED_STATES}:
        raise Refused("malformed")
    parsed = parse_proxy_number(payload["proxy_no"])
    if parsed is None or parsed.station != station.info.code or \
            header.sender_station not in Outbox(station.db).handed_to(payload["proxy_no"]):
        raise Refused("not-ours")  # only the station it was handed to reports on it
    try:
        get_proxy(station, payload["proxy_no"])
    except ProxyEntryNotFound:
        raise Refused("not-ours") from None


def _check_rating(payload: Mapping[str, Any]) -> None:
    """A relayed rating's fields have the shapes the page produces (the domain's own rules,
    such as 一事一评, are applied when it is taken in, and a refusal is recorded)."""
    try:
        Level(payload["level"])
        datetime.fromisoformat(payload["received_at"])
    except ValueError:
        raise Refused("malformed") from None
    if not (payload["assess"].isdigit() and 0 < int(payload["assess"]) < 100
            and parse_case_number(payload["case_no"]) is not None
            and len(payload["comment"]) <= 1000 and len(payload["reasons"]) <= 1000):
        raise Refused("malformed")


# ---------------------------------------------------------------------------- USB files
# The same envelopes and the same taking-in, carried in USB bundles (``sync.usb``; docs/
# sync.md, "USB"). What the county answers online, its reply file says: which of this
# station's messages it stores, and the messages queued for this station.

CERTIFICATE = "relay.certificate."  # sync_config + a station code: its county-signed cert


@dataclass(frozen=True, slots=True)
class Outgoing:
    """The outbox, sealed for a USB export."""

    envelopes: list[dict[str, Any]]  # exactly what ``send_outbox`` would post
    wanted: list[str]  # recipients whose certificate this station does not keep (yet)
    failed: int  # given up now: can never be built (as online)


def remember_certificate(station: Station, code: str, cert: Any) -> None:
    """Keep a recipient's certificate (as the county's cosigner signed it) so a station
    without a link can still seal to it; checked again each time it is used."""
    with station.transaction():
        station.sync_state.put_json(CERTIFICATE + code, cert)


def keep_certificates(station: Station, certs: list[Any]) -> int:
    """Keep the recipients' certificates a USB reply brought, those the pinned key set
    vouches for; how many."""
    checker, kept = Certificates(station, None), 0
    for cert in certs:
        doc = checker.open(cert)
        code = doc.get("station") if doc else None
        if isinstance(code, str) and code != station.info.code:
            remember_certificate(station, code, cert)
            kept += 1
    return kept


def seal_outbox(station: Station) -> Outgoing:
    """Every queued message whose recipient's certificate this station keeps, sealed and
    signed as online. Nothing is marked sent: that waits for the county's reply."""
    certs = Certificates(station, None)
    envelopes: list[dict[str, Any]] = []
    wanted, failed = set(_town(station)), 0
    keys = require_enrollment(station).keys
    for row in Outbox(station.db).pending():
        if row.kind in TO_COUNTY_KINDS:
            if row.to_station == keys.county:  # else left for send_answers to fail it
                payload, _person = _unmask_answer(station, row.subject)
                envelopes.append(_answer_envelope(station, keys, row, payload))
            continue
        recipient = _kept_recipient(certs, row.to_station)
        if recipient is None:
            wanted.add(row.to_station)
            continue
        try:
            payload, _person = _payload(station, row)
        except (PersonErased, PersonNotFound, ProxyEntryNotFound, CaseNotFound) as error:
            with station.transaction():
                Outbox(station.db).mark_failed(row.id, error.text)
            failed += 1
            continue
        envelopes.append(_seal(station, row, recipient, payload))
    return Outgoing(envelopes, sorted(wanted), failed)


def _town(station: Station) -> list[str]:
    """The town centre's certificate is asked for before the first handover needs it, so
    a village's first handover can leave on its next USB export."""
    code = town_centre(station)
    kept = station.sync_state.get_json(CERTIFICATE + code) if code else None
    return [code] if code and kept is None else []


def _kept_recipient(certs: Certificates, code: str) -> Recipient | None:
    doc = certs.open(certs.station.sync_state.get_json(CERTIFICATE + code))
    if doc is None or doc.get("station") != code:
        return None
    return Recipient(code, unb64(doc["kem_public"]))


def taken_up_to(station: Station) -> int:
    """The county sequence number of the last message taken in (the fetch cursor)."""
    return _cursor(station)


def signed_cursor(station: Station, at: str) -> dict[str, Any]:
    """The fetch cursor, signed as an online fetch signs it: the county's reply carries the
    messages after it, and nothing before it is ever dropped."""
    after = _cursor(station)
    message = fetch_request(origin=station.info.origin, station=station.info.code,
                            after=after, time=at)
    return {"after": after, "time": at, "signature": b64(station.signer.sign(message))}


def confirm_posted(station: Station, stored: list[str], retry: Mapping[str, str],
                   report: SyncReport) -> None:
    """The county's word on the exported messages, applied as its HTTP answers are: a stored
    message is marked sent (``relay.sent``) once; one it could not route stays queued."""
    outbox = Outbox(station.db)
    for message_id in stored:
        row = outbox.get(message_id)
        if row is not None and row.state == QUEUED:
            if row.kind == UNMASK_ANSWER:  # logged as disclosed, as online (send_answers)
                _answered(station, row, *_unmask_answer(station, row.subject))
            else:
                _sent(station, row, _person(station, row))
            report.relay_sent += 1
    for message_id, error in retry.items():
        row = outbox.get(message_id)
        if row is not None and row.state == QUEUED:
            if error == "recipient-key":  # a new device there: its new certificate is due
                remember_certificate(station, row.to_station, None)
            _retry_later(station, row, f"收件站点 {row.to_station} 暂不可用", report)


def _person(station: Station, row: OutboxRow) -> str:
    try:
        return _payload(station, row)[1]
    except (PersonErased, PersonNotFound, ProxyEntryNotFound, CaseNotFound):
        return ""


def take_delivered(station: Station, messages: list[Any], report: SyncReport) -> None:
    """Messages from the county's reply file, taken in one by one exactly as ``fetch_inbox``
    takes them; those at or before the cursor were taken already (online, or from an
    earlier file) and change nothing."""
    certs = Certificates(station, None)
    kem = kem_key(station)
    for message in messages:
        seq = message.get("seq") if isinstance(message, dict) else None
        if isinstance(seq, int) and seq <= _cursor(station):
            report.relay_duplicates += 1
            continue
        _take(station, certs, kem, message, report)
