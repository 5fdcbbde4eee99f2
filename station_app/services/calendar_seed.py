"""The built-in holiday calendar, taken from the ``chinese_calendar`` package's data.

Only the package's data tables are read (``holidays``, ``workdays``), never its functions: those
raise NotImplementedError outside the years the package covers, and a deadline that crosses
into the next year must still compute. The domain calendar does the arithmetic instead.
"""

from __future__ import annotations

from datetime import date

import chinese_calendar
from chinese_calendar import constants

from station_app.domain.calendar import CalendarYear, DayKind, SpecialDay

SOURCE = f"chinese-calendar {chinese_calendar.__version__}"


def chinese_calendar_years() -> list[CalendarYear]:
    """One CalendarYear per year the package covers (2004–2026 in 1.11.0), oldest first."""
    by_year: dict[int, list[SpecialDay]] = {year: [] for year in covered_years()}
    tables = ((constants.holidays, DayKind.HOLIDAY), (constants.workdays, DayKind.WORKDAY))
    for table, kind in tables:
        for day, english in table.items():
            by_year[day.year].append(SpecialDay(day=day, kind=kind, name=_chinese_name(english)))
    return [
        CalendarYear(year=year, days=tuple(days), source=SOURCE) for year, days in by_year.items()
    ]


def covered_years() -> range:
    """The years the package has data for, decided the way the package itself decides it."""
    days: list[date] = list(constants.holidays)
    return range(min(days).year, max(days).year + 1)


def _chinese_name(english: str) -> str:
    # The tables hold the enum's English value; the enum member also carries the Chinese name.
    try:
        member = constants.Holiday(english)
    except ValueError:
        return english
    return str(getattr(member, "chinese", english))
