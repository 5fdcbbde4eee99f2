"""China Standard Time and the few time helpers every layer shares.

China has one time zone and no daylight saving, so a fixed +08:00 offset is exact and needs
no tz database (which Windows PCs lack without the tzdata package).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from station_app.errors import InvalidDate

CST = timezone(timedelta(hours=8), "CST")


def to_cst(moment: datetime) -> datetime:
    """The same instant in China Standard Time; naive values are taken to be CST already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=CST)
    return moment.astimezone(CST)


def iso(moment: datetime) -> str:
    """RFC 3339 text with milliseconds and the +08:00 offset, e.g. 2025-09-30T10:15:02.123+08:00."""
    return to_cst(moment).isoformat(timespec="milliseconds")


def parse_moment(text: str, label: str = "时间") -> datetime:
    """Parse an ISO date-time (or a bare date, taken as 00:00) in CST."""
    value = (text or "").strip()
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), CST)
        return to_cst(datetime.fromisoformat(value))
    except ValueError:
        raise InvalidDate(label=label, value=value) from None


def parse_day(text: str, label: str = "日期") -> date:
    value = (text or "").strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidDate(label=label, value=value) from None


def local_day(moment: datetime) -> date:
    """The calendar day in China on which ``moment`` falls."""
    return to_cst(moment).date()
