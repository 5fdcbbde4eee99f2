"""Messages relayed between stations through the county: the envelope (docs/sync.md).

Pure like ``sync.protocol`` (no network, database, clock or key: signing and checking are
passed in), because the station and the county both read it. A relayed message is a signed
document (purpose ``relay``, signed with the sender's log key)::

    {"doc": {"format": "vss-relay/1", "from": origin, "to": station code, "id": hex,
             "kind": "handover" | "case-status", "sent": time, "kem": recipient key id,
             "suite": …, "ciphertext": base64},
     "sig": {"kid": key_id(sender's log key), "alg": "ed25519", "value": …}}

The ciphertext is HPKE to the recipient's KEM key (from its county-signed certificate) with
``info = "vss-sync/v1 relay\\n" ‖ canonical(doc without the ciphertext)``: the clear-text
fields cannot be changed or re-addressed, and a ciphertext moved into another envelope (even
one its sender signed anew under its own name) no longer opens. The county checks the
signature and routes by ``to``; it cannot read the payload.

A station fetching its queue signs ``fetch_message(origin, code, after, time)`` with its log
key, so one station cannot list another's messages.

The county also sends messages of its own (``COUNTY_KINDS``: ``rectification`` …): ``from``
is then the county's name and the signature is its cosigner's (docs/sync.md, "Sent by the
county"). A station answers an unmask request with a message to the county itself
(``TO_COUNTY_KINDS``: ``unmask-answer``): ``to`` is the county's name and the payload is
sealed to the county's current KEM key, so the county — and only it — opens it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from station_app.domain.canonical import NotCanonical, canonical_json, parse_canonical
from station_app.domain.log import origin_station
from sync.protocol import (
    PROTOCOL,
    RELAY_PURPOSE,
    Check,
    ProtocolError,
    Sign,
    b64,
    key_id,
    open_doc,
    parse_json_object,
    sign_doc,
    unb64,
)

RELAY_FORMAT = "vss-relay/1"
HANDOVER = "handover"
CASE_STATUS = "case-status"
RECTIFICATION = "rectification"  # county → station: an inspection's result, 整改通知
# county → station: the county's decision on a disputed 整改通知 (upheld / withdrawn)
RECTIFICATION_DECISION = "rectification-decision"
EVALUATION = "evaluation"  # county → station: a rating made on the QR page (evaluation-qr.md)
# county → station: a county auditor asks to see a case's personal data (docs/dashboard.md)
UNMASK_REQUEST = "unmask-request"
# station → county: the station's answer to an unmask request, sealed to the county's KEM
# key; the message id is the request's id (docs/dashboard.md)
UNMASK_ANSWER = "unmask-answer"
KINDS = (HANDOVER, CASE_STATUS, RECTIFICATION, EVALUATION, UNMASK_REQUEST, UNMASK_ANSWER,
         RECTIFICATION_DECISION)
# Kinds only the county itself sends: "from" is the county's name (``county/330199``) and
# the signature is by a cosigner of its key set, never by a station's log key; a station
# cannot send them (and the county accepts no envelope from a "from" it has not enrolled).
COUNTY_KINDS = frozenset({RECTIFICATION, EVALUATION, UNMASK_REQUEST, RECTIFICATION_DECISION})
# Kinds a station sends to the county itself: "to" is the county's name, "kem" the key id of
# the county's KEM key (from its key set), and the county — not another station — opens it.
TO_COUNTY_KINDS = frozenset({UNMASK_ANSWER})
_COUNTY_NAME = re.compile(r"^county/[0-9A-Za-z]{1,20}$")
MAX_ENVELOPE_BYTES = 64 * 1024  # a handover is ~1 KiB of JSON plus 1,136 bytes of HPKE
FETCH_PAGE = 50  # messages per fetch answer
FETCH_SKEW_SECONDS = 300  # a signed fetch is good for ±5 minutes of the county's clock
_MESSAGE_ID = re.compile(r"^[0-9a-f]{32}$")
_HEADER_FIELDS = {"format", "from", "to", "id", "kind", "sent", "kem", "suite"}

# What each payload must hold (checked after decryption; extra fields are refused too, so a
# newer sender cannot slip in something an older receiver would silently drop).
PAYLOAD_FIELDS: Mapping[str, frozenset[str]] = {
    HANDOVER: frozenset({"proxy_no", "item", "item_name", "materials", "agent", "agent_phone",
                         "village_group", "villager", "registered_at", "submitted_at", "note"}),
    CASE_STATUS: frozenset({"proxy_no", "case_no", "state", "result", "at"}),
    RECTIFICATION: frozenset({"notice", "source", "subject", "day", "issued", "results",
                              "deadline", "note", "inspector"}),
    # decision: "upheld" (deadline: the new one) or "withdrawn" (deadline "")
    RECTIFICATION_DECISION: frozenset({"notice", "decision", "note", "deadline", "decided"}),
    # reasons: the chosen 差评 reasons, one a line; assess: "1" 首评, "2"… 追评
    EVALUATION: frozenset({"rating_id", "case_no", "level", "reasons", "comment", "assess",
                           "received_at"}),
    UNMASK_REQUEST: frozenset({"case_no", "auditor", "reason", "requested_at"}),
    # status: ANSWERED (the fields as the case has them), ERASED (each field "已删除"),
    # NOT_FOUND (no such case here; the fields empty)
    UNMASK_ANSWER: frozenset({"case_no", "status", "name", "cert_no", "phone", "address",
                              "answered_at"}),
}
ANSWERED, ERASED, NOT_FOUND = "answered", "erased", "not-found"
ANSWER_STATUSES = frozenset({ANSWERED, ERASED, NOT_FOUND})
ANSWER_FIELDS = ("name", "cert_no", "phone", "address")  # what an unmask answer discloses
# Payload fields that are not text (checked by their kind's own parser).
_STRUCTURED_FIELDS = frozenset({"materials", "villager", "results"})
VILLAGER_FIELDS = frozenset({"name", "cert_type", "cert_no", "phone", "address"})


@dataclass(frozen=True, slots=True, kw_only=True)
class RelayHeader:
    """The clear-text part of an envelope: enough to route it, nothing personal."""

    sender: str  # the sender's origin ("from")
    to: str  # the recipient's station code
    id: str  # random, 128 bits, hex: the message's identity for idempotence
    kind: str
    sent: str  # the sender's clock (RFC 3339); not trusted, kept for the audit
    kem: str  # key_id of the recipient KEM key the payload is sealed to
    suite: str

    @property
    def sender_station(self) -> str:
        return origin_station(self.sender)

    def to_dict(self) -> dict[str, Any]:
        return {"format": RELAY_FORMAT, "from": self.sender, "to": self.to, "id": self.id,
                "kind": self.kind, "sent": self.sent, "kem": self.kem, "suite": self.suite}

    def info(self) -> bytes:
        """HPKE ``info``: binds every clear-text field to the ciphertext."""
        return f"{PROTOCOL} relay\n".encode() + canonical_json(self.to_dict())


def seal_envelope(header: RelayHeader, ciphertext: bytes, *, sender_public: bytes,
                  sign: Sign) -> dict[str, Any]:
    return sign_doc({**header.to_dict(), "ciphertext": b64(ciphertext)}, purpose=RELAY_PURPOSE,
                    kid=key_id(sender_public), sign=sign)


def parse_envelope(signed: Any) -> tuple[RelayHeader, bytes]:
    """Header and ciphertext, by shape only: the signature is checked by ``open_envelope``."""
    if not isinstance(signed, dict) or set(signed) != {"doc", "sig"} \
            or not isinstance(signed["doc"], dict):
        raise ProtocolError("relay: not a signed document")
    doc = signed["doc"]
    if set(doc) != _HEADER_FIELDS | {"ciphertext"} or doc["format"] != RELAY_FORMAT:
        raise ProtocolError("relay: envelope fields are not the v1 set")
    header = RelayHeader(sender=_text(doc["from"]), to=_text(doc["to"]), id=_text(doc["id"]),
                         kind=_text(doc["kind"]), sent=_text(doc["sent"]),
                         kem=_text(doc["kem"]), suite=_text(doc["suite"]))
    if header.kind not in KINDS or not _MESSAGE_ID.match(header.id):
        raise ProtocolError("relay: unknown kind or malformed message id")
    from_county = header.kind in COUNTY_KINDS
    if not header.to or not (_COUNTY_NAME.match(header.sender) if from_county
                             else header.sender_station):
        raise ProtocolError("relay: sender or recipient is malformed")
    if header.kind in TO_COUNTY_KINDS and not _COUNTY_NAME.match(header.to):
        raise ProtocolError("relay: an answer to the county must be addressed to it")
    return header, unb64(doc["ciphertext"])


def open_envelope(signed: Any, sender_public: bytes, check: Check
                  ) -> tuple[RelayHeader, bytes]:
    """Header and ciphertext, if the envelope is signed by the log key ``sender_public``."""
    header, ciphertext = parse_envelope(signed)
    open_doc(signed, purpose=RELAY_PURPOSE, keys={key_id(sender_public): check})
    return header, ciphertext


def envelope_bytes(signed: Mapping[str, Any]) -> bytes:
    return canonical_json(dict(signed))


def read_envelope(data: bytes) -> Any:
    if len(data) > MAX_ENVELOPE_BYTES:
        raise ProtocolError("relay: envelope is too large")
    return parse_json_object(data, "relay envelope")


# -------------------------------------------------------------------------- payloads


def payload_bytes(kind: str, body: Mapping[str, Any]) -> bytes:
    return canonical_json({"kind": kind, **body})


def parse_payload(kind: str, data: bytes) -> dict[str, Any]:
    """A decrypted payload of ``kind``, with exactly the fields that kind carries."""
    try:
        raw = parse_canonical(data)
    except (NotCanonical, ValueError) as exc:
        raise ProtocolError(f"relay payload is not canonical JSON: {exc}") from None
    if not isinstance(raw, dict) or raw.pop("kind", None) != kind:
        raise ProtocolError("relay payload is not of the envelope's kind")
    if set(raw) != PAYLOAD_FIELDS[kind]:
        raise ProtocolError("relay payload fields are not the v1 set")
    if kind == HANDOVER and (not isinstance(raw["villager"], dict)
                             or set(raw["villager"]) != VILLAGER_FIELDS):
        raise ProtocolError("relay payload: villager details are malformed")
    text_fields = PAYLOAD_FIELDS[kind] - _STRUCTURED_FIELDS
    if not all(isinstance(raw[f], str) for f in text_fields):
        raise ProtocolError("relay payload: expected text")
    if kind == UNMASK_ANSWER and raw["status"] not in ANSWER_STATUSES:
        raise ProtocolError("relay payload: unknown answer status")
    return raw


# ----------------------------------------------------------------------------- fetch


def fetch_message(*, origin: str, station: str, after: int, time: str) -> bytes:
    """What a station signs to read its own queue (``GET /v1/relay/{code}?after=N``)."""
    return f"{PROTOCOL} relay-fetch\n{origin}\n{station}\n{after}\n{time}\n".encode()


def _text(v: Any) -> str:
    if not isinstance(v, str) or not v or len(v) > 200:
        raise ProtocolError("relay: expected short text")
    return v
