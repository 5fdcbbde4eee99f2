"""县级通知 at the station: inspection and spot-check results and 整改通知 from the county
(issue 7 item 3), and the station admin's answers.

A notice arrives through the relay (``sync.relay_station``) and is logged as
``county.notice_received`` — the county sees the entry at the next sync, which is how it
proves delivery. The admin answers a 整改通知 once: ``rectification.done`` with what was
done and optional photo evidence (written as ``evidence.photo`` entries in the same
transaction, exactly like the 七有 self-check's), or ``rectification.disputed`` with the
reason. The county's decision on a dispute arrives through the relay too and is logged as
``county.notice_decided``: withdrawn closes the notice, upheld opens it again with a new
deadline. Photos are checked and re-encoded before the write lock is taken; anything refused
raises before the first append, so nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from station_app.domain import seven
from station_app.domain.audit.rectification import (
    DECIDED,
    DISPUTED,
    DONE,
    RECEIVED,
    NoticeState,
    ReceivedNotice,
    answer_body,
    decision_from_payload,
    notice_from_payload,
    received_body,
)
from station_app.domain.clock import local_day
from station_app.errors import NotFound
from station_app.services.seven import check_photo, get_photo_row
from station_app.services.station import Station, Transaction
from station_app.services.users import user_names
from station_app.store import notices as store


def receive_notice(tx: Transaction, payload: Mapping[str, Any], source: Mapping[str, Any],
                   *, actor: str) -> bool:
    """Log a notice the county sent; False (nothing written) if it is here already."""
    notice = notice_from_payload(payload, tx.station.info.code)
    if store.get(tx.station.db, notice.notice) is not None:
        return False
    tx.append(RECEIVED, received_body(notice, source), actor=actor)
    return True


def receive_decision(tx: Transaction, payload: Mapping[str, Any], source: Mapping[str, Any],
                     *, actor: str) -> bool:
    """Log the county's decision on a dispute; False (nothing written) if the notice is not
    here or this decision is logged already."""
    decision = decision_from_payload(payload)
    found = store.get(tx.station.db, decision.notice)
    if found is None or (found.decision is not None
                         and found.decision.decided == decision.decided):
        return False
    tx.append(DECIDED, {**decision.payload(), **source}, actor=actor)
    return True


def list_notices(station: Station, *, open_only: bool = False) -> list[ReceivedNotice]:
    found = store.all_notices(station.db)
    return [n for n in found if n.state is NoticeState.OPEN] if open_only else found


def get_notice(station: Station, number: str) -> ReceivedNotice:
    key = (number or "").strip().upper()
    found = store.get(station.db, key) if key else None
    if found is None:
        raise NotFound(field="notice", value=f"县级通知 {number}")
    return found


def notice_counts(station: Station) -> tuple[int, int]:
    """(open, overdue) 整改通知, for 首页."""
    return store.counts(station.db, local_day(station.clock.now()).isoformat())


def mark_done(station: Station, number: str, *, note: str,
              photos: Sequence[Path] = ()) -> ReceivedNotice:
    """整改完成: what was done, with optional photo evidence (JPEG/PNG files)."""
    prepared = [check_photo(Path(p)) for p in photos]
    with station.transaction() as tx:
        found = get_notice(station, number)
        body = answer_body(found, kind=DONE, note=note, by=_who(station),
                           photos=[p.sha256 for p in prepared])
        for photo in {p.sha256: p for p in prepared}.values():
            if get_photo_row(station, photo.sha256) is None:
                tx.append(seven.PHOTO, photo.to_body())
        tx.append(DONE, body)
    return get_notice(station, found.number)


def dispute(station: Station, number: str, *, reason: str) -> ReceivedNotice:
    """有异议: the station contests the finding; the county reviews it."""
    with station.transaction() as tx:
        found = get_notice(station, number)
        tx.append(DISPUTED, answer_body(found, kind=DISPUTED, note=reason, by=_who(station)))
    return get_notice(station, found.number)


def _who(station: Station) -> str:
    return user_names(station).get(station.actor, station.actor)


def notice_dict(station: Station, n: ReceivedNotice) -> dict[str, Any]:
    """Plain data for ``--json`` and the screen."""
    today = local_day(station.clock.now())
    notice = n.notice
    return {"notice": n.number, "source": notice.source.value,
            "source_label": notice.source.label, "subject": notice.subject,
            "day": notice.day.isoformat(), "issued": notice.issued,
            "inspector": notice.inspector, "note": notice.note,
            "deadline": notice.deadline.isoformat() if notice.deadline else None,
            "state": n.state.value, "state_label": n.state.label, "overdue": n.overdue(today),
            "results": [r.to_body() for r in notice.results],
            "failed": [r.label for r in notice.failed],
            "received_idx": n.received_idx, "received_at": n.received_at,
            "answered_at": n.answered_at, "answered_by": n.answered_by,
            "answer_note": n.answer_note, "photos": list(n.photos),
            "decision": None if n.decision is None else n.decision.to_dict()}
