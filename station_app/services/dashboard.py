"""The home screen's numbers: what is open, late and due, and how the log stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from station_app.domain.clock import local_day
from station_app.domain.states import CaseState
from station_app.services.station import Station
from station_app.store.queries import CaseFilter, CaseRow, count_cases, search_cases

OPEN_STATES = tuple(s.value for s in CaseState if s.is_open)
DUE_SOON = timedelta(days=3)


@dataclass(frozen=True, slots=True, kw_only=True)
class Dashboard:
    today: str
    open_cases: int
    received_today: int
    overdue: int
    due_soon: int
    entries: int
    worklist: tuple[CaseRow, ...]


def dashboard(station: Station, now: datetime, *, worklist: int = 10) -> Dashboard:
    today = local_day(now).isoformat()
    ts, soon = int(now.timestamp()), int((now + DUE_SOON).timestamp())
    db = station.db
    overdue = count_cases(db, CaseFilter(overdue_at=ts))
    return Dashboard(
        today=today, open_cases=count_cases(db, CaseFilter(states=OPEN_STATES)),
        received_today=count_cases(db, CaseFilter(received_from=today, received_to=today)),
        overdue=overdue, due_soon=count_cases(db, CaseFilter(due_by=soon)) - overdue,
        entries=station.ledger.size(),
        worklist=tuple(search_cases(db, CaseFilter(states=OPEN_STATES, limit=worklist))))


def urgency(row: CaseRow, now: datetime) -> str:
    """OVERDUE, DUE_SOON or "" for a worklist row."""
    if row.deadline_ts is None:
        return ""
    if row.deadline_ts < now.timestamp():
        return "OVERDUE"
    return "DUE_SOON" if row.deadline_ts <= (now + DUE_SOON).timestamp() else ""


def case_urgency(station: Station, case_no: str, now: datetime) -> str:
    """OVERDUE, DUE_SOON or "" for one case, by the same rule as the worklist."""
    rows = search_cases(station.db, CaseFilter(states=OPEN_STATES, text=case_no, limit=5))
    row = next((r for r in rows if r.case_no == case_no), None)
    return urgency(row, now) if row else ""
