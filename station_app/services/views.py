"""Plain dictionaries of what a person sees: the same shapes for ``--json`` and for screens.

Personal fields are always masked here; the full values are only reachable through
``services.people.unmask``, which logs the reading.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from station_app.domain.cases import Case, case_deadlines, finished_on_time
from station_app.domain.clock import iso
from station_app.domain.deadlines import Deadline
from station_app.domain.proxy import ProxyEntry, submit_due
from station_app.domain.states import CASE_TRANSITIONS, CaseState, ProxyState
from station_app.services.station import Station
from station_app.store.queries import CaseRow, ProxyRow, masked_person


def case_row_dict(row: CaseRow) -> dict[str, Any]:
    state = CaseState(row.state)
    return {
        "case_no": row.case_no, "state": row.state, "state_label": state.label,
        "item": row.item_code, "item_name": row.item_name, "case_type": row.case_type,
        "channel": row.channel, "applicant_name": row.applicant_name, "agent": row.agent,
        "proxy_no": row.proxy_no, "received_at": row.received_at,
        "accepted_at": row.accepted_at, "closed_at": row.closed_at, "deadline": row.deadline,
        "deadline_kind": row.deadline_kind, "deadline_estimated": row.estimated,
        "promised_deadline": row.promised_deadline, "legal_deadline": row.legal_deadline,
        "on_time": row.on_time, "visits": row.visits,
    }


def case_dict(station: Station, case: Case) -> dict[str, Any]:
    cal = station.projector.calendar()
    dl = case_deadlines(case, cal)
    current = dl.current
    return {
        "case_no": case.case_no, "state": case.state.value, "state_label": case.state.label,
        "item": case.item.code, "item_name": case.item.name,
        "case_type": case.item.case_type.value, "channel": case.channel.value,
        "channel_label": case.channel.label,
        "applicant": masked_person(station.db, case.applicant),
        "applicant_id": case.applicant, "agent": case.agent, "proxy_no": case.proxy_no,
        "received_at": iso(case.received_at), "accepted_at": _iso(case.accepted_at),
        "closed_at": _iso(case.closed_at), "deadline": _due(current),
        "deadline_estimated": dl.estimated, "decision_deadline": _due(dl.decision),
        "promised_deadline": _due(dl.promised), "legal_deadline": _due(dl.legal),
        "promised_limit": case.item.promised_limit.label,
        "legal_limit": case.item.legal_limit.label,
        "clock_paused": bool(isinstance(current, Deadline) and current.paused),
        "on_time": finished_on_time(case, cal), "visits": case.visits,
        "materials": [{"name": m.name, "originals": m.originals, "copies": m.copies}
                      for m in case.materials],
        "missing": [{"name": m.name, "reason": m.reason} for m in case.missing],
        "supplements": case.supplements, "details": dict(case.details or {}),
        "allowed_moves": sorted(s.value for s in CASE_TRANSITIONS[case.state]),
    }


def proxy_row_dict(row: ProxyRow) -> dict[str, Any]:
    state = ProxyState(row.state)
    return {
        "proxy_no": row.proxy_no, "state": row.state, "state_label": state.label,
        "item": row.item_code, "item_name": row.item_name, "villager_name": row.villager_name,
        "agent": row.agent, "village_group": row.village_group,
        "registered_at": row.registered_at, "submit_due": row.submit_due,
        "submitted_at": row.submitted_at, "case_no": row.case_no, "fee": 0,
        "deadline_estimated": row.estimated,
    }


def proxy_dict(station: Station, entry: ProxyEntry) -> dict[str, Any]:
    due, estimated = submit_due(entry, station.projector.calendar())
    return {
        "proxy_no": entry.proxy_no, "state": entry.state.value,
        "state_label": entry.state.label, "item": entry.item.code,
        "item_name": entry.item.name, "villager": masked_person(station.db, entry.villager),
        "villager_id": entry.villager, "agent": entry.agent, "agent_phone": entry.agent_phone,
        "village_group": entry.village_group, "registered_at": iso(entry.registered_at),
        "submit_due": due.isoformat(), "deadline_estimated": estimated,
        "case_no": entry.case_no, "result": entry.result, "fee": entry.fee,
        "materials": [{"name": m.name, "originals": m.originals, "copies": m.copies}
                      for m in entry.materials],
        "details": dict(entry.details or {}),
        "history": [{"idx": h.idx, "at": iso(h.at), "from": h.source.value if h.source else None,
                     "to": h.target.value, "actor": h.actor, "note": h.note}
                    for h in entry.history],
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else iso(moment)


def _due(value: Deadline | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, Deadline):
        if value.due is None:
            return None
        value = value.due
    return iso(value) if isinstance(value, datetime) else value.isoformat()
