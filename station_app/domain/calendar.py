"""Working days (工作日): the holiday calendar and day arithmetic every deadline rests on.

行政许可法 §82 counts time limits in 工作日, "不含法定节假日". A working day is Monday–Friday that
is not a holiday, plus the weekend days the State Council moves work to (调休上班). The State
Council publishes next year's arrangement around November, so the calendar is data: one
``CalendarYear`` per year, imported whole. For a year that has not been imported the weekend
rule is used and every answer that touched such a year is flagged as an estimate — a deadline
must never fail to compute, but nobody should mistake a guess for the law.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from station_app.errors import CalendarFileInvalid, InvalidInput

ONE_DAY = timedelta(days=1)
WEEKDAY_NAMES = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


class DayKind(StrEnum):
    """What a listed day is; days not listed follow the weekend rule."""

    HOLIDAY = "HOLIDAY"  # 法定节假日 and the weekdays given off in exchange (调休休息)
    WORKDAY = "WORKDAY"  # a Saturday or Sunday worked in exchange (调休上班)

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS = {DayKind.HOLIDAY: "休息日/法定节假日", DayKind.WORKDAY: "调休上班"}


@dataclass(frozen=True, slots=True, kw_only=True)
class SpecialDay:
    day: date
    kind: DayKind
    name: str = ""

    def __post_init__(self) -> None:
        _require_day(self.day, "日期")
        if not isinstance(self.kind, DayKind):
            raise InvalidInput(label="日期类型", reason="应为 休息日 或 调休上班")


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarYear:
    """The whole arrangement for one year, as one State Council notice (or import) gives it."""

    year: int
    days: tuple[SpecialDay, ...]
    source: str

    def __post_init__(self) -> None:
        where = f"{self.year} 年放假安排"
        if isinstance(self.year, bool) or not isinstance(self.year, int):
            raise CalendarFileInvalid(where="年份", reason=f"“{self.year}”不是整数年份")
        if not 1 <= self.year <= 9999:
            raise CalendarFileInvalid(where="年份", reason=f"“{self.year}”超出范围")
        ordered = tuple(sorted(self.days, key=lambda sd: sd.day))
        seen: set[date] = set()
        for special in ordered:
            problem = special_day_problem(special, self.year)
            if special.day in seen:
                problem = f"日期“{special.day.isoformat()}”重复"
            if problem:
                raise CalendarFileInvalid(where=where, reason=problem)
            seen.add(special.day)
        object.__setattr__(self, "days", ordered)


def special_day_problem(special: SpecialDay, year: int) -> str | None:
    """Why ``special`` cannot be part of ``year``'s arrangement, in Chinese; None if it can."""
    text = special.day.isoformat()
    if special.day.year != year:
        return f"日期“{text}”不属于 {year} 年"
    if special.kind is DayKind.WORKDAY and special.day.weekday() < 5:
        # Monday–Friday are working days anyway: a 调休上班 entry there can only be a typo.
        weekday = WEEKDAY_NAMES[special.day.weekday()]
        return f"“{text}”是{weekday}，调休上班日只能是星期六或星期日"
    return None


