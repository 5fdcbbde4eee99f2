"""Proxy entries handed over from village stations through the county (the town's side).

The sync takes each ``handover`` message in as a ``relay.received`` entry (the villager's
details sealed per person, like any applicant's) and it waits here for the clerk's 收件.
Receiving it creates the case for that villager, linked to the village's proxy number, and
marks the handover received (``relay.handled``) in the same transaction; from then on the
case's acceptance, refusal and result travel back to the village (``services.outbox``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from station_app.domain.cases import Case, Channel, ReceivedMaterial
from station_app.errors import NotFound, RuleViolation
from station_app.services.cases import CaseRequest, get_case, receive_in
from station_app.services.station import Station
from station_app.store.queries import masked_person
from station_app.store.relay import WAITING, InboundRow, handovers_with_id, waiting_handovers


def waiting_handovers_view(station: Station) -> list[dict[str, Any]]:
    """Handovers waiting for 收件, oldest first, villager masked as on every screen."""
    return [inbound_dict(station, row) for row in waiting_handovers(station.db)]


def inbound_dict(station: Station, row: InboundRow) -> dict[str, Any]:
    return {
        "id": row.message_id, "from_station": row.from_station, "from_name": row.from_name,
        "sent_at": row.sent_at, "proxy_no": row.proxy_no, "item": row.item_code,
        "item_name": row.item_name, "agent": row.agent, "agent_phone": row.agent_phone,
        "village_group": row.village_group, "villager_id": row.villager,
        "villager": masked_person(station.db, row.villager) if row.villager else None,
        "materials": [{"name": m.name, "originals": m.originals, "copies": m.copies}
                      for m in row.materials],
        "state": row.state, "case_no": row.case_no, "status": row.status,
    }


def inbound_handover(station: Station, message_id: str) -> InboundRow:
    found = handovers_with_id(station.db, (message_id or "").strip())
    if not found:
        raise NotFound(field="handover", value=message_id)
    waiting = [r for r in found if r.state == WAITING]
    return waiting[0] if waiting else found[0]


def receive_relayed(station: Station, message_id: str, *,
                    materials: Sequence[ReceivedMaterial] = (),
                    at: datetime | None = None) -> Case:
    """收件 of a relayed handover: the case, for the villager the agent registered."""
    with station.transaction() as tx:
        row = inbound_handover(station, message_id)
        if row.state != WAITING:
            raise RuleViolation(field="handover",
                                reason=f"代办序号 {row.proxy_no} 已收件（办件编号 {row.case_no}）")
        case_no = receive_in(tx, CaseRequest(
            item=row.item_code, applicant_id=row.villager, channel=Channel.PROXY,
            agent=row.agent, proxy_no=row.proxy_no, materials=tuple(materials) or row.materials,
            at=at, note=f"{row.from_name}代办，经县级转来"))
        tx.append("relay.handled", {"from": row.sender, "id": row.message_id,
                                    "proxy_no": row.proxy_no, "case_no": case_no})
    return get_case(station, case_no)
