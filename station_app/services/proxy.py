"""Proxy ledger (代办记录台账): register what a villager entrusted, follow it to delivery."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from station_app.domain.cases import ReceivedMaterial
from station_app.domain.clock import local_day
from station_app.domain.numbering import proxy_number
from station_app.domain.people import PersonDetails
from station_app.domain.proxy import ProxyEntry, check_fee, fold_proxy, move_body, registered_body
from station_app.domain.states import ProxyState
from station_app.errors import ProxyEntryNotFound
from station_app.services.inputs import check_materials, service_time
from station_app.services.outbox import queue_handover
from station_app.services.people import record_person
from station_app.services.reentry import allocate, check_reentry, reentry_note
from station_app.services.station import Station
from station_app.store.queries import (
    ProxyFilter,
    ProxyRow,
    load_events,
    search_proxies,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyRequest:
    item: str
    villager: PersonDetails
    agent: str
    agent_phone: str = ""
    village_group: str = ""
    materials: Sequence[ReceivedMaterial] = field(default_factory=tuple)
    at: datetime | None = None
    fee: object = 0
    note: str = ""
    # 补录 of a lost PC's paper with its printed 代办序号 (a range a recovery reserved)
    number: str = ""
    reason: str = ""


def register_proxy(station: Station, req: ProxyRequest) -> ProxyEntry:
    check_fee(req.fee)  # refused before anything else is even looked at
    with station.transaction() as tx:
        item = station.projector.catalog().resolve(req.item)
        now = station.clock.now()
        at = service_time(req.at, now)
        check_materials(req.materials)
        if req.number:
            number, _ = check_reentry(station, "proxy", req.number, req.at, req.reason)
        else:
            year = local_day(now).year
            number = proxy_number(station.info.code, year,
                                  allocate(station, "proxy", str(year)))
        body = registered_body(
            proxy_no=number, item=item, villager="", agent=req.agent, at=at,
            materials=req.materials, agent_phone=req.agent_phone.strip(),
            village_group=req.village_group.strip(), fee=req.fee, note=req.note.strip())
        body["villager"] = record_person(tx, req.villager)
        if req.number:
            body["reentry"] = reentry_note(req.reason)
        tx.append("proxy.registered", body)
    return get_proxy(station, number)


def move_proxy(
    station: Station, proxy_no: str, to: ProxyState, *, at: datetime | None = None,
    note: str = "", details: Mapping[str, Any] | None = None,
) -> ProxyEntry:
    with station.transaction() as tx:
        entry = get_proxy(station, proxy_no)
        when = service_time(at, station.clock.now())
        moved = tx.append("proxy.moved", move_body(entry, to=to, at=when, note=note.strip(),
                                                   details=details))
        if to is ProxyState.SUBMITTED:  # 已报送: to the town centre, if it is another station
            queue_handover(tx, entry.proxy_no, moved)
    return get_proxy(station, entry.proxy_no)


def get_proxy(station: Station, proxy_no: str) -> ProxyEntry:
    number = (proxy_no or "").strip().upper()
    events = load_events(station.db, "proxy_events", "proxy_no", number)
    if not events:
        raise ProxyEntryNotFound(value=proxy_no)
    return fold_proxy(events)


def list_proxies(station: Station, f: ProxyFilter) -> list[ProxyRow]:
    return search_proxies(station.db, f)
