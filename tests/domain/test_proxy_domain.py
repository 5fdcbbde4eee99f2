"""代办记录: a village agent carries an application, free of charge, through its states."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pytest

from station_app.domain.calendar import HolidayCalendar
from station_app.domain.cases import CaseEvent, ReceivedMaterial
from station_app.domain.catalog import CaseType, ServiceItem
from station_app.domain.clock import CST
from station_app.domain.proxy import (
    SUBMIT_WORKING_DAYS,
    ProxyEntry,
    check_fee,
    fold_proxy,
    move_body,
    registered_body,
    submit_due,
    submitted_at,
)
from station_app.domain.states import ProxyState
from station_app.domain.timelimits import TimeLimit
from station_app.errors import (
    FeeNotAllowed,
    IllegalTransition,
    InvalidInput,
    MissingField,
    ProxyNotAllowed,
    TransitionDetailRequired,
)
from station_app.services.calendar_seed import chinese_calendar_years

SEEDED = HolidayCalendar.from_years(chinese_calendar_years())
P = ProxyState

ITEM = ServiceItem(
    code="YL-003", name="城乡居民养老保险待遇领取资格认证", department="县社保中心",
    case_type=CaseType.PROMISED, legal_limit=TimeLimit(amount=10),
    promised_limit=TimeLimit(amount=3))
NOT_BY_PROXY = ServiceItem(
    code="HJ-001", name="居民身份证申领", department="县公安局户政科",
    case_type=CaseType.PROMISED, legal_limit=TimeLimit(amount=60),
    promised_limit=TimeLimit(amount=20), proxy_allowed=False)

DETAILS: dict[ProxyState, dict[str, Any]] = {
    P.SUSPENDED: {"reason": "村民外出务工，材料待补"},
    P.TERMINATED: {"reason": "村民不再办理"},
    P.RESULT_RECEIVED: {"result": "认证通过"},
}


def at(day: str, clock: str = "10:00") -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), CST)


class ProxyLog:
    def __init__(self, registered: datetime | None = None, **extra: Any) -> None:
        body = registered_body(proxy_no="330110001001-DB2025-00042", item=ITEM,
                               villager="person-9", agent=" 李代办 ",
                               at=registered or at("2025-09-29", "09:00"), **extra)
        self.events = [CaseEvent(idx=50, kind="proxy.registered", actor="agent-li", body=body)]

    @property
    def entry(self) -> ProxyEntry:
        return fold_proxy(self.events)

    def move(self, to: ProxyState, when: datetime,
             details: dict[str, Any] | None = None) -> ProxyEntry:
        body = move_body(self.entry, to=to, at=when,
                         details=DETAILS.get(to) if details is None else details)
        self.events.append(CaseEvent(idx=self.events[-1].idx + 1, kind="proxy.moved",
                                     actor="agent-li", body=body))
        return self.entry


# ---------------------------------------------------------------- the fee is always zero


@pytest.mark.parametrize("amount", [0, "0", "0.00", "¥0", "￥0.00", " 0 ", "", None,
                                    Decimal("0"), 0.0])
def test_a_zero_fee_however_it_is_typed_is_accepted(amount: object) -> None:
    check_fee(amount)


@pytest.mark.parametrize("amount", [5, "5", "0.01", "¥1", "-1", "abc", "五元", "NaN",
                                    "Infinity", "sNaN", Decimal("0.5")])
def test_any_other_fee_is_refused(amount: object) -> None:
    with pytest.raises(FeeNotAllowed) as caught:
        check_fee(amount)
    assert caught.value.field == "fee"
    assert caught.value.code == "PROXY_FEE_FORBIDDEN"
    assert "全程免费" in caught.value.text
    assert isinstance(caught.value, InvalidInput)


def test_registering_with_a_fee_is_refused_and_the_entry_always_records_zero() -> None:
    with pytest.raises(FeeNotAllowed):
        ProxyLog(fee="10")
    log = ProxyLog(fee="¥0.00")
    assert log.events[0].body["fee"] == 0
    assert log.entry.fee == 0


# ---------------------------------------------------------------- registering


def test_a_registered_entry_folds_to_the_registered_state() -> None:
    log = ProxyLog(materials=[ReceivedMaterial(name="身份证", originals=1)],
                   agent_phone="13812341234", village_group="东坑村3组")
    entry = log.entry
    assert entry.state is P.REGISTERED
    assert entry.agent == "李代办"
    assert (entry.agent_phone, entry.village_group) == ("13812341234", "东坑村3组")
    assert entry.materials == (ReceivedMaterial(name="身份证", originals=1),)
    assert entry.registered_at == at("2025-09-29", "09:00")
    assert entry.item == ITEM
    assert [(h.source, h.target) for h in entry.history] == [(None, P.REGISTERED)]


def test_an_item_that_may_not_be_carried_by_an_agent_is_refused() -> None:
    with pytest.raises(ProxyNotAllowed) as caught:
        registered_body(proxy_no="330110001001-DB2025-00043", item=NOT_BY_PROXY,
                        villager="person-9", agent="李代办", at=at("2025-09-29"))
    assert "居民身份证申领" in caught.value.text
    assert caught.value.code == "ITEM_PROXY_NOT_ALLOWED"


def test_an_entry_needs_an_agent() -> None:
    with pytest.raises(MissingField):
        registered_body(proxy_no="330110001001-DB2025-00043", item=ITEM, villager="person-9",
                        agent="  ", at=at("2025-09-29"))


def test_folding_needs_the_registration_first() -> None:
    log = ProxyLog()
    log.move(P.SUBMITTED, at("2025-09-30"))
    with pytest.raises(ValueError):
        fold_proxy(log.events[1:])
    with pytest.raises(ValueError):
        fold_proxy([])


# ---------------------------------------------------------------- the happy path


def test_an_entry_goes_from_registered_to_delivered() -> None:
    log = ProxyLog()
    log.move(P.SUBMITTED, at("2025-09-30", "09:00"), details={"case_no": "CASE-7"})
    log.move(P.IN_PROGRESS, at("2025-10-09"))
    log.move(P.RESULT_RECEIVED, at("2025-10-10"))
    entry = log.move(P.DELIVERED, at("2025-10-11"))
    assert [h.target for h in entry.history] == [P.REGISTERED, P.SUBMITTED, P.IN_PROGRESS,
                                                 P.RESULT_RECEIVED, P.DELIVERED]
    assert all(b.source is a.target for a, b in zip(entry.history, entry.history[1:],
                                                    strict=False))
    assert entry.result == "认证通过"
    assert entry.case_no == "CASE-7"
    assert submitted_at(entry) == at("2025-09-30", "09:00")
    assert not entry.state.is_open
    assert entry.updated_idx == 54
    with pytest.raises(IllegalTransition):
        log.move(P.TERMINATED, at("2025-10-12"))


def test_the_result_can_come_back_straight_after_submission() -> None:
    log = ProxyLog()
    log.move(P.SUBMITTED, at("2025-09-30"))
    assert log.move(P.RESULT_RECEIVED, at("2025-09-30", "15:00")).state is P.RESULT_RECEIVED


def test_receiving_the_result_requires_the_result() -> None:
    log = ProxyLog()
    log.move(P.SUBMITTED, at("2025-09-30"))
    for details in ({}, {"result": ""}, {"result": "   "}):
        with pytest.raises(TransitionDetailRequired) as caught:
            log.move(P.RESULT_RECEIVED, at("2025-10-09"), details=details)
        assert caught.value.field == "result"
        assert "办理结果" in caught.value.text


@pytest.mark.parametrize("to", [P.SUSPENDED, P.TERMINATED])
def test_suspending_or_terminating_requires_a_reason(to: ProxyState) -> None:
    with pytest.raises(TransitionDetailRequired) as caught:
        ProxyLog().move(to, at("2025-09-30"), details={"reason": None})
    assert caught.value.field == "reason"


def test_a_move_cannot_be_dated_before_the_previous_one() -> None:
    with pytest.raises(InvalidInput):
        ProxyLog().move(P.SUBMITTED, at("2025-09-28"))


# ---------------------------------------------------------------- 中止 and 续办


STEPS_TO = {P.REGISTERED: [], P.SUBMITTED: [P.SUBMITTED],
            P.IN_PROGRESS: [P.SUBMITTED, P.IN_PROGRESS]}


@pytest.mark.parametrize("left", list(STEPS_TO))
def test_a_suspended_entry_resumes_to_the_state_it_left(left: ProxyState) -> None:
    log = ProxyLog()
    for step, state in enumerate(STEPS_TO[left]):
        log.move(state, at("2025-09-30", f"1{step}:00"))
    assert log.entry.state is left
    suspended = log.move(P.SUSPENDED, at("2025-10-09"))
    assert suspended.resumes is left
    for other in ProxyState:
        if other not in (left, P.TERMINATED):
            with pytest.raises(IllegalTransition):
                log.move(other, at("2025-10-10"))
    resumed = log.move(left, at("2025-10-10"))
    assert resumed.state is left
    assert resumed.resumes is None


def test_a_suspended_entry_can_be_terminated() -> None:
    log = ProxyLog()
    log.move(P.SUBMITTED, at("2025-09-30"))
    log.move(P.SUSPENDED, at("2025-10-09"))
    entry = log.move(P.TERMINATED, at("2025-10-10"))
    assert entry.state is P.TERMINATED
    assert entry.details == DETAILS[P.TERMINATED]


# ---------------------------------------------------------------- the submission deadline


def test_an_entry_must_be_submitted_within_three_working_days() -> None:
    # Registered Monday 29 September 2025: 09-30, then 10-09 and 10-10 after National Day.
    assert SUBMIT_WORKING_DAYS == 3
    assert submit_due(ProxyLog(at("2025-09-29", "09:00")).entry, SEEDED) == (date(2025, 10, 10),
                                                                             False)


def test_a_sunday_worked_in_exchange_counts_towards_submission() -> None:
    # Friday 26 September 2025: Sunday the 28th was a working day.
    assert submit_due(ProxyLog(at("2025-09-26", "17:00")).entry, SEEDED) == (date(2025, 9, 30),
                                                                             False)


def test_the_submission_deadline_is_an_estimate_in_a_year_not_yet_published() -> None:
    due, estimated = submit_due(ProxyLog(at("2027-03-01")).entry, SEEDED)
    assert (due, estimated) == (date(2027, 3, 4), True)


def test_an_entry_not_yet_submitted_has_no_submission_time() -> None:
    assert submitted_at(ProxyLog().entry) is None
