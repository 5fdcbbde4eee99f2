"""USB bundles at the county: the HTTP exchange of docs/sync.md, carried on a stick.

``import_bundle`` feeds a station's export through the very ``County`` calls the web API
makes (``add_checkpoint``, then ``add_entries`` from the county's cursor) and answers with a
reply bundle: the receipt, the key set and the county's current publications. Relayed
messages ride along (record type 5): the station's sealed envelopes go through ``relay``
exactly as ``POST /v1/relay`` sends them, and the reply carries what the county stored and
every message queued for the station after the fetch cursor it signed in its export.
``export_bundle`` writes the same reply without an upload, for a station that only needs
the county's news (its messages then follow the last one its uploaded log shows it took).
The station's half is ``sync.usb``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from station_app.crypto import signature_checker
from station_app.domain.log import MalformedEntry, decode_entry
from station_app.errors import CountyStationUnknown, SyncFileInvalid, SyncRefused
from sync.county.service import County, Reply
from sync.county.store import StationRow, Tx
from sync.protocol import (
    REC_CHECKPOINT,
    REC_KEYSET,
    REC_ORIGIN,
    REC_PACKAGE,
    REC_PUBLICATION,
    REC_RECEIPT,
    REC_RELAY,
    REC_STATION_TIME,
    ProtocolError,
    bundle_bytes,
    parse_bundle,
    parse_checkpoint_request,
    parse_json_object,
    parse_package,
    parse_receipt,
    unb64,
)
from sync.relay import envelope_bytes, fetch_message, open_envelope, parse_envelope


@dataclass(frozen=True, slots=True)
class Upload:
    """A station's export bundle, parsed and checked (nothing stored yet)."""

    origin: str
    station_time: str | None
    requests: list[bytes]  # add-checkpoint bodies, one per size the county may have committed
    packages: dict[int, bytes] = field(default_factory=dict)  # by first entry index
    envelopes: list[dict[str, Any]] = field(default_factory=list)  # relayed messages to post
    wanted: list[str] = field(default_factory=list)  # recipients whose certificate it needs
    taken: dict[str, Any] | None = None  # its signed fetch cursor: after, time, signature


def read_upload(data: bytes, name: str = "") -> Upload:
    """Parse an export bundle; every record must be well formed and name one station log."""
    invalid = _invalid(name)
    try:
        records = parse_bundle(data)
    except ProtocolError as exc:
        raise invalid(exc.reason) from None
    found = _by_type(records)
    origins = found.get(REC_ORIGIN, [])
    if found.get(REC_RECEIPT) or found.get(REC_KEYSET) or len(origins) != 1 \
            or not found.get(REC_CHECKPOINT):
        raise invalid("这不是站点导出的上传文件（县级回复文件应在站点导入）")
    origin = _text(origins[0], invalid)
    upload = Upload(origin, _station_time(found, invalid), found[REC_CHECKPOINT])
    try:
        for body in upload.requests:
            if parse_checkpoint_request(body).signed.checkpoint.origin != origin:
                raise invalid("文件中的检查点属于另一个站点")
        for body in found.get(REC_PACKAGE, []):
            header, _ = parse_package(body)
            if header.origin != origin:
                raise invalid("文件中的数据包属于另一个站点")
            upload.packages[header.start] = body
    except ProtocolError as exc:
        raise invalid(exc.reason) from None
    cursors = [c for body in found.get(REC_RELAY, [])
               if (c := _read_relay(upload, body, invalid)) is not None]
    if len(cursors) > 1:
        raise invalid("文件中的转交游标不止一份")
    return replace(upload, taken=cursors[0]) if cursors else upload


def _read_relay(upload: Upload, body: bytes, invalid: Any) -> dict[str, Any] | None:
    """One type-5 record of an export: ``{"envelope": …}``, ``{"want": code}`` or
    ``{"taken": {"after", "time", "signature"}}`` (docs/sync.md, "USB")."""
    try:
        record = parse_json_object(body, "relay record")
        (key, value), = record.items()
        if key == "envelope":
            header, _ = parse_envelope(value)
            if header.sender != upload.origin:
                raise invalid("文件中的转交消息属于另一个站点")
            upload.envelopes.append(value)
        elif key == "want" and isinstance(value, str) and 0 < len(value) <= 40:
            upload.wanted.append(value)
        elif key == "taken" and _cursor_shape(value):
            return dict(value)
        else:
            raise ValueError(key)
    except (ProtocolError, ValueError):
        raise invalid("文件中的转交记录格式不对") from None
    return None


def _cursor_shape(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"after", "time", "signature"} \
        and type(value["after"]) is int and value["after"] >= 0 \
        and isinstance(value["time"], str) and isinstance(value["signature"], str)


