"""The station's own holiday table: seeded, imported and edited through the log."""

from __future__ import annotations

from datetime import date
from typing import Any

from station_app.domain.calendar import CalendarYear, DayKind, HolidayCalendar, SpecialDay
from station_app.domain.calendar_file import parse_calendar_file
from station_app.errors import MissingField
from station_app.services.calendar_seed import chinese_calendar_years
from station_app.services.station import Station, Transaction


def year_body(cy: CalendarYear) -> dict[str, Any]:
    return {"year": cy.year, "source": cy.source,
            "days": [{"date": d.day.isoformat(), "kind": d.kind.value, "name": d.name}
                     for d in cy.days]}


def seed_builtin_calendar(tx: Transaction) -> None:
    """Every year the bundled ``chinese-calendar`` data covers, one entry per year."""
    for cy in chinese_calendar_years():
        tx.append("calendar.year_set", year_body(cy))


def import_calendar(station: Station, raw: bytes, filename: str) -> list[CalendarYear]:
    years = parse_calendar_file(raw, filename)
    with station.transaction() as tx:
        for cy in years:
            tx.append("calendar.year_set", year_body(cy))
    return years


def set_day(station: Station, day: date, kind: DayKind, name: str, reason: str) -> None:
    """Change one day of an imported year (e.g. a local 调休 the county announced)."""
    _need_reason(reason)
    current_calendar(station).with_day(SpecialDay(day=day, kind=kind, name=name))  # validates
    with station.transaction() as tx:
        tx.append("calendar.day_set", {"date": day.isoformat(), "kind": kind.value,
                                       "name": name, "reason": reason.strip()})


def remove_day(station: Station, day: date, reason: str) -> None:
    _need_reason(reason)
    current_calendar(station).without_day(day)  # validates that the year is known
    with station.transaction() as tx:
        tx.append("calendar.day_removed", {"date": day.isoformat(), "reason": reason.strip()})


def current_calendar(station: Station) -> HolidayCalendar:
    return station.projector.calendar()


def missing_years(station: Station, years: range) -> list[int]:
    """Years in ``years`` with no imported holiday arrangement (deadlines there are estimates)."""
    cal = current_calendar(station)
    return [y for y in years if not cal.knows(y)]


def _need_reason(reason: str) -> None:
    if not (reason or "").strip():
        raise MissingField(field="reason", label="修改原因")
