"""County notices at the station: the ``county_notice`` projection (migration m010).

One row per ``county.notice_received`` entry, updated by the station's answer
(``rectification.done`` / ``rectification.disputed``) and by the county's decision on a
dispute (``county.notice_decided``, kept in the row's ``body``). Rebuilt from the log like every
projection; the folding rules are the domain's (``domain.audit.rectification``).
"""

from __future__ import annotations

import json

from sqlite_utils import Database

from station_app.domain.audit.rectification import (
    ReceivedNotice,
    apply_answer,
    apply_decision,
    decision_from_payload,
    received_from_entry,
)
from station_app.domain.log import LogEntry


def apply_received(db: Database, entry: LogEntry) -> None:
    notice = received_from_entry(entry.body, entry.idx, "", entry.t_wall)
    db.execute("INSERT OR IGNORE INTO county_notice (notice, state, deadline, received_idx,"
               " received_at, body) VALUES (?, ?, ?, ?, ?, ?)",
               [notice.number, notice.state.value, entry.body["deadline"] or None, entry.idx,
                entry.t_wall, json.dumps(entry.body, ensure_ascii=False, sort_keys=True)])


def apply_answer_entry(db: Database, entry: LogEntry) -> None:
    found = get(db, str(entry.body["notice"]))
    if found is None:  # the service never answers an unknown notice; nothing to fold into
        return
    answered = apply_answer(found, entry.kind, entry.body, entry.idx, entry.t_wall)
    db.execute("UPDATE county_notice SET state = ?, answer_kind = ?, answer_idx = ?,"
               " answered_at = ?, answer = ? WHERE notice = ?",
               [answered.state.value, entry.kind, entry.idx, entry.t_wall,
                json.dumps(entry.body, ensure_ascii=False, sort_keys=True), answered.number])


def apply_decision_entry(db: Database, entry: LogEntry) -> None:
    """The county's decision on a dispute: kept in the row's body (``decision``, with the
    entry's idx) so no column is needed; an upheld notice is open again, unanswered."""
    row = db.execute("SELECT body FROM county_notice WHERE notice = ?",
                     [str(entry.body["notice"])]).fetchone()
    if row is None:  # the service never logs a decision on an unknown notice
        return
    body = {**json.loads(str(row[0])), "decision": {**entry.body, "idx": entry.idx}}
    found = _notice((0, "", json.dumps(body), None, None, None, None))
    db.execute("UPDATE county_notice SET state = ?, deadline = ?, body = ?, answer_kind = NULL,"
               " answer_idx = NULL, answered_at = NULL, answer = NULL WHERE notice = ?",
               [found.state.value, found.notice.deadline.isoformat()
                if found.notice.deadline else None,
                json.dumps(body, ensure_ascii=False, sort_keys=True), found.number])


_COLUMNS = "received_idx, received_at, body, answer_kind, answer_idx, answered_at, answer"


def get(db: Database, number: str) -> ReceivedNotice | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM county_notice WHERE notice = ?",
                     [number]).fetchone()
    return None if row is None else _notice(row)


def all_notices(db: Database) -> list[ReceivedNotice]:
    """Newest first."""
    return [_notice(r) for r in db.execute(
        f"SELECT {_COLUMNS} FROM county_notice ORDER BY received_idx DESC")]


def counts(db: Database, today: str) -> tuple[int, int]:
    """(open, overdue): 整改通知 not answered yet, and those of them past their deadline."""
    row = db.execute("SELECT COUNT(*), COALESCE(SUM(deadline < ?), 0) FROM county_notice"
                     " WHERE state = 'open'", [today]).fetchone()
    return int(row[0]), int(row[1])


def _notice(row: tuple[object, ...]) -> ReceivedNotice:
    idx, at, body, kind, answer_idx, answered_at, answer = row
    raw = json.loads(str(body))
    notice = received_from_entry(raw, int(str(idx)), "", str(at))
    if "decision" in raw:
        notice = apply_decision(notice, decision_from_payload(raw["decision"]),
                                int(raw["decision"]["idx"]))
    if kind is None:
        return notice
    return apply_answer(notice, str(kind), json.loads(str(answer)), int(str(answer_idx)),
                        str(answered_at))