def import_bundle(county: County, data: bytes, *, name: str = "") -> bytes:
    """Take a station's export bundle; return the reply bundle for the station.

    Safe to repeat: a bundle already imported, or whose entries already arrived online, is
    answered with the stored receipt and stores nothing new.
    """
    upload = read_upload(data, name)
    state = county.status(upload.origin)
    if state.status != 200:
        raise CountyStationUnknown(value=upload.origin)
    after = _check_relay(county, upload, name)  # before anything is stored
    reply = _commit_checkpoint(county, upload, name)
    if reply is None:  # the county committed a later checkpoint than any in the file
        receipt: str | None = _stale(upload, state.body)
    elif reply.status == 200:
        receipt = reply.body.get("receipt")
    else:
        receipt = _feed_packages(county, upload, int(reply.body["next"]), name)
    posted = _post_envelopes(county, upload, name)
    return reply_bundle(county, upload.origin, receipt,
                        relay=_relay_reply(county, upload.origin, after, posted, upload.wanted))


def _commit_checkpoint(county: County, upload: Upload, name: str) -> Reply | None:
    """The first checkpoint request whose ``old`` is the county's committed size."""
    for body in upload.requests:
        reply = county.add_checkpoint(upload.origin, body, upload.station_time)
        if reply.status in (200, 202):
            return reply
        if reply.status != 409:
            raise _refusal(reply, name)
    return None


def _stale(upload: Upload, state: Mapping[str, Any]) -> str:
    """A file overtaken by an online sync: if the county already stores every entry in it
    and has receipted them, the answer is that newest receipt (the station has it already).
    Otherwise the file cannot be used."""
    head = parse_checkpoint_request(upload.requests[0]).signed.checkpoint.size
    receipt = state.get("receipt")
    if receipt and head <= parse_receipt(receipt).size:
        return str(receipt)
    raise SyncRefused(reason="文件中的检查点与县级已确认的记录接不上（文件可能过旧），"
                             "请在站点重新导出或联网同步")


def _feed_packages(county: County, upload: Upload, cursor: int, name: str) -> str | None:
    """Send the package that starts at the county's cursor, again and again: the same
    resume rule the station's HTTP loop follows. The receipt, or None if the bundle runs
    out before the checkpoint is complete."""
    for _ in range(len(upload.packages)):
        body = upload.packages.get(cursor) or _covering(upload.packages, cursor)
        if body is None:
            return None
        reply = county.add_entries(upload.origin, body)
        if reply.status == 200:
            return str(reply.body["receipt"])
        if reply.status not in (202, 409):
            raise _refusal(reply, name)
        if int(reply.body["next"]) == cursor:
            return None
        cursor = int(reply.body["next"])
    return None


def _covering(packages: Mapping[int, bytes], cursor: int) -> bytes | None:
    """The package that reaches furthest past ``cursor`` among those starting before it
    (the county checks the part it already stores and keeps the rest)."""
    best: tuple[int, bytes] | None = None
    for first, body in packages.items():
        if first < cursor:
            end = parse_package(body)[0].end
            if end > cursor and (best is None or end > best[0]):
                best = (end, body)
    return None if best is None else best[1]


def export_bundle(county: County, station: str) -> bytes:
    """A reply bundle for ``station`` without an upload: its newest receipt, the news, and
    the messages after the last one its uploaded log shows it took in."""
    with county.db.read() as tx:
        live = [s for s in tx.stations(station) if s.revoked_at is None]
        if not live:
            raise CountyStationUnknown(value=station)
        origin = live[-1].origin
        receipt = tx.receipt(origin, live[-1].receipt_size) if live[-1].receipt_size else None
        after = taken_in_log(tx, live[-1])
    return reply_bundle(county, origin, receipt, relay=_relay_reply(county, origin, after))


def reply_bundle(county: County, origin: str, receipt: str | None,
                 relay: list[dict[str, Any]] | None = None) -> bytes:
    records = [(REC_ORIGIN, origin.encode())]
    if receipt:
        records.append((REC_RECEIPT, receipt.encode()))
    records.append((REC_KEYSET, _json(county.keys.keyset)))
    docs = county.publications({}).body.get("publications", [])
    records += [(REC_PUBLICATION, _json(doc)) for doc in docs]
    records += [(REC_RELAY, _json(r)) for r in relay or []]
    return bundle_bytes(records)


# --------------------------------------------------------------------------- relay


def _check_relay(county: County, upload: Upload, name: str) -> int | None:
    """The envelopes' signatures and the signed cursor, checked with the station's log key
    before anything is stored (``relay`` checks the envelopes again, as online). Returns the
    cursor: the messages the reply must carry are those after it."""
    invalid = _invalid(name)
    with county.db.read() as tx:
        st = tx.station(upload.origin)
    assert st is not None  # county.status found it
    check = signature_checker(st.log_public)
    for envelope in upload.envelopes:
        try:
            open_envelope(envelope, st.log_public, check)
        except ProtocolError:
            raise invalid("文件中的转交消息签名无效") from None
    if upload.taken is None:
        return None
    taken = upload.taken
    message = fetch_message(origin=st.origin, station=st.code, after=taken["after"],
                            time=taken["time"])
    try:
        good = check(message, unb64(taken["signature"], size=64))
    except ProtocolError:
        good = False
    if not good:
        raise invalid("文件中的转交游标签名无效")
    return int(taken["after"])


