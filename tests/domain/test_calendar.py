"""Working-day arithmetic (行政许可法 §82, 民法典 §201/§203) on the holiday calendar."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from station_app.domain.calendar import (
    CalendarYear,
    DayKind,
    HolidayCalendar,
    SpecialDay,
    calendar_days_after,
    working_days_after,
    working_days_between,
)
from station_app.errors import CalendarFileInvalid, InvalidInput
from station_app.services.calendar_seed import chinese_calendar_years

SEEDED = HolidayCalendar.from_years(chinese_calendar_years())
EMPTY = HolidayCalendar.empty()


def holiday(day: str, name: str = "") -> SpecialDay:
    return SpecialDay(day=date.fromisoformat(day), kind=DayKind.HOLIDAY, name=name)


def workday(day: str, name: str = "") -> SpecialDay:
    return SpecialDay(day=date.fromisoformat(day), kind=DayKind.WORKDAY, name=name)


def year_2027() -> CalendarYear:
    """A made-up 2027 arrangement, as an administrator would import it."""
    return CalendarYear(
        year=2027,
        days=(holiday("2027-01-01", "元旦"), holiday("2027-01-04", "元旦"),
              workday("2027-01-09", "元旦")),
        source="测试通知",
    )


# ---------------------------------------------------------------- the verified examples


def test_five_working_days_after_30_september_2025_skip_the_national_day_week() -> None:
    # 10-01…10-08 are off; 10-09, 10-10, 10-11 (Saturday, 调休上班), 10-13, 10-14 count.
    assert working_days_after(date(2025, 9, 30), 5, SEEDED) == (date(2025, 10, 14), False)


def test_a_sunday_worked_in_exchange_is_a_working_day() -> None:
    assert working_days_after(date(2025, 9, 26), 1, SEEDED) == (date(2025, 9, 28), False)
    assert date(2025, 9, 28).weekday() == 6
    assert SEEDED.is_workday(date(2025, 9, 28))


def test_the_start_day_is_not_counted_and_zero_days_is_the_start_day() -> None:
    monday = date(2025, 6, 9)
    assert working_days_after(monday, 1, SEEDED) == (date(2025, 6, 10), False)
    assert working_days_after(monday, 0, SEEDED) == (monday, False)
    # Even a holiday start day is returned as is: nothing was counted.
    assert working_days_after(date(2025, 10, 1), 0, SEEDED) == (date(2025, 10, 1), False)


def test_counting_from_inside_a_holiday_starts_after_it() -> None:
    assert working_days_after(date(2025, 10, 3), 1, SEEDED) == (date(2025, 10, 9), False)


# ---------------------------------------------------------------- years nobody imported


def test_a_2027_deadline_uses_the_weekend_rule_and_says_it_is_an_estimate() -> None:
    # Friday 2027-03-05 + 3 working days: Monday, Tuesday, Wednesday.
    assert working_days_after(date(2027, 3, 5), 3, SEEDED) == (date(2027, 3, 10), True)


def test_a_deadline_crossing_new_year_2027_is_an_estimate() -> None:
    # 2026-12-28 (Monday) + 5: 29, 30, 31, then 2027-01-01 (Friday, weekend rule) and 01-04.
    due, estimated = working_days_after(date(2026, 12, 28), 5, SEEDED)
    assert due == date(2027, 1, 4)
    assert estimated


def test_a_deadline_ending_on_31_december_2026_is_exact() -> None:
    assert working_days_after(date(2026, 12, 28), 3, SEEDED) == (date(2026, 12, 31), False)


def test_once_2027_is_imported_the_same_deadline_is_exact_and_honours_its_holidays() -> None:
    assert working_days_after(date(2026, 12, 28), 8, SEEDED) == (date(2027, 1, 7), True)
    cal = SEEDED.with_year(year_2027())
    # 01-01 and 01-04 are now off and Saturday 01-09 is worked: the 8th day moves to 01-09.
    assert working_days_after(date(2026, 12, 28), 8, cal) == (date(2027, 1, 9), False)


def test_an_empty_calendar_is_the_weekend_rule_for_every_year() -> None:
    assert working_days_after(date(2025, 9, 30), 5, EMPTY) == (date(2025, 10, 7), True)
    assert not EMPTY.is_workday(date(2025, 9, 28))  # a Sunday; the 调休 is not known


# ---------------------------------------------------------------- 自然日 and §203


def test_calendar_days_ending_on_a_holiday_move_to_the_next_working_day() -> None:
    # 2025-09-28 + 3 days = 10-01 (国庆节): 顺延 to 10-09, the first working day after the break.
    assert calendar_days_after(date(2025, 9, 28), 3, SEEDED) == (date(2025, 10, 9), False)


def test_calendar_days_ending_on_a_working_day_stay_put() -> None:
    assert calendar_days_after(date(2025, 9, 1), 22, SEEDED) == (date(2025, 9, 23), False)


def test_calendar_days_ending_on_a_worked_saturday_do_not_move() -> None:
    assert calendar_days_after(date(2025, 10, 1), 10, SEEDED) == (date(2025, 10, 11), False)


def test_calendar_days_ending_on_an_ordinary_sunday_move_to_monday() -> None:
    assert calendar_days_after(date(2025, 9, 1), 20, SEEDED) == (date(2025, 9, 22), False)


def test_calendar_days_are_estimated_only_when_the_last_day_is_in_an_unknown_year() -> None:
    assert calendar_days_after(date(2026, 12, 1), 60, SEEDED) == (date(2027, 2, 1), True)
    # Days in between are counted whatever they are, so 2003 being unknown does not matter.
    assert calendar_days_after(date(2003, 12, 1), 40, SEEDED)[1] is False


# ---------------------------------------------------------------- counting between two days


def test_working_days_between_counts_the_end_day_but_not_the_start_day() -> None:
    assert working_days_between(date(2025, 9, 30), date(2025, 10, 14), SEEDED) == (5, False)
    assert working_days_between(date(2025, 10, 14), date(2025, 10, 14), SEEDED) == (0, False)
    assert working_days_between(date(2025, 10, 14), date(2025, 9, 30), SEEDED) == (0, False)


def test_working_days_between_flags_unknown_years() -> None:
    assert working_days_between(date(2026, 12, 31), date(2027, 1, 4), SEEDED) == (2, True)


# ---------------------------------------------------------------- the calendar itself


def test_day_kind_labels_are_chinese() -> None:
    assert DayKind.HOLIDAY.label == "休息日/法定节假日"
    assert DayKind.WORKDAY.label == "调休上班"


def test_a_calendar_year_keeps_its_days_sorted() -> None:
    cy = CalendarYear(year=2027, days=(workday("2027-01-09"), holiday("2027-01-01")), source="x")
    assert [sd.day for sd in cy.days] == [date(2027, 1, 1), date(2027, 1, 9)]


@pytest.mark.parametrize(
    ("days", "named"),
    [
        ((holiday("2028-01-01"),), "2028-01-01"),
        ((holiday("2027-05-01"), holiday("2027-05-01")), "2027-05-01"),
        ((workday("2027-02-03"),), "2027-02-03"),  # a Wednesday: 调休上班 there means nothing
    ],
    ids=["other-year", "duplicate", "weekday-workday"],
)
def test_a_calendar_year_rejects_bad_days_and_names_the_date(
    days: tuple[SpecialDay, ...], named: str
) -> None:
    with pytest.raises(CalendarFileInvalid) as caught:
        CalendarYear(year=2027, days=days, source="x")
    assert named in caught.value.text


def test_the_calendar_knows_its_years_and_their_names() -> None:
    assert SEEDED.known_years == tuple(range(2004, 2027))
    assert SEEDED.knows(2026) and not SEEDED.knows(2027)
    assert SEEDED.day_name(date(2025, 10, 1)) == "国庆节"
    assert SEEDED.day_name(date(2025, 10, 20)) == ""
    assert date(2025, 9, 28) in [sd.day for sd in SEEDED.special_days(2025)]
    assert SEEDED.special_days(2027) == ()


def test_with_year_replaces_a_year_wholesale() -> None:
    cal = SEEDED.with_year(CalendarYear(year=2025, days=(holiday("2025-06-09"),), source="改"))
    assert not cal.is_workday(date(2025, 6, 9))
    assert cal.is_workday(date(2025, 10, 1))  # the old 2025 holidays are gone
    assert SEEDED.is_workday(date(2025, 6, 9))  # the original is untouched


def test_building_from_layers_lets_a_later_import_win() -> None:
    replacement = CalendarYear(year=2026, days=(holiday("2026-06-01"),), source="补充通知")
    cal = HolidayCalendar.from_years([*chinese_calendar_years(), replacement])
    assert cal.calendar_year(2026) == replacement
    assert repr(cal) == f"HolidayCalendar(known_years={list(range(2004, 2027))})"
    with pytest.raises(InvalidInput):
        HolidayCalendar(years=(replacement, replacement))


def test_with_day_and_without_day_edit_one_day_of_a_known_year() -> None:
    cal = SEEDED.with_day(holiday("2025-06-09", "临时放假"))
    assert not cal.is_workday(date(2025, 6, 9))
    assert cal.day_name(date(2025, 6, 9)) == "临时放假"
    assert not cal.is_workday(date(2025, 10, 1))  # the rest of 2025 is kept
    back = cal.without_day(date(2025, 6, 9))
    assert back.is_workday(date(2025, 6, 9))
    assert back == SEEDED


def test_without_day_turns_a_worked_sunday_back_into_a_rest_day() -> None:
    cal = SEEDED.without_day(date(2025, 9, 28))
    assert not cal.is_workday(date(2025, 9, 28))
    assert cal.without_day(date(2025, 9, 28)) == cal  # removing an ordinary day changes nothing


def test_editing_a_day_of_an_unknown_year_asks_for_the_whole_year() -> None:
    with pytest.raises(InvalidInput) as caught:
        SEEDED.with_day(holiday("2027-01-01"))
    assert caught.value.text == "日期填写有误：2027 年的放假安排尚未导入，请先导入整年"
    with pytest.raises(InvalidInput):
        SEEDED.without_day(date(2027, 1, 1))


def test_with_day_refuses_a_weekday_marked_as_worked() -> None:
    with pytest.raises(InvalidInput) as caught:
        SEEDED.with_day(workday("2025-06-11"))
    assert "星期三" in caught.value.text


def test_a_time_of_day_is_refused_where_a_day_is_meant() -> None:
    with pytest.raises(InvalidInput):
        SEEDED.is_workday(datetime(2025, 10, 1, 9, 0))  # type: ignore[arg-type]


# ---------------------------------------------------------------- properties

known_days = st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 9, 30))
any_days = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))
counts = st.integers(min_value=1, max_value=60)


@given(start=known_days, n=counts)
def test_the_due_day_is_always_a_working_day(start: date, n: int) -> None:
    due, estimated = working_days_after(start, n, SEEDED)
    assert not estimated
    assert SEEDED.is_workday(due)
    assert due > start


@given(start=any_days, n=counts)
def test_more_days_never_give_an_earlier_deadline(start: date, n: int) -> None:
    assert working_days_after(start, n, SEEDED)[0] < working_days_after(start, n + 1, SEEDED)[0]


@given(start=any_days, n=st.integers(min_value=0, max_value=60))
def test_counting_back_the_days_gives_n(start: date, n: int) -> None:
    due, estimated = working_days_after(start, n, SEEDED)
    assert working_days_between(start, due, SEEDED) == (n, estimated)


@given(start=known_days, n=st.integers(min_value=0, max_value=90))
def test_calendar_days_land_on_a_working_day_no_earlier_than_n_days(start: date, n: int) -> None:
    due, _ = calendar_days_after(start, n, SEEDED)
    assert SEEDED.is_workday(due)
    assert due >= start + timedelta(days=n)
    # Roll-forward stops at the first working day: everything skipped was a rest day.
    skipped = [start + timedelta(days=n + i) for i in range((due - start).days - n)]
    assert not any(SEEDED.is_workday(day) for day in skipped)
