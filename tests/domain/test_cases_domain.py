"""Cases (办件): decide with created_body/move_body, evolve with fold_case, and their deadlines."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from station_app.domain.calendar import HolidayCalendar, working_days_after, working_days_between
from station_app.domain.cases import (
    DECISION_WORKING_DAYS,
    Case,
    CaseEvent,
    Channel,
    MissingMaterial,
    Outcome,
    ReceivedMaterial,
    case_deadlines,
    created_body,
    finished_on_time,
    fold_case,
    move_body,
    visit_body,
)
from station_app.domain.catalog import CaseType, ServiceItem
from station_app.domain.clock import CST
from station_app.domain.states import CASE_TRANSITIONS, CaseState
from station_app.domain.timelimits import TimeLimit
from station_app.errors import (
    IllegalTransition,
    InvalidInput,
    MissingField,
    TransitionDetailRequired,
)
from station_app.services.calendar_seed import chinese_calendar_years

SEEDED = HolidayCalendar.from_years(chinese_calendar_years())
C = CaseState

PROMISED = ServiceItem(
    code="CJR-001", name="残疾人证新办", department="县残疾人联合会",
    case_type=CaseType.PROMISED, legal_limit=TimeLimit(amount=20),
    promised_limit=TimeLimit(amount=5), result_name="残疾人证")
IMMEDIATE = ServiceItem(
    code="YL-002", name="城乡居民养老保险参保登记", department="县社保中心",
    case_type=CaseType.IMMEDIATE, legal_limit=TimeLimit(amount=0),
    promised_limit=TimeLimit(amount=0))

# Details that satisfy every state's requirements.
DETAILS: dict[CaseState, dict[str, Any]] = {
    C.REJECTED: {"reason": "不属于本站受理范围", "legal_basis": "《行政许可法》第三十二条"},
    C.SUPPLEMENT: {"missing": [{"name": "户口簿复印件", "reason": "未提交"}]},
    C.SUSPENDED: {"reason": "需要现场核查"},
    C.WITHDRAWN: {"reason": "申请人撤回"},
    C.VOID: {"reason": "登记错误"},
    C.FINISHED: {"outcome": "APPROVED"},
}


def at(day: str, clock: str = "10:00") -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), CST)


class CaseLog:
    """A case's entries as the projection would hand them to fold_case."""

    def __init__(self, item: ServiceItem = PROMISED, received: datetime | None = None,
                 **created: Any) -> None:
        body = created_body(case_no="330110001001-20250930-0007", item=item,
                            applicant="person-7", channel=created.pop("channel", Channel.WINDOW),
                            at=received or at("2025-09-30", "09:00"), **created)
        self.events = [CaseEvent(idx=100, kind="case.created", actor="clerk-li", body=body)]

    @property
    def case(self) -> Case:
        return fold_case(self.events)

    def move(self, to: CaseState, when: datetime, details: dict[str, Any] | None = None,
             note: str = "") -> Case:
        body = move_body(self.case, to=to, at=when, note=note,
                         details=DETAILS.get(to) if details is None else details)
        self.events.append(CaseEvent(idx=self.events[-1].idx + 1, kind="case.moved",
                                     actor="clerk-wang", body=body))
        return self.case

    def path(self, *steps: tuple[CaseState, datetime]) -> Case:
        for to, when in steps:
            self.move(to, when)
        return self.case


# ---------------------------------------------------------------- creating and folding


def test_a_walk_in_case_is_received_with_one_visit() -> None:
    case = CaseLog(materials=[ReceivedMaterial(name="身份证", originals=1, copies=1)]).case
    assert case.state is C.RECEIVED
    assert case.received_at == at("2025-09-30", "09:00")
    assert case.visits == 1
    assert case.materials == (ReceivedMaterial(name="身份证", originals=1, copies=1),)
    assert case.item == PROMISED
    assert [(h.source, h.target, h.actor) for h in case.history] == [(None, C.RECEIVED,
                                                                       "clerk-li")]
    assert (case.created_idx, case.updated_idx) == (100, 100)


def test_a_draft_becomes_received_when_it_is_received() -> None:
    log = CaseLog(draft=True, channel=Channel.ONLINE)
    assert (log.case.state, log.case.visits) == (C.DRAFT, 0)
    case = log.move(C.RECEIVED, at("2025-10-09", "14:00"))
    assert case.received_at == at("2025-10-09", "14:00")


def test_a_proxy_case_needs_the_agent_and_visits_cannot_be_negative() -> None:
    with pytest.raises(MissingField):
        CaseLog(channel=Channel.PROXY)
    assert CaseLog(channel=Channel.PROXY, agent="李代办").case.visits == 0
    with pytest.raises(InvalidInput):
        CaseLog(visits=-1)