def _post_envelopes(county: County, upload: Upload, name: str) -> list[dict[str, Any]]:
    """Each envelope through ``County.relay``, the ``POST /v1/relay`` call: stored once per
    (sender, id), so a message already received online or from an earlier file is just
    confirmed again."""
    answers: list[dict[str, Any]] = []
    for envelope in upload.envelopes:
        reply = county.relay(envelope_bytes(envelope))
        error = str(reply.body.get("error", ""))
        message_id = envelope["doc"]["id"]
        if reply.status == 200:
            answers.append({"stored": message_id})
        elif reply.status in (403, 409) and error in ("unknown-recipient", "recipient-key"):
            answers.append({"retry": {"id": message_id, "error": error,
                                      "to": envelope["doc"]["to"]}})
        else:
            raise _refusal(reply, name)
    return answers


def _relay_reply(county: County, origin: str, after: int | None,
                 posted: list[dict[str, Any]] | None = None, wanted: list[str] | None = None
                 ) -> list[dict[str, Any]]:
    """The reply's type-5 records: what became of the station's messages, the certificates
    it asked for (and those of recipients with a new device), then ``after`` and every
    message queued for the station after it."""
    posted = posted or []
    codes = list(wanted or []) + [p["retry"]["to"] for p in posted
                                  if p.get("retry", {}).get("error") == "recipient-key"]
    certs = [county.certificate(c) for c in dict.fromkeys(codes)]
    records = [{"stored": p["stored"]} if "stored" in p else
               {"retry": {"id": p["retry"]["id"], "error": p["retry"]["error"]}}
               for p in posted]
    records += [{"certificate": c.body["certificate"]} for c in certs if c.status == 200]
    with county.db.read() as tx:
        st = tx.station(origin)
        if after is None:
            after = taken_in_log(tx, st) if st else 0
    if st is None:
        return records
    messages = county.relay_backlog(st.code, after)
    return records + [{"after": after}] + [{"message": m} for m in messages]


def taken_in_log(tx: Tx, st: StationRow) -> int:
    """The county sequence number of the last message the station's uploaded log shows it
    took in (every relayed-message entry names it as ``seq``, with ``from`` and ``id``).
    The station takes messages in order and moves its cursor in the same transaction, so
    everything up to it has been taken in: a message after it is never dropped."""
    end = st.size
    while end > 0:
        start = max(0, end - 1024)
        for _idx, blob, _leaf in reversed(tx.entries(st.origin, start, end)):
            data = bytes(blob)  # a memoryview on PostgreSQL
            if b'"seq"' not in data:
                continue
            try:
                body = decode_entry(data).body
            except MalformedEntry:
                continue
            if type(body.get("seq")) is int and "from" in body and "id" in body:
                return int(body["seq"])
        end = start
    return 0


def reply_summary(data: bytes) -> dict[str, Any]:
    """What a reply bundle carries, for the officer's screen."""
    found = _by_type(parse_bundle(data))
    receipt = found.get(REC_RECEIPT, [b""])[0].decode()
    size = parse_receipt(receipt).size if receipt else None
    relay = [json.loads(r) for r in found.get(REC_RELAY, [])]
    return {"origin": found[REC_ORIGIN][0].decode(), "receipt_size": size,
            "publications": len(found.get(REC_PUBLICATION, [])),
            "relay_stored": sum("stored" in r for r in relay),
            "relay_messages": sum("message" in r for r in relay)}


# ----------------------------------------------------------------------------- helpers


def _refusal(reply: Reply, name: str) -> Exception:
    error = str(reply.body.get("error", ""))
    if reply.status == 400:
        return _invalid(name)(f"{_REASONS.get(error, error)}（{reply.body.get('detail', '')}）")
    return SyncRefused(reason=_REASONS.get(error, f"{reply.status} {error}"))


_REASONS = {
    "revoked": "该站点已被吊销，文件内容已隔离留存待查，未入库",
    "unknown-station": "县级服务器不认识这个站点（尚未注册）",
    "inconsistent": "检查点与县级已确认的历史不一致，已留存为证据",
    "fork": "同一位置出现了不同的记录，已留存为证据",
    "mismatch": "记录与站点签名的检查点不符，已留存为证据",
    "bad-signature": "检查点的站点签名无效",
    "malformed": "数据格式不对",
    "undecryptable": "数据包无法解密",
    "unknown-kid": "数据包所用的县级密钥已停用：请先把县级导出的回复文件导入站点，再重新导出",
}


def _invalid(name: str) -> Any:
    return lambda reason: SyncFileInvalid(path=name or "USB", reason=reason)


def _by_type(records: list[tuple[int, bytes]]) -> Mapping[int, list[bytes]]:
    found: dict[int, list[bytes]] = {}
    for kind, body in records:
        found.setdefault(kind, []).append(body)
    return found


def _station_time(found: Mapping[int, list[bytes]], invalid: Any) -> str | None:
    times = found.get(REC_STATION_TIME, [])
    return _text(times[0], invalid) if times else None


def _text(data: bytes, invalid: Any) -> str:
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise invalid("文件中的文字不是 UTF-8") from None


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True).encode()
