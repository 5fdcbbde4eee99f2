"""The two state machines as tables: 办件 (cases) and 代办记录 (proxy entries)."""

from __future__ import annotations

import itertools

import pytest

from station_app.domain.states import (
    CASE_TERMINAL,
    CASE_TRANSITIONS,
    PROXY_TERMINAL,
    PROXY_TRANSITIONS,
    CaseState,
    ProxyState,
    check_case_move,
    check_proxy_move,
    parse_case_state,
    parse_proxy_state,
)
from station_app.errors import IllegalTransition, InvalidInput, RuleViolation

C = CaseState
P = ProxyState

# The rules as the README states them, written out independently of the module.
EXPECTED_CASE_MOVES = {
    C.DRAFT: {C.RECEIVED, C.VOID},
    C.RECEIVED: {C.SUPPLEMENT, C.ACCEPTED, C.REJECTED, C.WITHDRAWN, C.VOID},
    C.SUPPLEMENT: {C.RECEIVED, C.ACCEPTED, C.REJECTED, C.WITHDRAWN, C.VOID},
    C.ACCEPTED: {C.IN_PROGRESS, C.FINISHED, C.WITHDRAWN, C.VOID},
    C.IN_PROGRESS: {C.SUSPENDED, C.FINISHED, C.WITHDRAWN, C.VOID},
    C.SUSPENDED: {C.IN_PROGRESS, C.WITHDRAWN, C.VOID},
    C.REJECTED: set(),
    C.FINISHED: set(),
    C.WITHDRAWN: set(),
    C.VOID: set(),
}
EXPECTED_PROXY_MOVES = {
    P.REGISTERED: {P.SUBMITTED, P.SUSPENDED, P.TERMINATED},
    P.SUBMITTED: {P.IN_PROGRESS, P.RESULT_RECEIVED, P.SUSPENDED, P.TERMINATED},
    P.IN_PROGRESS: {P.RESULT_RECEIVED, P.SUSPENDED, P.TERMINATED},
    P.RESULT_RECEIVED: {P.DELIVERED},
    P.SUSPENDED: {P.REGISTERED, P.SUBMITTED, P.IN_PROGRESS, P.TERMINATED},
    P.DELIVERED: set(),
    P.TERMINATED: set(),
}


# ---------------------------------------------------------------- the tables


def test_every_case_state_allows_exactly_the_listed_moves() -> None:
    assert set(CASE_TRANSITIONS) == set(CaseState)
    assert {s: set(t) for s, t in CASE_TRANSITIONS.items()} == EXPECTED_CASE_MOVES


def test_every_proxy_state_allows_exactly_the_listed_moves() -> None:
    assert set(PROXY_TRANSITIONS) == set(ProxyState)
    assert {s: set(t) for s, t in PROXY_TRANSITIONS.items()} == EXPECTED_PROXY_MOVES


def test_terminal_states_are_the_ones_with_no_way_out() -> None:
    assert CASE_TERMINAL == {C.REJECTED, C.FINISHED, C.WITHDRAWN, C.VOID}
    assert PROXY_TERMINAL == {P.DELIVERED, P.TERMINATED}
    assert [s for s in CaseState if not s.is_open] == sorted(CASE_TERMINAL, key=list(C).index)
    assert all(s.is_open == bool(CASE_TRANSITIONS[s]) for s in CaseState)
    assert all(s.is_open == bool(PROXY_TRANSITIONS[s]) for s in ProxyState)


def test_no_state_moves_to_itself() -> None:
    assert all(s not in CASE_TRANSITIONS[s] for s in CaseState)
    assert all(s not in PROXY_TRANSITIONS[s] for s in ProxyState)


def test_every_open_case_can_be_voided_or_closed() -> None:
    for state in CaseState:
        if state.is_open:
            assert CaseState.VOID in CASE_TRANSITIONS[state]


def test_every_state_has_a_chinese_label() -> None:
    assert C.ACCEPTED.label == "已受理"
    assert C.SUSPENDED.label == "特别程序（暂停计时）"
    assert P.RESULT_RECEIVED.label == "结果已回"
    labels = [s.label for s in CaseState] + [s.label for s in ProxyState]
    assert all(label and not label.isascii() for label in labels)
    assert len({s.label for s in CaseState}) == len(CaseState)
    assert len({s.label for s in ProxyState}) == len(ProxyState)


