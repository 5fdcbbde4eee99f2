"""好差评 and the 差评整改 loop against a real station: opened with the evaluation, moved on,
appealed, listed as overdue across the National Day holiday, rebuilt from the log."""

from __future__ import annotations

from datetime import datetime

import pytest

from station_app.domain.badreview import AppealKind, AppealOutcome, Step
from station_app.domain.clock import CST
from station_app.domain.evaluations import Channel, Level
from station_app.domain.people import PersonDetails
from station_app.domain.states import CaseState
from station_app.errors import (
    BadReviewNotFound,
    IllegalTransition,
    InvalidInput,
    MissingField,
    RuleViolation,
    StationError,
    TransitionDetailRequired,
)
from station_app.services.badreview import (
    appeal_review,
    count_overdue,
    decide_appeal,
    get_review,
    list_reviews,
    move_review,
    review_settings,
    set_review_settings,
)
from station_app.services.cases import CaseRequest, add_case, move_case
from station_app.services.clock import ManualClock
from station_app.services.evaluations import evaluations, record_evaluation
from station_app.services.station import Station
from tests.services.test_rebuild import projection_dump


def finished(station: Station, person: PersonDetails) -> str:
    case_no = add_case(station, CaseRequest(item="LOCAL-WJ-001", applicant=person)).case_no
    move_case(station, case_no, CaseState.ACCEPTED)
    move_case(station, case_no, CaseState.FINISHED, details={"outcome": "APPROVED"})
    return case_no


def rate_bad(station: Station, case_no: str, **extra: object) -> None:
    record_evaluation(station, case_no, Level.DISSATISFIED, Channel.PHONE,
                      reasons=("服务态度差",), comment="窗口人员态度生硬", **extra)  # type: ignore[arg-type]


def at(day: str, clock: str = "09:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}:00+08:00")


def test_a_bad_rating_opens_the_loop_in_the_same_transaction(station: Station,
                                                             applicant: PersonDetails):
    case_no = finished(station, applicant)
    before = station.ledger.size()
    rate_bad(station, case_no)
    kinds = [e.kind for e in station.entries(before)]
    assert kinds == ["evaluation.recorded", "badreview.opened"]
    opened = list(station.entries(before))[1]
    assert opened.body["evaluation_idx"] == before
    assert opened.body["settings"]["rectify_wd"] == 5
    review = get_review(station, case_no)
    assert (review.review_no, review.step) == (f"{case_no}-P1", Step.VERIFY)
    assert review.owner  # 谁办理谁负责: whoever finished the case
    rated = evaluations(station, case_no)[0]
    assert rated.reasons == ("服务态度差",) and rated.comment == "窗口人员态度生硬"
    assert rated.channel is Channel.PHONE


def test_a_good_rating_opens_nothing_and_a_bad_followup_joins_the_open_loop(
    station: Station, applicant: PersonDetails
):
    case_no = finished(station, applicant)
    record_evaluation(station, case_no, Level.SATISFIED, Channel.QR)
    assert list_reviews(station, at("2025-09-29"), include_closed=True) == []
    rate_bad(station, case_no, followup=True)
    size = station.ledger.size()
    rate_bad(station, case_no, followup=True)  # a third rating while the loop runs
    assert [e.kind for e in station.entries(size)] == ["evaluation.recorded"]
    assert [r.review_no for r in list_reviews(station, at("2025-09-29"))] == [f"{case_no}-P2"]


def test_the_whole_loop_and_its_overdue_list_across_the_holiday(
    station: Station, applicant: PersonDetails, clock: ManualClock
):
    clock.set(at("2025-09-30", "10:00"))
    case_no = finished(station, applicant)
    rate_bad(station, case_no)
    assert list_reviews(station, at("2025-09-30"))[0].due == "2025-10-09"
    assert count_overdue(station, at("2025-10-08", "18:00")) == 0
    assert count_overdue(station, at("2025-10-10", "08:30")) == 1
    assert [r.overdue for r in list_reviews(station, at("2025-10-10"), overdue_only=True)] == [True]

    clock.set(at("2025-10-10", "10:00"))
    review = move_review(station, case_no, Step.RECTIFY, note="已回访核实，情况属实",
                         owner="李主任")
    assert review.owner == "李主任"
    row = list_reviews(station, clock.now())[0]
    # 5 working days from Oct 10: 11 (working Saturday), 13, 14, 15, 16
    assert (row.step, row.due, row.overdue) == (Step.RECTIFY, "2025-10-16", False)
    move_review(station, case_no, Step.FEEDBACK, note="已对窗口人员批评教育并整改")
    move_review(station, case_no, Step.REVISIT, note="已电话告知申请人整改结果")
    closed = move_review(station, case_no, Step.CLOSED, note="回访满意")
    assert not closed.is_open and [h.step for h in closed.history][-1] is Step.CLOSED
    assert list_reviews(station, clock.now()) == []
    assert len(list_reviews(station, clock.now(), include_closed=True)) == 1


