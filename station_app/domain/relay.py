"""Cases handed over between stations (村 → 乡镇) and their results coming back: the rules.

A village station hands a proxy entry over to its town centre as a ``handover`` message; the
town's case then reports ``case-status`` messages back, and the village moves its proxy
entry accordingly. This module decides what is reported and what each report does to the
proxy entry; the messages themselves are built and carried by ``sync``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from station_app.domain.cases import Outcome
from station_app.domain.proxy import ProxyEntry
from station_app.domain.states import CaseState, ProxyState, check_proxy_move
from station_app.errors import IllegalTransition

HANDOVER = "handover"
CASE_STATUS = "case-status"
# Said in every proxy-entry change a relayed status causes, so nobody mistakes it for
# something the village recorded itself.
REASON_PREFIX = "县级转来："

# The case states the origin station hears about, and what each does to its proxy entry.
FOLLOW_UPS: Mapping[CaseState, ProxyState] = {
    CaseState.ACCEPTED: ProxyState.IN_PROGRESS,
    CaseState.FINISHED: ProxyState.RESULT_RECEIVED,
    CaseState.REJECTED: ProxyState.TERMINATED,
    CaseState.WITHDRAWN: ProxyState.TERMINATED,
}
REPORTED_STATES = frozenset(FOLLOW_UPS)


def status_result(state: CaseState, details: Mapping[str, Any]) -> str:
    """The result the village is told, from the details of the case's move.

    A certificate number is left out on purpose: for some results (残疾人证) it contains the
    holder's ID number, and the village writes this text into its log in clear.
    """
    if state is CaseState.FINISHED:
        parts = [_outcome_label(str(details.get("outcome", "")))]
        parts += [str(details[k]) for k in ("cert_name", "delivery") if details.get(k)]
        return "，".join(p for p in parts if p)
    if state is CaseState.REJECTED:
        basis = str(details.get("legal_basis") or "")
        return f"{details.get('reason', '')}" + (f"（{basis}）" if basis else "")
    if state is CaseState.WITHDRAWN:
        return str(details.get("reason") or "")
    return ""


def _outcome_label(value: str) -> str:
    try:
        return Outcome(value).label
    except ValueError:
        return value


@dataclass(frozen=True, slots=True, kw_only=True)
class FollowUp:
    """The proxy-entry move a relayed case status calls for."""

    target: ProxyState
    note: str
    details: dict[str, Any]


def follow_up(entry: ProxyEntry, *, state: CaseState, case_no: str, result: str,
              town: str) -> FollowUp | None:
    """What the case's new ``state`` at ``town`` does to the proxy ``entry``, or None when
    the entry can no longer move that way (it is only noted then)."""
    target = FOLLOW_UPS.get(state)
    if target is None:
        return None
    try:
        check_proxy_move(entry.proxy_no, entry.state, target, entry.resumes)
    except IllegalTransition:
        return None
    note = f"{REASON_PREFIX}{town}{state.label}（办件编号 {case_no}）"
    details: dict[str, Any] = {"case_no": case_no}
    if target is ProxyState.RESULT_RECEIVED:
        details["result"] = result or state.label
    if target is ProxyState.TERMINATED:
        details["reason"] = f"{REASON_PREFIX}{state.label}" + (f"：{result}" if result else "")
    return FollowUp(target=target, note=note, details=details)
