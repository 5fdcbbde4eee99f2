"""Cases (办件): receive, move through the work, record visits, look up and search."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from station_app.domain.cases import (
    Case,
    Channel,
    ReceivedMaterial,
    created_body,
    fold_case,
    move_body,
    visit_body,
)
from station_app.domain.clock import local_day
from station_app.domain.log import decode_entry
from station_app.domain.masking import mask_licence
from station_app.domain.numbering import case_number, parse_proxy_number
from station_app.domain.people import PersonDetails
from station_app.domain.proxy import move_body as proxy_move_body
from station_app.domain.states import CaseState, ProxyState
from station_app.errors import CaseNotFound, InvalidInput, MissingField, PersonNotFound
from station_app.services.inputs import check_materials, service_time
from station_app.services.outbox import queue_case_status
from station_app.services.people import record_person, seal_about
from station_app.services.proxy import get_proxy
from station_app.services.reentry import allocate, check_reentry, reentry_note
from station_app.services.station import Station, Transaction
from station_app.store.queries import (
    CaseFilter,
    CaseRow,
    count_cases,
    load_events,
    person_cert_type,
    search_cases,
)

__all__ = ["CaseFilter", "CaseRow", "CaseRequest", "add_case", "case_timeline", "get_case",
           "list_cases", "move_case", "receive_handover", "receive_in", "record_visit",
           "total_cases"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseRequest:
    item: str
    applicant: PersonDetails | None = None
    applicant_id: str = ""  # a person already on record (e.g. the villager of a proxy entry)
    channel: Channel = Channel.WINDOW
    agent: str = ""
    proxy_no: str = ""
    materials: Sequence[ReceivedMaterial] = field(default_factory=tuple)
    at: datetime | None = None  # when it really happened, if recorded later (补录)
    draft: bool = False
    visits: int | None = None
    note: str = ""
    # 补录 of a lost PC's paper with its printed 办件编号 (a range a recovery reserved)
    number: str = ""
    reason: str = ""


def add_case(station: Station, req: CaseRequest) -> Case:
    """Receive a case (收件): allocate its number and record applicant and materials."""
    with station.transaction() as tx:
        case_no = _receive(station, tx, req)
    return get_case(station, case_no)


def receive_in(tx: Transaction, req: CaseRequest) -> str:
    """收件 inside the caller's transaction (for a caller that records more beside it, such
    as a handover relayed from another station); returns the new case number."""
    return _receive(tx.station, tx, req)


def _receive(station: Station, tx: Transaction, req: CaseRequest) -> str:
    item = station.projector.catalog().resolve(req.item)
    now = station.clock.now()
    at = service_time(req.at, now)
    check_materials(req.materials)
    proxy_no = _check_proxy_no(req.proxy_no)
    if req.number:
        case_no, _ = check_reentry(station, "case", req.number, req.at, req.reason)
    else:
        day = local_day(now)
        case_no = case_number(station.info.code, day,
                              allocate(station, "case", f"{day:%Y%m%d}"))
    person = _applicant(station, tx, req)
    body = created_body(
        case_no=case_no, item=item, applicant=person, channel=req.channel, at=at,
        materials=req.materials, agent=req.agent.strip(), proxy_no=proxy_no,
        draft=req.draft, visits=req.visits, note=req.note.strip())
    if req.number:
        body["reentry"] = reentry_note(req.reason)
    tx.append("case.created", body)
    return case_no


def _applicant(station: Station, tx: Transaction, req: CaseRequest) -> str:
    if req.applicant_id:
        if person_cert_type(station.db, req.applicant_id) is None:
            raise PersonNotFound(field="applicant")
        return req.applicant_id
    if req.applicant is None:
        raise MissingField(field="name", label="申请人")
    return record_person(tx, req.applicant)


def receive_handover(station: Station, proxy_no: str, *,
                     materials: Sequence[ReceivedMaterial] = (),
                     at: datetime | None = None) -> Case:
    """A village agent hands over a proxy entry's application: the town receives it as a case
    for the same villager (no re-typing), and the entry is marked 已报送 with the case number,
    all in one transaction."""
    with station.transaction() as tx:
        entry = get_proxy(station, proxy_no)
        case_no = _receive(station, tx, CaseRequest(
            item=entry.item.code, applicant_id=entry.villager, channel=Channel.PROXY,
            agent=entry.agent, proxy_no=entry.proxy_no,
            materials=tuple(materials) or entry.materials, at=at))
        if entry.state is ProxyState.REGISTERED:
            tx.append("proxy.moved", proxy_move_body(
                entry, to=ProxyState.SUBMITTED, at=service_time(at, station.clock.now()),
                note="镇便民服务中心已收件", details={"case_no": case_no}))
    return get_case(station, case_no)


def move_case(
    station: Station, case_no: str, to: CaseState, *, at: datetime | None = None,
    note: str = "", details: Mapping[str, Any] | None = None,
) -> Case:
    with station.transaction() as tx:
        case = get_case(station, case_no)
        when = service_time(at, station.clock.now())
        moved = tx.append("case.moved", move_body(case, to=to, at=when, note=note.strip(),
                                                  details=_sealed_details(station, case,
                                                                          details)))
        queue_case_status(tx, case.case_no, to, moved)  # if it came from another station
    return get_case(station, case.case_no)


def _sealed_details(station: Station, case: Case, details: Mapping[str, Any] | None
                    ) -> Mapping[str, Any] | None:
    """A licence number issued to the applicant (残疾人证号 holds their ID number) is
    personal data: it goes into the log sealed under the applicant's key, with a mask."""
    number = str((details or {}).get("cert_no") or "").strip()
    if not number or details is None:
        return details
    clean = {k: v for k, v in details.items() if k != "cert_no"}
    return {**clean, "cert_no_sealed": seal_about(station, case.applicant, "cert_no", number),
            "cert_no_masked": mask_licence(number)}


