"""整改通知 rules: results, working-day deadlines on the holiday calendar, the station's
answers and the county's oversight of its notices against a station's log."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from station_app.domain.audit.findings import FindingCode, Severity
from station_app.domain.audit.rectification import (
    DISPUTED,
    DONE,
    RECEIVED,
    ItemResult,
    Notice,
    NoticeState,
    Source,
    answer_body,
    apply_answer,
    inspection_results,
    notice_from_payload,
    notice_oversight,
    received_body,
    received_from_entry,
    rectification_deadline,
    spotcheck_results,
)
from station_app.domain.audit.spotcheck import ChecklistAnswer
from station_app.domain.calendar import HolidayCalendar, working_days_between
from station_app.errors import InvalidDate, InvalidInput, MissingField, RuleViolation
from station_app.services.calendar_seed import chinese_calendar_years
from tests.domain.audit.logbook import StationLog, at

SEEDED = HolidayCalendar.from_years(chinese_calendar_years())
STATION = "330199101201"


def notice(number: str = "ZG20250929001", *, deadline: date | None = date(2025, 10, 20),
           ok: bool = False, source: Source = Source.INSPECTION,
           subject: str = "2025-09-29") -> Notice:
    return Notice(notice=number, station=STATION, source=source, subject=subject,
                  day=date(2025, 9, 29),
                  results=(ItemResult(item="有场所", label="有场所", ok=True),
                           ItemResult(item="有牌子", label="有牌子", ok=ok, note="褪色")),
                  deadline=None if ok else deadline, note="", inspector="李明",
                  issued="2025-09-29T10:00:00.000+08:00")


# ------------------------------------------------------------------------ deadlines


def test_the_deadline_skips_the_national_day_week_and_counts_its_make_up_saturday():
    # Monday 09-29 + 10 working days: 09-30, (10-01 … 10-08 off), 10-09, 10-10,
    # Saturday 10-11 (调休 working day), 10-13 … 10-17, 10-20
    assert rectification_deadline(date(2025, 9, 29), 10, SEEDED) == (date(2025, 10, 20), False)
    # the weekend rule alone (a county that published no calendar) says 10-13, an estimate
    assert rectification_deadline(date(2025, 9, 29), 10, HolidayCalendar.empty()) == \
        (date(2025, 10, 13), True)
    # the issue day itself is never counted, even when it is a working day
    assert rectification_deadline(date(2025, 9, 30), 1, SEEDED) == (date(2025, 10, 9), False)


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2026, 6, 30)),
       st.integers(min_value=1, max_value=60))
def test_a_deadline_is_a_working_day_exactly_n_working_days_after_the_issue_day(day, n):
    due, _ = rectification_deadline(day, n, SEEDED)
    assert SEEDED.is_workday(due)
    assert working_days_between(day, due, SEEDED)[0] == n


# -------------------------------------------------------------------------- results


def test_inspection_items_by_name_or_code_in_the_items_order():
    results = inspection_results({"SIGN": "fail", "有场所": "合格"}, {"有牌子": "褪色"})
    assert [(r.item, r.ok, r.note) for r in results] == [("有场所", True, ""),
                                                        ("有牌子", False, "褪色")]


@pytest.mark.parametrize(("items", "notes", "error"), [
    ({}, None, MissingField),
    ({"有门面": "ok"}, None, InvalidInput),
    ({"有牌子": "maybe"}, None, InvalidInput),
    ({"有牌子": "ok", "SIGN": "fail"}, None, InvalidInput),
    ({"有牌子": "ok"}, {"有场所": "没查"}, InvalidInput),
    ({"有牌子": "fail"}, {"有牌子": "x" * 501}, InvalidInput),
])
def test_bad_inspection_input_is_refused(items, notes, error):
    with pytest.raises(error):
        inspection_results(items, notes)


PREFILLED = (
    ChecklistAnswer(code="materials_archived", label="申请材料已归档", system=None,
                    detail="系统登记收取材料 1 项：居民身份证"),
    ChecklistAnswer(code="documents_printed", label="文书已出具", system=False,
                    detail="未打印：收件回执"),
    ChecklistAnswer(code="deadlines_met", label="办理时限符合", system=True, detail="期限内"),
    ChecklistAnswer(code="evaluation_present", label="好差评已评价", system=None,
                    detail="办件已受理，尚不需评价"),
)


def test_a_spot_check_takes_the_records_answers_unless_the_auditor_overrides_them():
    results = spotcheck_results(PREFILLED, {"materials_archived": "ok",
                                            "documents_printed": "ok"},
                                {"documents_printed": "纸质回执在卷"})
    assert [(r.item, r.ok) for r in results] == [
        ("materials_archived", True), ("documents_printed", True), ("deadlines_met", True),
        ("evaluation_present", True)]
    assert results[1].note == "纸质回执在卷" and results[2].note == "期限内"
    with pytest.raises(MissingField):
        spotcheck_results(PREFILLED, {})
    with pytest.raises(InvalidInput):
        spotcheck_results(PREFILLED, {"materials_archived": "ok", "photos": "ok"})


# ------------------------------------------------------------------------- the station


def test_a_payload_round_trips_and_a_bad_one_is_refused():
    n = notice()
    assert notice_from_payload(n.payload(), STATION) == n
    for broken in ({**n.payload(), "notice": "X1"}, {**n.payload(), "deadline": ""},
                   {**n.payload(), "results": []}, {**n.payload(), "results": [{"ok": 1}]},
                   {k: v for k, v in n.payload().items() if k != "day"}):
        with pytest.raises(InvalidInput):
            notice_from_payload(broken, STATION)
    with pytest.raises(InvalidDate):
        notice_from_payload({**n.payload(), "deadline": "2025-02-30"}, STATION)


def test_the_station_answers_an_open_notice_once():
    received = received_from_entry(received_body(notice(), {"from": "county/330199"}), 7,
                                   STATION, "2025-09-30T09:00:00+08:00")
    assert received.state is NoticeState.OPEN
    assert received.overdue(date(2025, 10, 21)) and not received.overdue(date(2025, 10, 20))
    with pytest.raises(MissingField):
        answer_body(received, kind=DONE, note=" ", by="李站长")
    body = answer_body(received, kind=DONE, note="已更换", by="李站长", photos=["a", "a"])
    assert body == {"notice": "ZG20250929001", "note": "已更换", "by": "李站长", "photos": ["a"]}
    done = apply_answer(received, DONE, body, 9, "2025-10-10T09:00:00+08:00")
    assert done.state is NoticeState.DONE and not done.overdue(date(2025, 12, 1))
    with pytest.raises(RuleViolation):
        answer_body(done, kind=DISPUTED, note="不同意", by="李站长")
    info = received_from_entry(received_body(notice(ok=True), {}), 8, STATION, "")
    assert info.state is NoticeState.INFO
    with pytest.raises(RuleViolation):
        answer_body(info, kind=DONE, note="无", by="李站长")


# ------------------------------------------------------------------------- the county


def test_the_county_sees_undelivered_overdue_disputed_and_closed_notices():
    log = StationLog(at("2025-09-29"))
    sent = [notice("ZG20250929001"), notice("ZG20250929002"), notice("ZG20250929003"),
            notice("ZG20250929004", ok=True),
            notice("ZG20250929005", source=Source.SPOTCHECK,
                   subject="2025-09/330199101201-2025-00001")]
    for n in sent[:4]:
        log.append(RECEIVED, received_body(n, {"from": "county/330199"}), actor="relay")
    log.append(DONE, {"notice": "ZG20250929001", "note": "已整改", "by": "李站长",
                      "photos": []})
    log.append(DISPUTED, {"notice": "ZG20250929002", "note": "不同意", "by": "李站长"})

    before = notice_oversight(STATION, sent, log.decoded(), now=at("2025-10-20", "17:00"))
    assert [s.state for s in before.statuses] == ["closed", "disputed", "open", "info", "open"]
    assert {f.code for f in before.findings} == {FindingCode.RECTIFICATION_DISPUTED,
                                                 FindingCode.RECTIFICATION_UNDELIVERED}
    undelivered = next(f for f in before.findings
                       if f.code is FindingCode.RECTIFICATION_UNDELIVERED)
    assert undelivered.numbers == ("330199101201-2025-00001",)

    after = notice_oversight(STATION, sent, log.decoded(), now=at("2025-10-21"))
    overdue = [f for f in after.findings if f.code is FindingCode.RECTIFICATION_OVERDUE]
    assert [f.evidence["notice"] for f in overdue] == ["ZG20250929003", "ZG20250929005"]
    assert all(f.severity is Severity.AMBER for f in after.findings)
    summary = after.to_dict()
    assert (summary["closed"], summary["disputed"], summary["overdue"], summary["info"],
            summary["undelivered"]) == (1, 1, 2, 1, 1)