def test_a_visit_counts_without_changing_the_state() -> None:
    log = CaseLog()
    before = log.case
    log.events.append(CaseEvent(idx=101, kind="case.visit", actor="clerk-li",
                                body=visit_body(before, at=at("2025-10-09"))))
    after = log.case
    assert after.visits == before.visits + 1
    assert (after.state, after.history, after.updated_idx) == (before.state, before.history, 101)


def test_folding_needs_the_created_entry_first() -> None:
    log = CaseLog()
    log.move(C.ACCEPTED, at("2025-09-30"))
    with pytest.raises(ValueError):
        fold_case(log.events[1:])
    with pytest.raises(ValueError):
        fold_case([])


def test_a_move_cannot_be_dated_before_the_previous_one() -> None:
    log = CaseLog()
    log.move(C.ACCEPTED, at("2025-09-30", "11:00"))
    with pytest.raises(InvalidInput) as caught:
        log.move(C.IN_PROGRESS, at("2025-09-30", "10:59"))
    assert caught.value.field == "at"


# ---------------------------------------------------------------- required details


def test_a_rejection_needs_a_reason_and_its_legal_basis() -> None:
    with pytest.raises(TransitionDetailRequired) as caught:
        CaseLog().move(C.REJECTED, at("2025-09-30"), details={})
    assert caught.value.field == "reason"
    assert caught.value.text == "变更为“不予受理”时必须填写不予受理理由"
    with pytest.raises(TransitionDetailRequired) as caught:
        CaseLog().move(C.REJECTED, at("2025-09-30"), details={"reason": "材料不符"})
    assert caught.value.field == "legal_basis"
    with pytest.raises(TransitionDetailRequired):
        CaseLog().move(C.REJECTED, at("2025-09-30"),
                       details={"reason": "  ", "legal_basis": "第三十二条"})
    case = CaseLog().move(C.REJECTED, at("2025-09-30"), details=DETAILS[C.REJECTED])
    assert case.details == DETAILS[C.REJECTED]
    assert case.closed_at == at("2025-09-30")


@pytest.mark.parametrize("missing", [None, [], ()])
def test_a_request_for_supplements_must_list_at_least_one_material(missing: object) -> None:
    with pytest.raises(TransitionDetailRequired) as caught:
        CaseLog().move(C.SUPPLEMENT, at("2025-09-30"), details={"missing": missing})
    assert caught.value.field == "missing"


def test_every_missing_material_needs_a_name() -> None:
    with pytest.raises(MissingField):
        CaseLog().move(C.SUPPLEMENT, at("2025-09-30"),
                       details={"missing": [{"name": "户口簿"}, {"name": " "}]})


def test_supplements_are_recorded_all_at_once_and_counted() -> None:
    log = CaseLog()
    case = log.move(C.SUPPLEMENT, at("2025-09-30"),
                    details={"missing": ["户口簿复印件", {"name": "照片", "reason": "不合格"}]})
    assert case.missing == (MissingMaterial(name="户口簿复印件", reason="未提交"),
                            MissingMaterial(name="照片", reason="不合格"))
    log.move(C.RECEIVED, at("2025-10-09"))
    case = log.move(C.SUPPLEMENT, at("2025-10-09", "11:00"))
    assert case.supplements == 2


@pytest.mark.parametrize("outcome", [None, "", "  "])
def test_finishing_needs_an_outcome(outcome: object) -> None:
    log = CaseLog()
    log.move(C.ACCEPTED, at("2025-09-30"))
    with pytest.raises(TransitionDetailRequired) as caught:
        log.move(C.FINISHED, at("2025-10-09"), details={"outcome": outcome})
    assert caught.value.field == "outcome"


@pytest.mark.parametrize("outcome", ["approve", "准予", "2", "OK"])
def test_finishing_with_an_unknown_outcome_is_invalid_input(outcome: str) -> None:
    log = CaseLog()
    log.move(C.ACCEPTED, at("2025-09-30"))
    with pytest.raises(InvalidInput) as caught:
        log.move(C.FINISHED, at("2025-10-09"), details={"outcome": outcome})
    assert caught.value.field == "outcome"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("APPROVED", "APPROVED"), ("准予办理（出证办结）", "APPROVED"), ("1", "DENIED"),
     (" FORWARDED ", "FORWARDED"), ("转报办结", "FORWARDED")],
)
def test_an_outcome_may_be_typed_as_name_label_or_platform_code(typed: str, stored: str) -> None:
    log = CaseLog()
    log.move(C.ACCEPTED, at("2025-09-30"))
    case = log.move(C.FINISHED, at("2025-10-09"), details={"outcome": typed})
    assert case.details is not None and case.details["outcome"] == stored
    assert Outcome(stored).platform_code in {"0", "1", "4"}


