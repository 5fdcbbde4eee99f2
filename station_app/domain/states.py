"""The two state machines: cases (办件) and proxy ledger entries (代办记录).

Each state knows its Chinese label; each machine is a plain table of allowed moves, so the
rules can be read (and printed in the README) without reading code paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from station_app.errors import IllegalTransition, InvalidInput


class CaseState(StrEnum):
    DRAFT = "DRAFT"
    RECEIVED = "RECEIVED"
    SUPPLEMENT = "SUPPLEMENT"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    IN_PROGRESS = "IN_PROGRESS"
    SUSPENDED = "SUSPENDED"
    FINISHED = "FINISHED"
    WITHDRAWN = "WITHDRAWN"
    VOID = "VOID"

    @property
    def label(self) -> str:
        return _CASE_LABELS[self]

    @property
    def is_open(self) -> bool:
        return self not in CASE_TERMINAL


_CASE_LABELS = {
    CaseState.DRAFT: "登记",
    CaseState.RECEIVED: "已收件",
    CaseState.SUPPLEMENT: "补正中",
    CaseState.ACCEPTED: "已受理",
    CaseState.REJECTED: "不予受理",
    CaseState.IN_PROGRESS: "办理中",
    CaseState.SUSPENDED: "特别程序（暂停计时）",
    CaseState.FINISHED: "已办结",
    CaseState.WITHDRAWN: "已撤回/退件",
    CaseState.VOID: "已作废",
}

_C = CaseState
CASE_TRANSITIONS: Mapping[CaseState, frozenset[CaseState]] = {
    _C.DRAFT: frozenset({_C.RECEIVED, _C.VOID}),
    _C.RECEIVED: frozenset({_C.SUPPLEMENT, _C.ACCEPTED, _C.REJECTED, _C.WITHDRAWN, _C.VOID}),
    _C.SUPPLEMENT: frozenset({_C.RECEIVED, _C.ACCEPTED, _C.REJECTED, _C.WITHDRAWN, _C.VOID}),
    # ACCEPTED → FINISHED directly is the 即办件 path: decided and finished on the spot.
    _C.ACCEPTED: frozenset({_C.IN_PROGRESS, _C.FINISHED, _C.WITHDRAWN, _C.VOID}),
    _C.IN_PROGRESS: frozenset({_C.SUSPENDED, _C.FINISHED, _C.WITHDRAWN, _C.VOID}),
    _C.SUSPENDED: frozenset({_C.IN_PROGRESS, _C.WITHDRAWN, _C.VOID}),
    _C.REJECTED: frozenset(),
    _C.FINISHED: frozenset(),
    _C.WITHDRAWN: frozenset(),
    _C.VOID: frozenset(),
}
CASE_TERMINAL = frozenset(s for s, targets in CASE_TRANSITIONS.items() if not targets)


class ProxyState(StrEnum):
    REGISTERED = "REGISTERED"
    SUBMITTED = "SUBMITTED"
    IN_PROGRESS = "IN_PROGRESS"
    RESULT_RECEIVED = "RESULT_RECEIVED"
    DELIVERED = "DELIVERED"
    SUSPENDED = "SUSPENDED"
    TERMINATED = "TERMINATED"

    @property
    def label(self) -> str:
        return _PROXY_LABELS[self]

    @property
    def is_open(self) -> bool:
        return self not in PROXY_TERMINAL


_PROXY_LABELS = {
    ProxyState.REGISTERED: "已登记",
    ProxyState.SUBMITTED: "已报送",
    ProxyState.IN_PROGRESS: "办理中",
    ProxyState.RESULT_RECEIVED: "结果已回",
    ProxyState.DELIVERED: "已送达",
    ProxyState.SUSPENDED: "中止",
    ProxyState.TERMINATED: "终止",
}

_P = ProxyState
# SUSPENDED (中止) returns to the state it left, via a 续办 (resume); see resume_target().
PROXY_TRANSITIONS: Mapping[ProxyState, frozenset[ProxyState]] = {
    _P.REGISTERED: frozenset({_P.SUBMITTED, _P.SUSPENDED, _P.TERMINATED}),
    _P.SUBMITTED: frozenset({_P.IN_PROGRESS, _P.RESULT_RECEIVED, _P.SUSPENDED, _P.TERMINATED}),
    _P.IN_PROGRESS: frozenset({_P.RESULT_RECEIVED, _P.SUSPENDED, _P.TERMINATED}),
    _P.RESULT_RECEIVED: frozenset({_P.DELIVERED}),
    _P.SUSPENDED: frozenset({_P.REGISTERED, _P.SUBMITTED, _P.IN_PROGRESS, _P.TERMINATED}),
    _P.DELIVERED: frozenset(),
    _P.TERMINATED: frozenset(),
}
PROXY_TERMINAL = frozenset(s for s, targets in PROXY_TRANSITIONS.items() if not targets)


def parse_case_state(text: str) -> CaseState:
    return _parse(CaseState, text, "办件状态")


def parse_proxy_state(text: str) -> ProxyState:
    return _parse(ProxyState, text, "代办状态")


_S = TypeVar("_S", CaseState, ProxyState)


def _parse(enum: type[_S], text: str, label: str) -> _S:
    value = (text or "").strip()
    for state in enum:
        if value.upper() == state.value or value == state.label:
            return state
    names = "、".join(f"{s.value}（{s.label}）" for s in enum)
    raise InvalidInput(label=label, reason=f"“{value}”不是有效状态，可选：{names}")


def check_case_move(number: str, current: CaseState, target: CaseState) -> None:
    if target not in CASE_TRANSITIONS[current]:
        raise IllegalTransition(
            what="办件", what_en="case", number=number, current=current.label,
            current_en=current.value, target=target.label, target_en=target.value)


def check_proxy_move(
    number: str, current: ProxyState, target: ProxyState, resumes: ProxyState | None = None
) -> None:
    allowed = PROXY_TRANSITIONS[current]
    if current is ProxyState.SUSPENDED and target is not ProxyState.TERMINATED:
        allowed = frozenset({resumes}) if resumes else frozenset()
    if target not in allowed:
        raise IllegalTransition(
            what="代办记录", what_en="proxy entry", number=number, current=current.label,
            current_en=current.value, target=target.label, target_en=target.value)
