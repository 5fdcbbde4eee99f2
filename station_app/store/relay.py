"""Messages relayed between stations: the outbox (local state) and the inbox (a projection).

The outbox is like the sync tables: what this station still has to send, written in the
same transaction as the change that calls for it, never rebuilt. It names what to send (a
proxy number, a case number), not the content: the payload is built at send time.

The inbox is rebuilt from the log: one row per ``relay.received`` entry, updated by the
``relay.handled`` entry that turns a handed-over application into a case.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from station_app.domain.cases import ReceivedMaterial
from station_app.domain.log import LogEntry

QUEUED, SENT, FAILED = "queued", "sent", "failed"
# Inbox row states: a handover waits for 收件 and is then received; a status is applied to
# the proxy entry, or only noted when the entry can no longer move that way.
WAITING, RECEIVED, APPLIED, NOTED = "waiting", "received", "applied", "noted"


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxRow:
    id: str
    kind: str
    to_station: str
    subject: str  # the proxy number (handover) or case number (case-status)
    ref: int  # the log entry that called for the message (its state is what is reported)
    queued_at: str
    state: str
    sent_at: str | None
    attempts: int
    problem: str


_OUTBOX_COLUMNS = ", ".join(OutboxRow.__dataclass_fields__)


class Outbox:
    def __init__(self, db: Database) -> None:
        self.db = db

    def queue(self, *, id: str, kind: str, to_station: str, subject: str, ref: int,
              at: str) -> None:
        self.db.execute("INSERT INTO relay_outbox (id, kind, to_station, subject, ref,"
                        " queued_at, state) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [id, kind, to_station, subject, ref, at, QUEUED])

    def pending(self) -> list[OutboxRow]:
        return self._rows("WHERE state = ? ORDER BY queued_at, rowid", [QUEUED])

    def all(self) -> list[OutboxRow]:
        return self._rows("ORDER BY queued_at, rowid", [])

    def get(self, id: str) -> OutboxRow | None:
        rows = self._rows("WHERE id = ?", [id])
        return rows[0] if rows else None

    def mark_sent(self, id: str, at: str) -> None:
        self.db.execute("UPDATE relay_outbox SET state = ?, sent_at = ?, problem = '',"
                        " attempts = attempts + 1 WHERE id = ?", [SENT, at, id])

    def mark_failed(self, id: str, problem: str) -> None:
        """Given up: the message can never be built (e.g. the villager's data was erased)."""
        self.db.execute("UPDATE relay_outbox SET state = ?, problem = ?, attempts = attempts + 1"
                        " WHERE id = ?", [FAILED, problem, id])

    def retry_later(self, id: str, problem: str) -> None:
        self.db.execute("UPDATE relay_outbox SET problem = ?, attempts = attempts + 1"
                        " WHERE id = ?", [problem, id])

    def handed_to(self, proxy_no: str) -> set[str]:
        """The stations this station handed the proxy entry ``proxy_no`` over to."""
        return {r[0] for r in self.db.execute(
            "SELECT to_station FROM relay_outbox WHERE kind = 'handover' AND subject = ?",
            [proxy_no])}

    def _rows(self, where: str, params: list[Any]) -> list[OutboxRow]:
        return [OutboxRow(**dict(zip(OutboxRow.__dataclass_fields__, r, strict=True)))
                for r in self.db.execute(
                    f"SELECT {_OUTBOX_COLUMNS} FROM relay_outbox {where}", params)]


# ----------------------------------------------------------------------------- inbox


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundRow:
    sender: str  # the sending station's origin
    message_id: str
    kind: str
    from_station: str
    from_name: str
    sent_at: str
    proxy_no: str
    item_code: str
    item_name: str
    agent: str
    agent_phone: str
    village_group: str
    villager: str  # person id on this station (the details are sealed in the log)
    materials: tuple[ReceivedMaterial, ...]
    status: dict[str, Any]  # a case-status message: case_no, state, result, at
    state: str
    case_no: str
    idx: int


_INBOX_COLUMNS = ", ".join(InboundRow.__dataclass_fields__)


def apply_received(db: Database, entry: LogEntry) -> None:
    """Projection of ``relay.received``."""
    b = entry.body
    handover = b["kind"] == "handover"
    status = {} if handover else {k: b[k] for k in ("case_no", "state", "result", "at")}
    state = WAITING if handover else (APPLIED if b.get("applied") else NOTED)
    db.execute(
        f"INSERT INTO relay_inbox ({_INBOX_COLUMNS}, handled_idx) VALUES"
        " (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [b["from"], b["id"], b["kind"], b["from_station"], b["from_name"], b["sent"],
         b["proxy_no"], b.get("item", ""), b.get("item_name", ""), b.get("agent", ""),
         b.get("agent_phone", ""), b.get("village_group", ""), b.get("villager", ""),
         json.dumps(b.get("materials", []), ensure_ascii=False, sort_keys=True),
         json.dumps(status, ensure_ascii=False, sort_keys=True), state,
         "" if handover else b["case_no"], entry.idx, None if handover else entry.idx])


def apply_handled(db: Database, entry: LogEntry) -> None:
    """Projection of ``relay.handled``: the handover became a case here."""
    b = entry.body
    db.execute("UPDATE relay_inbox SET state = ?, case_no = ?, handled_idx = ?"
               " WHERE sender = ? AND message_id = ?",
               [RECEIVED, b["case_no"], entry.idx, b["from"], b["id"]])


def inbound(db: Database, sender: str, message_id: str) -> InboundRow | None:
    rows = _inbox(db, "WHERE sender = ? AND message_id = ?", [sender, message_id])
    return rows[0] if rows else None


def handovers_with_id(db: Database, message_id: str) -> list[InboundRow]:
    """Handovers with this id (one, unless two senders happened to pick the same id)."""
    return _inbox(db, "WHERE kind = 'handover' AND message_id = ? ORDER BY idx", [message_id])


def waiting_handovers(db: Database) -> list[InboundRow]:
    return _inbox(db, "WHERE kind = 'handover' AND state = ? ORDER BY idx", [WAITING])


def handover_of_case(db: Database, case_no: str) -> InboundRow | None:
    rows = _inbox(db, "WHERE kind = 'handover' AND case_no = ?", [case_no])
    return rows[0] if rows else None


def _inbox(db: Database, where: str, params: list[Any]) -> list[InboundRow]:
    out = []
    for r in db.execute(f"SELECT {_INBOX_COLUMNS} FROM relay_inbox {where}", params):
        row = dict(zip(InboundRow.__dataclass_fields__, r, strict=True))
        row["materials"] = tuple(ReceivedMaterial(**m) for m in json.loads(row["materials"]))
        row["status"] = json.loads(row["status"])
        out.append(InboundRow(**row))
    return out