def test_empty_details_are_dropped_from_the_entry() -> None:
    log = CaseLog()
    case = log.move(C.ACCEPTED, at("2025-09-30"), details={"window": "3号窗口", "memo": "",
                                                            "x": None})
    assert case.details == {"window": "3号窗口"}


# ---------------------------------------------------------------- the machine, at random


class CaseMachine(RuleBasedStateMachine):
    """Random moves against the real decide/evolve functions."""

    @initialize(draft=st.booleans(), channel=st.sampled_from(list(Channel)))
    def create(self, draft: bool, channel: Channel) -> None:
        self.now = at("2025-09-29", "09:00")
        self.log = CaseLog(received=self.now, draft=draft, channel=channel, agent="李代办")
        self.case = self.log.case
        self.moved = 0

    @rule(to=st.sampled_from(list(CaseState)), minutes=st.integers(0, 5000))
    def move(self, to: CaseState, minutes: int) -> None:
        when = self.now + timedelta(minutes=minutes)
        before = self.case
        if to in CASE_TRANSITIONS[before.state]:
            after = self.log.move(to, when)
            self.now, self.case, self.moved = when, after, self.moved + 1
            assert after.state is to
            assert after.history[:-1] == before.history
            last = after.history[-1]
            assert (last.source, last.target, last.at) == (before.state, to, when)
        else:
            with pytest.raises(IllegalTransition) as caught:
                self.log.move(to, when)
            assert before.state.label in caught.value.text
            assert to.label in caught.value.text
            assert self.log.case == before

    @precondition(lambda self: self.case.state.is_open)
    @rule(to=st.sampled_from(sorted(DETAILS)))
    def move_without_details(self, to: CaseState) -> None:
        before = self.case
        expected = TransitionDetailRequired if to in CASE_TRANSITIONS[before.state] \
            else IllegalTransition
        with pytest.raises(expected):
            self.log.move(to, self.now, details={})
        assert self.log.case == before

    @rule()
    def visit(self) -> None:
        before = self.case
        self.log.events.append(CaseEvent(idx=self.log.events[-1].idx + 1, kind="case.visit",
                                         actor="clerk-li", body=visit_body(before, at=self.now)))
        self.case = self.log.case
        assert self.case.visits == before.visits + 1
        assert self.case.history == before.history

    @invariant()
    def history_agrees_with_the_state(self) -> None:
        case = self.case
        assert len(case.history) == 1 + self.moved
        assert case.state is case.history[-1].target
        assert case.updated_idx == self.log.events[-1].idx
        for earlier, later in zip(case.history, case.history[1:], strict=False):
            assert later.source is earlier.target
            assert later.target in CASE_TRANSITIONS[earlier.target]
            assert later.at >= earlier.at

    @invariant()
    def dates_agree_with_the_history(self) -> None:
        case = self.case
        accepted = [h.at for h in case.history if h.target is C.ACCEPTED]
        assert case.accepted_at == (accepted[-1] if accepted else None)
        assert case.closed_at == (None if case.state.is_open else case.history[-1].at)
        assert case.supplements == sum(h.target is C.SUPPLEMENT for h in case.history)


CaseMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=25,
                                         deadline=None)
TestCaseMachine = CaseMachine.TestCase


# ---------------------------------------------------------------- deadlines


def test_a_promised_item_accepted_on_30_september_2025_is_due_14_october() -> None:
    log = CaseLog(received=at("2025-09-30", "09:00"))
    case = log.move(C.ACCEPTED, at("2025-09-30", "09:30"))
    deadlines = case_deadlines(case, SEEDED)
    assert deadlines.promised is not None and deadlines.legal is not None
    assert deadlines.promised.due == date(2025, 10, 14)
    assert deadlines.legal.due == date(2025, 11, 4)
    assert deadlines.current == deadlines.promised
    assert not deadlines.estimated


def test_the_acceptance_decision_is_due_five_working_days_after_receipt() -> None:
    # 09-30, then 10-09, 10-10, 10-11 (a Saturday worked in exchange) and 10-13.
    case = CaseLog(received=at("2025-09-29", "16:00")).case
    deadlines = case_deadlines(case, SEEDED)
    assert DECISION_WORKING_DAYS == 5
    assert deadlines.decision == date(2025, 10, 13)
    assert deadlines.decision == working_days_after(date(2025, 9, 29), 5, SEEDED)[0]
    assert deadlines.current == date(2025, 10, 13)
    assert (deadlines.promised, deadlines.legal) == (None, None)


