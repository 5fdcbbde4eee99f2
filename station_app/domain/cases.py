"""Cases (办件): what happened to an application, as a fold over its log entries.

A case is never stored as mutable state. Services *decide*: they check a request against the
current case and produce an entry body (``created_body``, ``move_body``, ``visit_body``).
The projection *evolves*: it folds the case's entries (``fold_case``) to get the current
value. Rebuilding from the log is therefore the same code path as live operation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from station_app.domain.calendar import HolidayCalendar, working_days_after
from station_app.domain.catalog import ServiceItem, item_from_dict, item_to_dict
from station_app.domain.clock import iso, local_day, parse_moment
from station_app.domain.deadlines import Deadline, Pause, compute_deadline
from station_app.domain.states import CaseState, check_case_move
from station_app.errors import InvalidInput, MissingField, TransitionDetailRequired

# 行政许可法 §32: incomplete applications must be told everything missing within 5 days
# (§82: working days), otherwise the application counts as accepted on receipt.
DECISION_WORKING_DAYS = 5


class Channel(StrEnum):
    """申报来源: GB/T 39046 A.5 办理形式, plus 6 for a village agent's proxy (local code)."""

    WINDOW = "WINDOW"
    PROXY = "PROXY"
    ONLINE = "ONLINE"
    MAIL = "MAIL"

    @property
    def label(self) -> str:
        return {"WINDOW": "窗口收件", "PROXY": "村级代办", "ONLINE": "网上申请",
                "MAIL": "快递申请"}[self.value]

    @property
    def platform_code(self) -> str:
        return {"WINDOW": "1", "PROXY": "6", "ONLINE": "2", "MAIL": "4"}[self.value]


class Outcome(StrEnum):
    """办结结果 (电子监察 DONERESULT codes 0, 1, 4)."""

    APPROVED = "APPROVED"
    DENIED = "DENIED"
    FORWARDED = "FORWARDED"

    @property
    def label(self) -> str:
        return {"APPROVED": "准予办理（出证办结）", "DENIED": "不予许可",
                "FORWARDED": "转报办结"}[self.value]

    @property
    def platform_code(self) -> str:
        return {"APPROVED": "0", "DENIED": "1", "FORWARDED": "4"}[self.value]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceivedMaterial:
    name: str
    originals: int = 0
    copies: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class MissingMaterial:
    name: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StateChange:
    idx: int
    at: datetime
    source: CaseState | None
    target: CaseState
    actor: str
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseEvent:
    """One log entry about a case, as the projection hands it to ``fold_case``."""

    idx: int
    kind: str
    actor: str
    body: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    case_no: str
    item: ServiceItem
    applicant: str
    channel: Channel
    state: CaseState
    received_at: datetime
    agent: str = ""
    proxy_no: str = ""
    accepted_at: datetime | None = None
    closed_at: datetime | None = None
    visits: int = 0
    materials: tuple[ReceivedMaterial, ...] = ()
    missing: tuple[MissingMaterial, ...] = ()
    supplements: int = 0
    history: tuple[StateChange, ...] = ()
    details: Mapping[str, Any] | None = None  # details of the latest move (result, reason …)
    created_idx: int = 0
    updated_idx: int = 0


# --------------------------------------------------------------------------- decide


def created_body(
    *, case_no: str, item: ServiceItem, applicant: str, channel: Channel, at: datetime,
    materials: Sequence[ReceivedMaterial] = (), agent: str = "", proxy_no: str = "",
    draft: bool = False, visits: int | None = None, note: str = "",
) -> dict[str, Any]:
    """The body of a ``case.created`` entry. Walk-in applicants have made one visit."""
    if channel is Channel.PROXY and not agent:
        raise MissingField(field="agent", label="代办员姓名")
    if visits is None:
        visits = 1 if channel is Channel.WINDOW else 0
    if visits < 0:
        raise InvalidInput(field="visits", label="跑动次数", reason="不能为负数")
    return {
        "case_no": case_no, "item": item_to_dict(item), "applicant": applicant,
        "channel": channel.value, "agent": agent, "proxy_no": proxy_no,
        "state": (CaseState.DRAFT if draft else CaseState.RECEIVED).value, "at": iso(at),
        "materials": [_material_dict(m) for m in materials], "visits": visits, "note": note,
    }