def test_an_appeal_and_the_countys_decision(station: Station, applicant: PersonDetails):
    case_no = finished(station, applicant)
    rate_bad(station, case_no)
    appeal_review(station, case_no, AppealKind.MISRATED, "申请人表示误点")
    row = list_reviews(station, at("2025-12-01"))[0]
    assert (row.appeal, row.due, row.overdue) == ("PENDING", None, False)
    assert row.status_label == "核实（申诉复核中）"
    done = decide_appeal(station, case_no, AppealOutcome.OVERTURNED, "经复核属误评")
    assert done.overturned and not done.is_open
    assert list_reviews(station, at("2025-12-01")) == []


BAD_INPUT = [
    ("unfinished", RuleViolation, "尚未办结"),
    ("second_first", RuleViolation, "已经有首次评价"),
    ("no_reason", MissingField, "差评的原因或文字说明"),
    ("unknown_reason", InvalidInput, "不在可选项中"),
    ("other_without_text", MissingField, "“其他”原因的文字说明"),
    ("out_of_order", IllegalTransition, "不能变更为“回访”"),
    ("no_note", TransitionDetailRequired, "必须填写核实情况"),
    ("no_appeal_reason", MissingField, "申诉理由"),
    ("decide_without_appeal", RuleViolation, "没有待复核的申诉"),
    ("unknown_review", BadReviewNotFound, "差评整改记录"),
    ("bad_setting", InvalidInput, "应为 1–15 个工作日"),
]


@pytest.mark.parametrize(("case", "error", "text"), BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_is_refused_and_nothing_is_written(
    station: Station, applicant: PersonDetails, case: str, error: type[StationError], text: str
):
    done = finished(station, applicant)
    record_evaluation(station, done, Level.VERY_DISSATISFIED, Channel.WINDOW_DEVICE,
                      comment="等了一上午")
    open_case = add_case(station, CaseRequest(item="LOCAL-WJ-001", applicant=applicant)).case_no
    attempts = {
        "unfinished": lambda: record_evaluation(station, open_case, Level.SATISFIED,
                                                Channel.QR),
        "second_first": lambda: record_evaluation(station, done, Level.SATISFIED, Channel.QR),
        "no_reason": lambda: record_evaluation(station, done, Level.DISSATISFIED, Channel.QR,
                                               followup=True),
        "unknown_reason": lambda: record_evaluation(station, done, Level.DISSATISFIED,
                                                    Channel.QR, reasons=("太慢",),
                                                    followup=True),
        "other_without_text": lambda: record_evaluation(station, done, Level.DISSATISFIED,
                                                        Channel.QR, reasons=("其他",),
                                                        followup=True),
        "out_of_order": lambda: move_review(station, done, Step.REVISIT, note="x"),
        "no_note": lambda: move_review(station, done, Step.RECTIFY, note=""),
        "no_appeal_reason": lambda: appeal_review(station, done, AppealKind.MALICIOUS, " "),
        "decide_without_appeal": lambda: decide_appeal(station, done, AppealOutcome.UPHELD),
        "unknown_review": lambda: move_review(station, "330199101000-20250929-0099",
                                              Step.RECTIFY, note="x"),
        "bad_setting": lambda: set_review_settings(station, {"revisit_wd": 30}),
    }
    before, tables = station.ledger.size(), projection_dump(station)
    with pytest.raises(error) as refused:
        attempts[case]()
    assert text in refused.value.text
    assert station.ledger.size() == before
    assert projection_dump(station) == tables


def test_settings_are_log_entries_and_apply_to_reviews_opened_later(
    station: Station, applicant: PersonDetails
):
    early = finished(station, applicant)
    rate_bad(station, early)
    size = station.ledger.size()
    set_review_settings(station, {"verify_wd": 3, "reasons": ["服务态度差", "态度冷淡", "其他"]},
                        reason="县政务服务办通知")
    assert review_settings(station).verify_wd == 3
    [entry] = station.entries(size)
    assert entry.kind == "badreview.settings_set" and entry.body["reason"] == "县政务服务办通知"
    late = finished(station, applicant)
    record_evaluation(station, late, Level.DISSATISFIED, Channel.SMS, reasons=("态度冷淡",))
    now = datetime(2025, 9, 29, 9, 0, tzinfo=CST)
    dues = {r.subject: r.due for r in list_reviews(station, now)}
    assert dues == {early: "2025-09-30", late: "2025-10-10"}  # Sep 30, Oct 9, Oct 10


def test_rebuilding_from_the_log_gives_the_same_tables(station: Station,
                                                       applicant: PersonDetails):
    a, b, c = (finished(station, applicant) for _ in range(3))
    rate_bad(station, a)
    rate_bad(station, b)
    record_evaluation(station, c, Level.VERY_SATISFIED, Channel.KIOSK)
    set_review_settings(station, {"rectify_wd": 10})
    move_review(station, a, Step.RECTIFY, note="属实")
    appeal_review(station, b, AppealKind.MALICIOUS, "恶意")
    decide_appeal(station, b, AppealOutcome.UPHELD, "维持")
    before = projection_dump(station)
    assert len(before["bad_review"]) == 2 and len(before["bad_review_events"]) == 5
    station.rebuild()
    assert projection_dump(station) == before