def test_no_deadline_runs_against_the_station_while_the_applicant_supplements() -> None:
    log = CaseLog(received=at("2025-09-29", "16:00"))
    case = log.move(C.SUPPLEMENT, at("2025-09-29", "16:30"))
    deadlines = case_deadlines(case, SEEDED)
    assert deadlines.current is None
    assert deadlines.decision == date(2025, 10, 13)


def test_a_running_suspension_stops_the_clock() -> None:
    log = CaseLog()
    log.path((C.ACCEPTED, at("2025-09-30")), (C.IN_PROGRESS, at("2025-10-09")),
             (C.SUSPENDED, at("2025-10-09", "15:00")))
    promised = case_deadlines(log.case, SEEDED).promised
    assert promised is not None
    assert promised.paused and promised.due is None


def test_a_suspension_extends_the_due_date_by_the_working_days_it_lasted() -> None:
    log = CaseLog()
    case = log.path((C.ACCEPTED, at("2025-09-30")), (C.IN_PROGRESS, at("2025-10-09")),
                    (C.SUSPENDED, at("2025-10-09", "15:00")),
                    (C.IN_PROGRESS, at("2025-10-13", "09:00")))
    promised = case_deadlines(case, SEEDED).promised
    assert promised is not None
    # 10-10, 10-11 (worked Saturday) and 10-13 were paused: 10-14 moves on by three.
    assert promised.paused_days == 3
    assert promised.due == date(2025, 10, 17)


@settings(max_examples=60, deadline=None)
@given(start_after=st.integers(0, 6), length=st.integers(0, 30))
def test_any_suspension_before_the_due_date_extends_it_by_its_working_days(
    start_after: int, length: int
) -> None:
    accepted = at("2025-09-30", "09:30")
    base_due = working_days_after(date(2025, 9, 30), 5, SEEDED)[0]
    start = accepted + timedelta(days=start_after)
    end = start + timedelta(days=length, hours=1)
    if start.date() >= base_due:
        return  # a suspension after the due date cannot move it
    log = CaseLog()
    case = log.path((C.ACCEPTED, accepted), (C.IN_PROGRESS, start), (C.SUSPENDED, start),
                    (C.IN_PROGRESS, end))
    paused = working_days_between(start.date(), end.date(), SEEDED)[0]
    promised = case_deadlines(case, SEEDED).promised
    assert promised is not None
    assert promised.due == working_days_after(base_due, paused, SEEDED)[0]
    assert promised.paused_days == paused


def test_time_before_acceptance_does_not_pause_the_promised_clock() -> None:
    log = CaseLog(received=at("2025-09-29", "09:00"))
    case = log.path((C.SUPPLEMENT, at("2025-09-29", "10:00")),
                    (C.RECEIVED, at("2025-09-30", "09:00")), (C.ACCEPTED, at("2025-09-30")))
    promised = case_deadlines(case, SEEDED).promised
    assert promised is not None
    assert (promised.due, promised.paused_days) == (date(2025, 10, 14), 0)


@pytest.mark.parametrize(
    ("finished", "on_time"),
    [("2025-10-14T17:59", True), ("2025-10-09T09:00", True), ("2025-10-15T08:30", False)],
)
def test_a_case_is_on_time_if_finished_by_the_promised_day(finished: str, on_time: bool) -> None:
    log = CaseLog()
    case = log.path((C.ACCEPTED, at("2025-09-30")),
                    (C.FINISHED, datetime.fromisoformat(finished).replace(tzinfo=CST)))
    assert finished_on_time(case, SEEDED) is on_time


def test_an_unfinished_or_rejected_case_is_neither_on_time_nor_late() -> None:
    log = CaseLog()
    assert finished_on_time(log.move(C.ACCEPTED, at("2025-09-30")), SEEDED) is None
    assert finished_on_time(CaseLog().move(C.REJECTED, at("2025-09-30")), SEEDED) is None


@pytest.mark.parametrize(("finished", "on_time"), [("2025-09-30", True), ("2025-10-09", False)])
def test_an_on_the_spot_item_must_be_finished_the_day_it_is_accepted(
    finished: str, on_time: bool
) -> None:
    log = CaseLog(item=IMMEDIATE)
    case = log.path((C.ACCEPTED, at("2025-09-30", "09:10")), (C.FINISHED, at(finished, "16:00")))
    promised = case_deadlines(case, SEEDED).promised
    assert promised is not None and promised.due == date(2025, 9, 30)
    assert finished_on_time(case, SEEDED) is on_time