# ---------------------------------------------------------------- checking a move


@pytest.mark.parametrize(("current", "target"), list(itertools.product(CaseState, CaseState)))
def test_a_case_move_is_allowed_exactly_when_the_table_lists_it(
    current: CaseState, target: CaseState
) -> None:
    if target in EXPECTED_CASE_MOVES[current]:
        check_case_move("330110001001-20250930-0007", current, target)
    else:
        with pytest.raises(IllegalTransition):
            check_case_move("330110001001-20250930-0007", current, target)


def test_an_illegal_case_move_names_the_case_and_both_states_in_chinese() -> None:
    with pytest.raises(IllegalTransition) as caught:
        check_case_move("330110001001-20250930-0007", C.FINISHED, C.IN_PROGRESS)
    err = caught.value
    assert err.text == "办件“330110001001-20250930-0007”当前为“已办结”，不能变更为“办理中”"
    assert str(err) == err.text
    assert "FINISHED" in err.text_en and "IN_PROGRESS" in err.text_en
    assert err.code == "TRANSITION_ILLEGAL"
    assert isinstance(err, RuleViolation)


@pytest.mark.parametrize(
    ("current", "target"),
    [(s, t) for s in ProxyState for t in ProxyState if s is not P.SUSPENDED],
)
def test_a_proxy_move_outside_suspension_follows_the_table(
    current: ProxyState, target: ProxyState
) -> None:
    if target in EXPECTED_PROXY_MOVES[current]:
        check_proxy_move("330110001001-DB2025-00042", current, target)
    else:
        with pytest.raises(IllegalTransition):
            check_proxy_move("330110001001-DB2025-00042", current, target)


@pytest.mark.parametrize("left", [P.REGISTERED, P.SUBMITTED, P.IN_PROGRESS])
@pytest.mark.parametrize("target", list(ProxyState))
def test_a_suspended_proxy_entry_resumes_only_to_the_state_it_left_or_ends(
    left: ProxyState, target: ProxyState
) -> None:
    if target in (left, P.TERMINATED):
        check_proxy_move("330110001001-DB2025-00042", P.SUSPENDED, target, left)
    else:
        with pytest.raises(IllegalTransition):
            check_proxy_move("330110001001-DB2025-00042", P.SUSPENDED, target, left)


def test_a_suspended_proxy_entry_with_no_known_origin_can_only_be_terminated() -> None:
    check_proxy_move("330110001001-DB2025-00042", P.SUSPENDED, P.TERMINATED)
    for target in (P.REGISTERED, P.SUBMITTED, P.IN_PROGRESS):
        with pytest.raises(IllegalTransition):
            check_proxy_move("330110001001-DB2025-00042", P.SUSPENDED, target)


def test_an_illegal_proxy_move_names_the_entry_and_both_states_in_chinese() -> None:
    with pytest.raises(IllegalTransition) as caught:
        check_proxy_move("330110001001-DB2025-00042", P.SUSPENDED, P.IN_PROGRESS, P.SUBMITTED)
    assert caught.value.text == ("代办记录“330110001001-DB2025-00042”当前为“中止”，"
                                 "不能变更为“办理中”")


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize("state", list(CaseState))
def test_a_case_state_is_read_from_its_name_or_its_label(state: CaseState) -> None:
    assert parse_case_state(state.value) is state
    assert parse_case_state(state.value.lower()) is state
    assert parse_case_state(f"  {state.label} ") is state


@pytest.mark.parametrize("state", list(ProxyState))
def test_a_proxy_state_is_read_from_its_name_or_its_label(state: ProxyState) -> None:
    assert parse_proxy_state(state.value) is state
    assert parse_proxy_state(state.label) is state


@pytest.mark.parametrize("text", ["", "DONE", "办结", None])
def test_an_unknown_state_is_refused_with_the_choices(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_case_state(text)
    assert "FINISHED（已办结）" in caught.value.text
    assert "办件状态" in caught.value.text
    with pytest.raises(InvalidInput):
        parse_proxy_state(text)
