"""Cases and proxy entries in the states each document kind needs, built through the services.

The applicant is the conftest ``applicant`` (张三丰); the item is 临时救助申请 (a 承诺件 of
10 working days). On the conftest clock (Monday 2025-09-29 09:00, before the National Day
holiday) the known deadlines are: decision (5 working days) 2025-10-13, promised 2025-10-20,
legal (15 working days) 2025-10-27.
"""

from __future__ import annotations

from typing import Any

from station_app.domain.cases import ReceivedMaterial
from station_app.domain.documents import DocKind
from station_app.domain.people import PersonDetails
from station_app.domain.states import CaseState, ProxyState
from station_app.services.cases import CaseRequest, add_case, move_case
from station_app.services.profile import add_agent
from station_app.services.proxy import ProxyRequest, move_proxy, register_proxy
from station_app.services.station import Station

ITEM = "LOCAL-MZ-004"
ITEM_NAME = "临时救助申请"
FULL_ID = "11010519491231002X"
MASKED_ID = "110***********002X"
FULL_PHONE = "13812341234"
MASKED_PHONE = "138****1234"
FULL_ADDRESS = "青石镇东坑村3组12号"
DECISION_DUE = "2025年10月13日"
PROMISED_DUE = "2025年10月20日"
LEGAL_DUE = "2025年10月27日"
AGENT = "王丽华"
MATERIALS = (ReceivedMaterial(name="居民身份证", originals=1, copies=1),
             ReceivedMaterial(name="困难情况说明", originals=1, copies=0))
MISSING = {"missing": [{"name": "户口簿", "reason": "复印件不清晰"},
                       {"name": "申请表", "reason": "未签名"}]}
REJECTION = {"reason": "申请人户籍不在本镇，不属于本中心受理范围",
             "legal_basis": "《中华人民共和国行政许可法》第三十二条第一款第（二）项"}
FINISH = {"outcome": "APPROVED", "cert_name": "临时救助金发放通知", "delivery": "窗口领取"}

S = CaseState
PATHS: dict[CaseState, tuple[tuple[CaseState, dict[str, Any]], ...]] = {
    S.RECEIVED: (),
    S.SUPPLEMENT: ((S.SUPPLEMENT, MISSING),),
    S.ACCEPTED: ((S.ACCEPTED, {}),),
    S.IN_PROGRESS: ((S.ACCEPTED, {}), (S.IN_PROGRESS, {})),
    S.REJECTED: ((S.REJECTED, REJECTION),),
    S.FINISHED: ((S.ACCEPTED, {}), (S.IN_PROGRESS, {}), (S.FINISHED, FINISH)),
    S.WITHDRAWN: ((S.ACCEPTED, {}), (S.WITHDRAWN, {"reason": "申请人主动撤回申请"})),
    S.VOID: ((S.VOID, {"reason": "重复录入"}),),
}


def case_in(station: Station, person: PersonDetails, state: CaseState) -> str:
    """A new case of 临时救助申请 for ``person``, moved to ``state``; returns its number."""
    case = add_case(station, CaseRequest(item=ITEM, applicant=person, materials=MATERIALS,
                                         draft=state is S.DRAFT))
    for to, details in PATHS.get(state, ()):
        move_case(station, case.case_no, to, details=details)
    return case.case_no


def proxy_entry(station: Station, person: PersonDetails, *, result_back: bool) -> str:
    """A villager's proxy entry with agent 王丽华; with ``result_back`` the result is in."""
    entry = register_proxy(station, ProxyRequest(
        item=ITEM, villager=person, agent=AGENT, agent_phone="13905710011",
        village_group="东坑村3组", materials=MATERIALS))
    if result_back:
        move_proxy(station, entry.proxy_no, ProxyState.SUBMITTED)
        move_proxy(station, entry.proxy_no, ProxyState.RESULT_RECEIVED,
                   details={"result": "已办结，救助金已发放"})
    return entry.proxy_no


def subject_for(station: Station, kind: DocKind, person: PersonDetails) -> str:
    """Something ``kind`` may be issued about: a case, a proxy entry, or "" (the station)."""
    if kind is DocKind.NOTICE_BOARD:
        add_agent(station, name=AGENT, role="村级代办员", phone="13905710011",
                  village="东坑村")
        return ""
    if kind.subject == "proxy":
        return proxy_entry(station, person, result_back=kind is DocKind.PROXY_DONE)
    state = {DocKind.RECEIPT: S.RECEIVED, DocKind.ACCEPT_NOTICE: S.ACCEPTED,
             DocKind.SUPPLEMENT_NOTICE: S.SUPPLEMENT, DocKind.REJECT_NOTICE: S.REJECTED,
             DocKind.FINISH_NOTICE: S.FINISHED}[kind]
    return case_in(station, person, state)