def record_visit(station: Station, case_no: str, *, at: datetime | None = None,
                 note: str = "") -> Case:
    """One more trip the applicant had to make in person (跑动次数)."""
    with station.transaction() as tx:
        case = get_case(station, case_no)
        tx.append("case.visit", visit_body(case, at=service_time(at, station.clock.now()),
                                           note=note.strip()))
    return get_case(station, case.case_no)


def get_case(station: Station, case_no: str) -> Case:
    number = (case_no or "").strip().upper()
    events = load_events(station.db, "case_events", "case_no", number)
    if not events:
        raise CaseNotFound(value=case_no)
    return fold_case(events)


def list_cases(station: Station, f: CaseFilter) -> list[CaseRow]:
    return search_cases(station.db, f)


def total_cases(station: Station, f: CaseFilter) -> int:
    return count_cases(station.db, f)


def case_timeline(station: Station, case_no: str) -> list[dict[str, Any]]:
    """Every entry about the case with both clocks: when it happened and when it was entered."""
    case = get_case(station, case_no)
    timeline = []
    for event in load_events(station.db, "case_events", "case_no", case.case_no):
        data = station.ledger.entry(event.idx)
        entry = decode_entry(data) if data is not None else None
        b = event.body
        timeline.append({
            "idx": event.idx, "kind": event.kind, "actor": event.actor,
            "at": b.get("at"), "entered_at": entry.t_wall if entry else None,
            "from": b.get("from"), "to": b.get("to", b.get("state")),
            "note": b.get("note", ""), "details": b.get("details", {})})
    return timeline


def _check_proxy_no(text: str) -> str:
    value = (text or "").strip().upper()
    if value and parse_proxy_number(value) is None:
        raise InvalidInput(field="proxy_no", label="代办序号",
                           reason="格式应为 站点编码-DB年份-序号，如 330110001001-DB2025-00042")
    return value
