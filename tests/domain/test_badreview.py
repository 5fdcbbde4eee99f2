"""差评整改: the loop's state machine, its working-day deadlines and its settings (pure)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station_app.domain import badreview as br
from station_app.domain.badreview import (
    AppealKind,
    AppealOutcome,
    BadReview,
    Settings,
    Step,
    check_reasons,
    check_settings,
)
from station_app.domain.calendar import HolidayCalendar
from station_app.domain.clock import CST
from station_app.errors import (
    IllegalTransition,
    InvalidInput,
    MissingField,
    RuleViolation,
    StationError,
    TransitionDetailRequired,
)
from station_app.services.calendar_seed import chinese_calendar_years

SEEDED = HolidayCalendar.from_years(chinese_calendar_years())
CASE = "330199101000-20250926-0001"


def at(day: str, clock: str = "10:00") -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), CST)


DEFAULTS = Settings()


def opened(day: str = "2025-09-29", limits: Settings = DEFAULTS) -> BadReview:
    body = br.opened_body(subject=CASE, subject_kind="case", level="DISSATISFIED",
                          assess_number=1, evaluation_idx=40, owner="王晓梅", at=at(day),
                          settings=limits)
    return br.apply(None, br.OPENED, body, "clerk")


def step(review: BadReview, to: Step, day: str, note: str = "已处理", owner: str = ""
         ) -> BadReview:
    body = br.step_body(review, to, note=note, owner=owner, at=at(day))
    return br.apply(review, br.STEP, body, "clerk")


def due(review: BadReview) -> date | None:
    d = br.due(review, SEEDED)
    return None if d is None else d.day


# ------------------------------------------------------------------ the happy path


def test_a_review_walks_the_five_steps_in_order():
    review = opened()
    assert (review.step, review.owner, review.review_no) == (Step.VERIFY, "王晓梅", CASE + "-P1")
    for to in (Step.RECTIFY, Step.FEEDBACK, Step.REVISIT, Step.CLOSED):
        review = step(review, to, "2025-09-30", note=f"{to.label}前的情况")
    assert not review.is_open and due(review) is None
    assert [h.step for h in review.history] == [Step.RECTIFY, Step.FEEDBACK, Step.REVISIT,
                                                Step.CLOSED]
    assert review.status_label == "已办结"


def test_the_owner_carries_over_unless_a_new_one_is_named():
    review = step(opened(), Step.RECTIFY, "2025-09-30", owner="李主任")
    review = step(review, Step.FEEDBACK, "2025-09-30")
    assert review.owner == "李主任" and review.history[-1].owner == "李主任"


# ------------------------------------------------------------------ deadlines


def test_verify_deadline_before_the_holiday():
    assert due(opened("2025-09-29")) == date(2025, 9, 30)


def test_verify_deadline_jumps_the_national_day_holiday():
    review = opened("2025-09-30")
    assert due(review) == date(2025, 10, 9)  # Oct 1–8 off
    assert not br.is_overdue(review, SEEDED, at("2025-10-05"))
    assert not br.is_overdue(review, SEEDED, at("2025-10-09", "23:59"))
    assert br.is_overdue(review, SEEDED, at("2025-10-10", "08:00"))


def test_a_friday_review_is_due_on_the_working_sunday():
    assert due(opened("2025-09-26")) == date(2025, 9, 28)  # 调休上班


def test_rectify_and_feedback_share_one_clock_across_the_holiday():
    review = step(opened("2025-09-29"), Step.RECTIFY, "2025-09-30")
    # Oct 9, 10, 11 (working Saturday), 13, 14
    assert due(review) == date(2025, 10, 14)
    review = step(review, Step.FEEDBACK, "2025-10-10")
    assert due(review) == date(2025, 10, 14)
    review = step(review, Step.REVISIT, "2025-10-10")
    assert due(review) == date(2025, 10, 16)  # Oct 11, 13, 14, 15, 16


def test_the_limits_written_at_opening_hold_for_the_whole_review():
    review = opened("2025-09-29", Settings(verify_wd=2, rectify_wd=10, revisit_wd=3))
    assert due(review) == date(2025, 10, 9)  # Sep 30, Oct 9
    review = step(review, Step.RECTIFY, "2025-10-09")
    assert due(review) == date(2025, 10, 22)


def test_an_unknown_year_gives_an_estimate():
    review = opened("2026-12-30")
    d = br.due(review, SEEDED)
    assert d is not None and d.day == date(2026, 12, 31) and not d.estimated
    late = step(review, Step.RECTIFY, "2026-12-31")
    d = br.due(late, SEEDED)
    assert d is not None and d.day == date(2027, 1, 7) and d.estimated


# ------------------------------------------------------------------ appeals


def test_an_appeal_stops_the_clock_and_an_upheld_review_restarts_it():
    review = opened("2025-09-29")
    body = br.appeal_body(review, AppealKind.MISRATED, "评价人误点了不满意",
                          at("2025-09-29", "11:00"))
    review = br.apply(review, br.APPEALED, body, "clerk")
    assert review.appeal_pending and due(review) is None
    assert not br.is_overdue(review, SEEDED, at("2025-12-01"))
    with pytest.raises(RuleViolation, match="申诉复核"):
        step(review, Step.RECTIFY, "2025-09-30")
    decided = br.decision_body(review, AppealOutcome.UPHELD, "证据不足", at("2025-10-09"))
    review = br.apply(review, br.DECIDED, decided, "admin")
    assert review.step is Step.VERIFY and due(review) == date(2025, 10, 10)
    assert review.appeal is not None and review.appeal.outcome is AppealOutcome.UPHELD
    with pytest.raises(RuleViolation, match="已经申诉过"):
        br.appeal_body(review, AppealKind.MALICIOUS, "再申诉", at("2025-10-09"))


def test_an_overturned_review_is_closed():
    review = step(opened(), Step.RECTIFY, "2025-09-30")
    review = br.apply(review, br.APPEALED, br.appeal_body(
        review, AppealKind.MALICIOUS, "同一人多次恶意差评", at("2025-09-30")), "clerk")
    review = br.apply(review, br.DECIDED, br.decision_body(
        review, AppealOutcome.OVERTURNED, "", at("2025-10-09")), "admin")
    assert not review.is_open and review.overturned
    assert review.status_label == "已办结（差评撤销）"
    with pytest.raises(IllegalTransition):
        step(review, Step.FEEDBACK, "2025-10-09")


# ------------------------------------------------------------------ refusals


def test_a_step_out_of_order_is_refused_with_the_current_step_named():
    with pytest.raises(IllegalTransition) as refused:
        step(opened(), Step.FEEDBACK, "2025-09-30")
    assert refused.value.text == f"差评整改“{CASE}-P1”当前为“核实”，不能变更为“反馈”"
    with pytest.raises(IllegalTransition):
        step(opened(), Step.VERIFY, "2025-09-30")


def test_a_step_needs_a_note():
    with pytest.raises(TransitionDetailRequired) as refused:
        step(opened(), Step.RECTIFY, "2025-09-30", note="  ")
    assert refused.value.text == "变更为“整改”时必须填写核实情况"


def test_an_appeal_needs_a_reason_and_a_decision_needs_an_appeal():
    with pytest.raises(MissingField):
        br.appeal_body(opened(), AppealKind.MISRATED, "", at("2025-09-30"))
    with pytest.raises(RuleViolation, match="没有待复核的申诉"):
        br.decision_body(opened(), AppealOutcome.UPHELD, "", at("2025-09-30"))


def test_parsers_take_labels_and_codes():
    assert br.parse_step("整改") is Step.RECTIFY and br.parse_step("revisit") is Step.REVISIT
    assert br.parse_appeal_kind("恶意差评") is AppealKind.MALICIOUS
    assert br.parse_outcome("overturned") is AppealOutcome.OVERTURNED
    assert br.parse_outcome("维持差评") is AppealOutcome.UPHELD
    with pytest.raises(InvalidInput, match="整改、反馈、回访、办结"):
        br.parse_step("完成")


# ------------------------------------------------------------------ settings


def test_settings_are_checked_and_default_to_cn_standards():
    assert Settings().to_body()["verify_wd"] == 1 and Settings().rectify_wd == 5
    changed = check_settings({"rectify_wd": "15", "reasons": ["服务态度差", " 其他 ", "其他"]})
    assert changed.rectify_wd == 15 and changed.reasons == ("服务态度差", "其他")
    assert changed.verify_wd == 1
    for bad in ({"rectify_wd": 16}, {"verify_wd": 0}, {"revisit_wd": "五"}, {"reasons": []},
                {"other": 1}):
        with pytest.raises(InvalidInput):
            check_settings(bad)


def test_reasons_must_be_among_the_options():
    assert check_reasons(["服务态度差", "服务态度差", " "], Settings()) == ["服务态度差"]
    with pytest.raises(InvalidInput, match="不在可选项中"):
        check_reasons(["太慢了"], Settings())


# ------------------------------------------------------------------ the property

ACTIONS = st.lists(st.tuples(
    st.sampled_from(["step", "appeal", "decide"]), st.sampled_from(list(Step)),
    st.sampled_from(list(AppealKind)), st.sampled_from(list(AppealOutcome)),
    st.integers(0, 4), st.booleans()), max_size=14)


@settings(max_examples=300, deadline=None)
@given(ACTIONS)
def test_any_sequence_of_moves_keeps_the_invariants(actions):
    review = opened("2025-09-24")
    day = date(2025, 9, 24)
    for action, to, kind, outcome, days_later, with_note in actions:
        day += timedelta(days=days_later)
        moment = datetime.combine(day, time(10), CST)
        before = review
        try:
            if action == "step":
                body = br.step_body(review, to, note="说明" if with_note else "", owner="",
                                    at=moment)
                review = br.apply(review, br.STEP, body, "clerk")
            elif action == "appeal":
                body = br.appeal_body(review, kind, "误点" if with_note else "", moment)
                review = br.apply(review, br.APPEALED, body, "clerk")
            else:
                body = br.decision_body(review, outcome, "", moment)
                review = br.apply(review, br.DECIDED, body, "admin")
        except StationError:
            assert review is before  # a refused move changes nothing
            # …and was refused for a reason the rules give
            allowed = (action == "step" and before.is_open and not before.appeal_pending
                       and to is before.step.next and with_note) \
                or (action == "appeal" and before.is_open and before.appeal is None
                    and with_note) \
                or (action == "decide" and before.appeal_pending)
            assert not allowed
            continue
        # accepted: exactly what the rules allow
        if action == "step":
            assert to is before.step.next and review.step is to
            assert ORDER_INDEX[review.step] == ORDER_INDEX[before.step] + 1
        assert ORDER_INDEX[review.step] >= ORDER_INDEX[before.step]
        assert len(review.history) == ORDER_INDEX[review.step] or review.overturned
        assert (br.due(review, SEEDED) is None) == (not review.is_open or review.appeal_pending)
        d = br.due(review, SEEDED)
        assert d is None or d.day > review.clock_start
        assert [h.step for h in review.history] == list(br.ORDER[1:len(review.history) + 1])
        if before.appeal is not None:
            assert review.appeal is not None and review.appeal.kind is before.appeal.kind
    if not review.is_open:
        with pytest.raises(StationError):
            br.step_body(review, Step.CLOSED, note="x", owner="", at=datetime.now(CST))


ORDER_INDEX = {s: i for i, s in enumerate(br.ORDER)}
