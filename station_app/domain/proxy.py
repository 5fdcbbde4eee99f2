"""Proxy ledger entries (代办记录台账): a village agent carrying a villager's application.

Same shape as cases: services decide (``registered_body``, ``move_body``), the projection
folds (``fold_proxy``). The service is free of charge by rule (全程免费代办): the body always
records ``fee: 0`` and any other amount is refused before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from station_app.domain.calendar import HolidayCalendar, working_days_after
from station_app.domain.cases import CaseEvent, ReceivedMaterial
from station_app.domain.catalog import ServiceItem, item_from_dict, item_to_dict
from station_app.domain.clock import iso, local_day, parse_moment
from station_app.domain.states import ProxyState, check_proxy_move
from station_app.errors import (
    FeeNotAllowed,
    InvalidInput,
    MissingField,
    ProxyNotAllowed,
    TransitionDetailRequired,
)

# 便民服务站工作制度: a proxy application is handed to the town centre within 3 working days.
SUBMIT_WORKING_DAYS = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyChange:
    idx: int
    at: datetime
    source: ProxyState | None
    target: ProxyState
    actor: str
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyEntry:
    proxy_no: str
    item: ServiceItem
    villager: str
    agent: str
    state: ProxyState
    registered_at: datetime
    agent_phone: str = ""
    village_group: str = ""
    materials: tuple[ReceivedMaterial, ...] = ()
    case_no: str = ""
    resumes: ProxyState | None = None  # the state a 中止 entry returns to on 续办
    result: str = ""
    history: tuple[ProxyChange, ...] = ()
    details: Mapping[str, Any] | None = None
    created_idx: int = 0
    updated_idx: int = 0

    @property
    def fee(self) -> int:
        return 0


def check_fee(amount: object) -> None:
    """Refuse any fee other than zero, however it was typed ("0", "0.00", "¥0")."""
    text = str(amount if amount is not None else "0").strip().lstrip("¥￥").strip() or "0"
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FeeNotAllowed(field="fee", amount=text) from None
    if not value.is_zero():  # not ``value != 0``: comparing a signalling NaN ("sNaN") raises
        raise FeeNotAllowed(field="fee", amount=text)


def registered_body(
    *, proxy_no: str, item: ServiceItem, villager: str, agent: str, at: datetime,
    materials: Sequence[ReceivedMaterial] = (), agent_phone: str = "", village_group: str = "",
    fee: object = 0, note: str = "",
) -> dict[str, Any]:
    check_fee(fee)
    if not item.proxy_allowed:
        raise ProxyNotAllowed(field="item", item=item.name)
    if not agent.strip():
        raise MissingField(field="agent", label="代办员姓名")
    return {
        "proxy_no": proxy_no, "item": item_to_dict(item), "villager": villager,
        "agent": agent.strip(), "agent_phone": agent_phone, "village_group": village_group,
        "at": iso(at), "fee": 0, "note": note,
        "materials": [{"name": m.name, "originals": m.originals, "copies": m.copies}
                      for m in materials],
    }


_REQUIRED = {
    ProxyState.SUSPENDED: ("reason", "中止原因", "a reason"),
    ProxyState.TERMINATED: ("reason", "终止原因", "a reason"),
    ProxyState.RESULT_RECEIVED: ("result", "办理结果", "the result"),
}


def move_body(
    entry: ProxyEntry, *, to: ProxyState, at: datetime, note: str = "",
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    check_proxy_move(entry.proxy_no, entry.state, to, entry.resumes)
    if entry.history and at < entry.history[-1].at:
        raise InvalidInput(field="at", label="办理时间",
                           reason=f"不能早于上一环节时间 {iso(entry.history[-1].at)}")
    clean = {k: v for k, v in dict(details or {}).items() if v not in (None, "")}
    if to in _REQUIRED:
        key, label, label_en = _REQUIRED[to]
        if not str(clean.get(key, "")).strip():
            raise TransitionDetailRequired(field=key, target=to.label, target_en=to.value,
                                           label=label, label_en=label_en)
    return {"proxy_no": entry.proxy_no, "from": entry.state.value, "to": to.value,
            "at": iso(at), "note": note, "details": clean}


def fold_proxy(events: Iterable[CaseEvent]) -> ProxyEntry:
    entry: ProxyEntry | None = None
    for event in events:
        if event.kind == "proxy.registered":
            entry = _registered(event)
        elif entry is None:
            raise ValueError(f"proxy entry {event.idx} comes before it was registered")
        elif event.kind == "proxy.moved":
            entry = _moved(entry, event)
    if entry is None:
        raise ValueError("no proxy.registered entry")
    return entry


def _registered(event: CaseEvent) -> ProxyEntry:
    b = event.body
    at = parse_moment(b["at"])
    return ProxyEntry(
        proxy_no=b["proxy_no"], item=item_from_dict(b["item"]), villager=b["villager"],
        agent=b["agent"], agent_phone=b["agent_phone"], village_group=b["village_group"],
        state=ProxyState.REGISTERED, registered_at=at,
        materials=tuple(ReceivedMaterial(**m) for m in b["materials"]),
        history=(ProxyChange(idx=event.idx, at=at, source=None, target=ProxyState.REGISTERED,
                             actor=event.actor, note=b["note"]),),
        created_idx=event.idx, updated_idx=event.idx)


def _moved(entry: ProxyEntry, event: CaseEvent) -> ProxyEntry:
    b, to = event.body, ProxyState(event.body["to"])
    at, details = parse_moment(b["at"]), b["details"]
    change = ProxyChange(idx=event.idx, at=at, source=entry.state, target=to,
                         actor=event.actor, note=b["note"])
    updates: dict[str, Any] = {"state": to, "history": (*entry.history, change),
                               "details": details, "updated_idx": event.idx,
                               "resumes": entry.state if to is ProxyState.SUSPENDED else None}
    if details.get("case_no"):
        updates["case_no"] = details["case_no"]
    if to is ProxyState.RESULT_RECEIVED:
        updates["result"] = details["result"]
    return replace(entry, **updates)


def submit_due(entry: ProxyEntry, cal: HolidayCalendar) -> tuple[date, bool]:
    """报送期限: 3 working days after registration (and whether that date is estimated)."""
    return working_days_after(local_day(entry.registered_at), SUBMIT_WORKING_DAYS, cal)


def submitted_at(entry: ProxyEntry) -> datetime | None:
    for change in entry.history:
        if change.target is ProxyState.SUBMITTED:
            return change.at
    return None
