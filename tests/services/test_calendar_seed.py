"""The built-in calendar must say exactly what the chinese_calendar package says."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest

from station_app.domain.calendar import DayKind, HolidayCalendar, working_days_after
from station_app.services.calendar_seed import SOURCE, chinese_calendar_years

YEARS = chinese_calendar_years()
SEEDED = HolidayCalendar.from_years(YEARS)


def test_every_year_the_package_covers_is_seeded_and_labelled() -> None:
    assert [cy.year for cy in YEARS] == list(range(2004, 2027))
    assert {cy.source for cy in YEARS} == {"chinese-calendar 1.11.0"} == {SOURCE}
    seeded = sum(len(cy.days) for cy in YEARS)
    assert seeded == len(chinese_calendar.holidays) + len(chinese_calendar.workdays)


def test_the_seed_agrees_with_chinese_calendar_on_every_day_2004_to_2026() -> None:
    day = date(2004, 1, 1)
    disagreements = []
    while day <= date(2026, 12, 31):
        if SEEDED.is_workday(day) != chinese_calendar.is_workday(day):
            disagreements.append(day)
        day += timedelta(days=1)
    assert disagreements == []
    assert (day - date(2004, 1, 1)).days == 8401  # every day was looked at


@pytest.mark.parametrize(
    ("day", "kind", "name"),
    [
        (date(2025, 10, 1), DayKind.HOLIDAY, "国庆节"),
        (date(2025, 9, 28), DayKind.WORKDAY, "国庆节"),  # the Sunday worked for the long break
        (date(2026, 2, 15), DayKind.HOLIDAY, "春节"),
        (date(2015, 9, 3), DayKind.HOLIDAY, "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日"),
    ],
)
def test_days_carry_their_chinese_holiday_name(day: date, kind: DayKind, name: str) -> None:
    [special] = [sd for sd in SEEDED.special_days(day.year) if sd.day == day]
    assert (special.kind, special.name) == (kind, name)


def test_where_chinese_calendar_gives_up_the_seeded_calendar_still_answers() -> None:
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 4))
    assert working_days_after(date(2026, 12, 31), 1, SEEDED) == (date(2027, 1, 1), True)
