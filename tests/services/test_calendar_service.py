"""The holiday table lives in the log; deadlines follow it when it changes."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

from station_app.domain.calendar import DayKind
from station_app.domain.clock import CST
from station_app.domain.people import PersonDetails
from station_app.domain.states import CaseState
from station_app.errors import CalendarFileInvalid, InvalidInput, MissingField
from station_app.services.calendar import (
    current_calendar,
    import_calendar,
    missing_years,
    remove_day,
    set_day,
)
from station_app.services.cases import CaseRequest, add_case, move_case
from station_app.services.clock import ManualClock
from station_app.services.station import Station
from station_app.store.queries import CaseFilter, search_cases

# A made-up 2027 arrangement for the test (the real notice is not published in our sources).
YEAR_2027 = {"format": "vss-holidays/1", "years": [{"year": 2027, "source": "测试用安排", "days": [
    {"date": "2027-01-01", "kind": "HOLIDAY", "name": "元旦"},
    {"date": "2027-01-04", "kind": "HOLIDAY", "name": "元旦调休"},
    {"date": "2027-01-09", "kind": "WORKDAY", "name": "元旦调休上班"},
]}]}


def accept_late_december(station: Station, clock: ManualClock, person: PersonDetails) -> str:
    clock.set(datetime(2026, 12, 28, 10, tzinfo=CST))
    case = add_case(station, CaseRequest(item="LOCAL-MZ-004", applicant=person))  # 10 WD
    move_case(station, case.case_no, CaseState.ACCEPTED)
    return case.case_no


def only_row(station: Station):
    [row] = search_cases(station.db, CaseFilter())
    return row


def test_a_deadline_in_a_year_without_data_is_estimated_from_weekends(
    station: Station, clock: ManualClock, applicant: PersonDetails
):
    accept_late_december(station, clock, applicant)
    row = only_row(station)
    # Dec 29-31 (3), then Jan 1, 4, 5, 6, 7, 8, 11: weekends only, so the 10th is Jan 11.
    assert (row.deadline, row.estimated) == ("2027-01-11", True)
    assert missing_years(station, range(2026, 2028)) == [2027]


def test_importing_next_years_holidays_makes_open_deadlines_exact(
    station: Station, clock: ManualClock, applicant: PersonDetails
):
    accept_late_december(station, clock, applicant)
    import_calendar(station, json.dumps(YEAR_2027).encode(), "2027.json")
    row = only_row(station)
    # Jan 1 and 4 are off, Saturday Jan 9 is worked: 29, 30, 31, 5, 6, 7, 8, 9, 11, 12.
    assert (row.deadline, row.estimated) == ("2027-01-12", False)
    assert current_calendar(station).knows(2027)


def test_one_day_can_be_changed_with_a_reason(station: Station, clock: ManualClock,
                                              applicant: PersonDetails):
    accept_late_december(station, clock, applicant)
    import_calendar(station, json.dumps(YEAR_2027).encode(), "2027.json")
    set_day(station, date(2027, 1, 8), DayKind.HOLIDAY, "县里临时调整", reason="县政府通知")
    assert only_row(station).deadline == "2027-01-13"
    remove_day(station, date(2027, 1, 8), reason="通知撤回")
    assert only_row(station).deadline == "2027-01-12"
    with pytest.raises(MissingField):
        remove_day(station, date(2027, 1, 8), reason="")


def test_one_day_of_an_unknown_year_cannot_be_edited(station: Station):
    size = station.ledger.size()
    with pytest.raises(InvalidInput) as caught:
        set_day(station, date(2028, 5, 1), DayKind.HOLIDAY, "劳动节", reason="试")
    assert "2028" in caught.value.text
    assert station.ledger.size() == size


def test_a_bad_calendar_file_writes_nothing(station: Station):
    size = station.ledger.size()
    bad = {"format": "vss-holidays/1", "years": [{"year": 2027, "days": [
        {"date": "2027-02-30", "kind": "HOLIDAY", "name": "x"}]}]}
    with pytest.raises(CalendarFileInvalid) as caught:
        import_calendar(station, json.dumps(bad).encode(), "bad.json")
    assert "years[0].days[0].date" in caught.value.text
    assert station.ledger.size() == size