@dataclass(frozen=True, kw_only=True, repr=False)
class HolidayCalendar:
    """An immutable set of known years; edits return a new calendar.

    Not slotted: the lookup tables are derived once in ``__post_init__`` so that every
    question asked of the calendar is a dict or set lookup.
    """

    years: tuple[CalendarYear, ...] = ()
    _by_year: dict[int, CalendarYear] = field(init=False, repr=False, compare=False)
    _by_day: dict[date, SpecialDay] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.years, key=lambda cy: cy.year))
        by_year: dict[int, CalendarYear] = {}
        for cy in ordered:
            if cy.year in by_year:
                raise InvalidInput(label="放假安排", reason=f"{cy.year} 年出现了两次")
            by_year[cy.year] = cy
        object.__setattr__(self, "years", ordered)
        object.__setattr__(self, "_by_year", by_year)
        by_day = {sd.day: sd for cy in ordered for sd in cy.days}
        object.__setattr__(self, "_by_day", by_day)

    def __repr__(self) -> str:
        # The full table is hundreds of days; the years are what a reader wants to see.
        return f"HolidayCalendar(known_years={list(self._by_year)})"

    # ------------------------------------------------------------ building

    @classmethod
    def empty(cls) -> HolidayCalendar:
        return cls()

    @classmethod
    def from_years(cls, years: Iterable[CalendarYear]) -> HolidayCalendar:
        """Layer ``years`` in order; a later value for the same year replaces an earlier one."""
        latest = {cy.year: cy for cy in years}
        return cls(years=tuple(latest.values()))

    def with_year(self, cy: CalendarYear) -> HolidayCalendar:
        """Replace (or add) one year wholesale, as importing a new notice does."""
        others = tuple(known for known in self.years if known.year != cy.year)
        return HolidayCalendar(years=(*others, cy))

    def with_day(self, special: SpecialDay) -> HolidayCalendar:
        """Add or change one day of a year that is already known."""
        current = self._known_year(special.day)
        problem = special_day_problem(special, current.year)
        if problem:
            raise InvalidInput(label="日期", reason=problem)
        days = tuple(sd for sd in current.days if sd.day != special.day) + (special,)
        return self.with_year(CalendarYear(year=current.year, days=days, source=current.source))

    def without_day(self, day: date) -> HolidayCalendar:
        """Make ``day`` an ordinary day again (weekend rule); unchanged if it was not listed."""
        current = self._known_year(day)
        if day not in self._by_day:
            return self
        days = tuple(sd for sd in current.days if sd.day != day)
        return self.with_year(CalendarYear(year=current.year, days=days, source=current.source))

    def _known_year(self, day: date) -> CalendarYear:
        _require_day(day, "日期")
        current = self._by_year.get(day.year)
        if current is None:
            # Editing one day of an unknown year would make the whole year look "known" and
            # silence the estimate warning for every other day of it.
            raise InvalidInput(
                label="日期", reason=f"{day.year} 年的放假安排尚未导入，请先导入整年"
            )
        return current

    # ------------------------------------------------------------ questions

    def knows(self, year: int) -> bool:
        return year in self._by_year

    @property
    def known_years(self) -> tuple[int, ...]:
        return tuple(self._by_year)

    def knows_span(self, first: date, last: date) -> bool:
        """True if every year from ``first`` through ``last`` is known (True for an empty span)."""
        return all(year in self._by_year for year in range(first.year, last.year + 1))

    def is_workday(self, day: date) -> bool:
        _require_day(day, "日期")
        special = self._by_day.get(day)
        if special is not None:
            return special.kind is DayKind.WORKDAY
        return day.weekday() < 5

    def day_name(self, day: date) -> str:
        """The holiday's name (e.g. 国庆节) for a listed day, "" otherwise."""
        special = self._by_day.get(day)
        return special.name if special is not None else ""

    def special_days(self, year: int) -> tuple[SpecialDay, ...]:
        known = self._by_year.get(year)
        return known.days if known is not None else ()

    def calendar_year(self, year: int) -> CalendarYear | None:
        return self._by_year.get(year)


# ---------------------------------------------------------------- day arithmetic


def working_days_from(start: date, cal: HolidayCalendar) -> Iterator[date]:
    """Every working day strictly after ``start``, in order (民法典 §201: 开始的当日不计入)."""
    day = start
    while day < date.max:
        day += ONE_DAY
        if cal.is_workday(day):
            yield day


def working_days_after(start: date, n: int, cal: HolidayCalendar) -> tuple[date, bool]:
    """The ``n``-th working day after ``start`` (``start`` itself for 0), and whether estimated.

    Estimated means some day from ``start + 1`` to the answer lies in a year the calendar does
    not know, so the weekend rule stood in for the real arrangement.
    """
    _require_day(start, "开始日期")
    _require_count(n)
    if n == 0:
        return start, False
    for counted, day in enumerate(working_days_from(start, cal), start=1):
        if counted == n:
            return day, not cal.knows_span(start + ONE_DAY, day)
    raise _out_of_range()


def calendar_days_after(start: date, n: int, cal: HolidayCalendar) -> tuple[date, bool]:
    """``start + n`` days; if that is not a working day, the next working day (民法典 §203).

    Estimated only if a day whose kind decided the answer (the ``start + n`` day through the
    result) lies in an unknown year: the days in between are counted whatever they are.
    """
    _require_day(start, "开始日期")
    _require_count(n)
    try:
        last = start + timedelta(days=n)
    except OverflowError:
        raise _out_of_range() from None
    return roll_forward(last, cal)


def roll_forward(day: date, cal: HolidayCalendar) -> tuple[date, bool]:
    """``day`` if it is a working day, else the next one (§203 顺延); and whether estimated."""
    due = day
    while not cal.is_workday(due):
        if due == date.max:
            raise _out_of_range()
        due += ONE_DAY
    return due, not cal.knows_span(day, due)


def working_days_between(a: date, b: date, cal: HolidayCalendar) -> tuple[int, bool]:
    """How many working days ``d`` have ``a < d <= b`` (0 if ``b <= a``), and whether estimated."""
    _require_day(a, "开始日期")
    _require_day(b, "结束日期")
    if b <= a:
        return 0, False
    count = 0
    day = a
    while day < b:
        day += ONE_DAY
        count += cal.is_workday(day)
    return count, not cal.knows_span(a + ONE_DAY, b)


# ---------------------------------------------------------------- guards


def _require_day(value: object, label: str) -> None:
    # datetime is a subclass of date; a datetime key never matches a date key in the tables,
    # so letting one through would silently answer with the weekend rule.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidInput(label=label, reason="应为日期（不含时间）")


def _require_count(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise InvalidInput(label="天数", reason="必须是不小于 0 的整数")


def _out_of_range() -> InvalidInput:
    return InvalidInput(label="办结时限", reason="期限超出可计算的日期范围")