def move_body(
    case: Case, *, to: CaseState, at: datetime, note: str = "",
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Check a requested move and return the ``case.moved`` body (raises if not allowed)."""
    check_case_move(case.case_no, case.state, to)
    if case.history and at < case.history[-1].at:
        raise InvalidInput(field="at", label="办理时间",
                           reason=f"不能早于上一环节时间 {iso(case.history[-1].at)}")
    clean = _required_details(to, dict(details or {}))
    return {"case_no": case.case_no, "from": case.state.value, "to": to.value,
            "at": iso(at), "note": note, "details": clean}


def visit_body(case: Case, *, at: datetime, note: str = "") -> dict[str, Any]:
    return {"case_no": case.case_no, "at": iso(at), "note": note}


_REQUIRED = {
    CaseState.REJECTED: (("reason", "不予受理理由", "a reason"),
                         ("legal_basis", "法律依据", "the legal basis")),
    CaseState.SUSPENDED: (("reason", "特别程序事由", "the special procedure's reason"),),
    CaseState.WITHDRAWN: (("reason", "撤回/退件原因", "a reason"),),
    CaseState.VOID: (("reason", "作废原因", "a reason"),),
    CaseState.FINISHED: (("outcome", "办结结果", "the outcome"),),
}


def _required_details(to: CaseState, details: dict[str, Any]) -> dict[str, Any]:
    for key, label, label_en in _REQUIRED.get(to, ()):
        if not str(details.get(key) or "").strip():
            raise TransitionDetailRequired(field=key, target=to.label, target_en=to.value,
                                           label=label, label_en=label_en)
    if to is CaseState.SUPPLEMENT:
        details["missing"] = _missing_list(details.get("missing"))
    if to is CaseState.FINISHED:
        details["outcome"] = _outcome(details["outcome"]).value
    return {k: v for k, v in details.items() if v not in (None, "")}


def _missing_list(raw: Any) -> list[dict[str, str]]:
    """一次性告知: every missing material with its reason, and at least one of them."""
    items = [m if isinstance(m, Mapping) else {"name": str(m), "reason": ""} for m in raw or ()]
    if not items:
        raise TransitionDetailRequired(field="missing", target=CaseState.SUPPLEMENT.label,
                                       target_en="SUPPLEMENT", label="需补正的材料清单",
                                       label_en="the list of missing materials")
    out = []
    for m in items:
        name, reason = str(m.get("name", "")).strip(), str(m.get("reason", "")).strip()
        if not name:
            raise MissingField(field="missing", label="补正材料名称")
        out.append({"name": name, "reason": reason or "未提交"})
    return out


def _outcome(text: str) -> Outcome:
    for o in Outcome:
        if text.strip() in (o.value, o.label, o.platform_code):
            return o
    names = "、".join(f"{o.value}（{o.label}）" for o in Outcome)
    raise InvalidInput(field="outcome", label="办结结果", reason=f"应为 {names}")


def _material_dict(m: ReceivedMaterial) -> dict[str, Any]:
    return {"name": m.name, "originals": m.originals, "copies": m.copies}


# --------------------------------------------------------------------------- evolve


def fold_case(events: Iterable[CaseEvent]) -> Case:
    """The current case from its entries, in log order (first must be ``case.created``)."""
    case: Case | None = None
    for event in events:
        if event.kind == "case.created":
            case = _created(event)
        elif case is None:
            raise ValueError(f"case entry {event.idx} comes before the case was created")
        elif event.kind == "case.moved":
            case = _moved(case, event)
        elif event.kind == "case.visit":
            case = replace(case, visits=case.visits + 1, updated_idx=event.idx)
    if case is None:
        raise ValueError("no case.created entry")
    return case


def _created(event: CaseEvent) -> Case:
    b = event.body
    at = parse_moment(b["at"])
    state = CaseState(b["state"])
    return Case(
        case_no=b["case_no"], item=item_from_dict(b["item"]), applicant=b["applicant"],
        channel=Channel(b["channel"]), state=state, received_at=at, agent=b["agent"],
        proxy_no=b["proxy_no"], visits=b["visits"],
        materials=tuple(ReceivedMaterial(**m) for m in b["materials"]),
        history=(StateChange(idx=event.idx, at=at, source=None, target=state,
                             actor=event.actor, note=b["note"]),),
        created_idx=event.idx, updated_idx=event.idx)


def _moved(case: Case, event: CaseEvent) -> Case:
    b, to = event.body, CaseState(event.body["to"])
    at = parse_moment(b["at"])
    details = b["details"]
    change = StateChange(idx=event.idx, at=at, source=case.state, target=to,
                         actor=event.actor, note=b["note"])
    updates: dict[str, Any] = {"state": to, "history": (*case.history, change),
                               "details": details, "updated_idx": event.idx}
    if to is CaseState.RECEIVED and case.state is CaseState.DRAFT:
        updates["received_at"] = at
    if to is CaseState.ACCEPTED:
        updates["accepted_at"] = at
    if to is CaseState.SUPPLEMENT:
        updates["missing"] = tuple(MissingMaterial(**m) for m in details["missing"])
        updates["supplements"] = case.supplements + 1
    if not to.is_open:
        updates["closed_at"] = at
    return replace(case, **updates)


# --------------------------------------------------------------------------- deadlines


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseDeadlines:
    """decision: 受理决定期限 (§32); promised/legal: 承诺/法定办结期限 from acceptance;
    current: the one the station must meet now (None while waiting on the applicant)."""

    decision: date | None
    promised: Deadline | None
    legal: Deadline | None
    current: Deadline | date | None
    estimated: bool


def case_deadlines(case: Case, cal: HolidayCalendar) -> CaseDeadlines:
    decision, decision_est = working_days_after(
        local_day(case.received_at), DECISION_WORKING_DAYS, cal)
    if case.accepted_at is None:
        current: Deadline | date | None = decision if case.state is CaseState.RECEIVED else None
        return CaseDeadlines(decision=decision, promised=None, legal=None, current=current,
                             estimated=decision_est)
    pauses = _pauses(case)
    promised = compute_deadline(case.accepted_at, case.item.promised_limit, cal, pauses)
    legal = compute_deadline(case.accepted_at, case.item.legal_limit, cal, pauses)
    return CaseDeadlines(decision=decision, promised=promised, legal=legal, current=promised,
                         estimated=promised.estimated or legal.estimated)


def _pauses(case: Case) -> tuple[Pause, ...]:
    """Stretches after acceptance spent in 补正 or 特别程序, when the clock stops."""
    pauses: list[Pause] = []
    open_since: date | None = None
    stopped = (CaseState.SUPPLEMENT, CaseState.SUSPENDED)
    for change in case.history:
        if case.accepted_at is None or change.at < case.accepted_at:
            continue
        if change.target in stopped and open_since is None:
            open_since = local_day(change.at)
        elif change.target not in stopped and open_since is not None:
            pauses.append(Pause(start=open_since, end=local_day(change.at)))
            open_since = None
    if open_since is not None:
        pauses.append(Pause(start=open_since, end=None))
    return tuple(pauses)


def finished_on_time(case: Case, cal: HolidayCalendar) -> bool | None:
    """按时办结: finished on or before the promised deadline (None if not finished)."""
    if case.state is not CaseState.FINISHED or case.closed_at is None:
        return None
    promised = case_deadlines(case, cal).promised
    if promised is None or promised.due is None:
        return None
    due = promised.due
    if isinstance(due, datetime):
        return case.closed_at <= due
    return local_day(case.closed_at) <= due
