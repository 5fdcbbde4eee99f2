"""办结期限: when a case must be finished, given when its clock started and its time limit.

Rules (see docs on sources S6, S7):
* 工作日 limits count working days only (行政许可法 §82: 以工作日计算，不含法定节假日).
* The start day is not counted; counting begins the next day (民法典 §201).
* A 自然日 limit whose last day is not a working day moves to the next working day (§203).
* The clock stops while the applicant is correcting materials (补正) or during 特别程序 such as
  听证、检验、检测、鉴定、专家评审 (行政许可法 §42: 所需时间不计算在期限内). A pause stops the
  clock the day after it starts, like §201 for the start day, and its end day is not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from station_app.domain.calendar import (
    ONE_DAY,
    HolidayCalendar,
    roll_forward,
    working_days_between,
    working_days_from,
)
from station_app.domain.clock import local_day, to_cst
from station_app.domain.timelimits import TimeLimit, TimeUnit
from station_app.errors import InvalidInput


@dataclass(frozen=True, slots=True, kw_only=True)
class Pause:
    """A stretch with the clock stopped: days ``d`` with ``start < d <= end`` do not count.

    ``end`` None means the pause is still running.
    """

    start: date
    end: date | None = None

    def __post_init__(self) -> None:
        for value, label in ((self.start, "暂停开始日期"), (self.end, "暂停结束日期")):
            if value is not None and (isinstance(value, datetime) or not isinstance(value, date)):
                raise InvalidInput(label=label, reason="应为日期（不含时间）")
        if self.end is not None and self.end < self.start:
            raise InvalidInput(label="暂停结束日期", reason="不能早于暂停开始日期")

    @property
    def is_open(self) -> bool:
        return self.end is None

    def stops(self, day: date) -> bool:
        """True if ``day`` falls inside the pause, so it is not counted."""
        return self.start < day and (self.end is None or day <= self.end)


@dataclass(frozen=True, slots=True, kw_only=True)
class Deadline:
    """A computed deadline. ``due`` is None exactly while the clock is paused."""

    due: date | datetime | None
    estimated: bool
    paused_days: int
    paused: bool
    unit: TimeUnit

    @property
    def due_date(self) -> date | None:
        if isinstance(self.due, datetime):
            return local_day(self.due)
        return self.due

    @property
    def label(self) -> str:
        if self.paused or self.due is None:
            return "计时暂停中"
        if isinstance(self.due, datetime):
            text = to_cst(self.due).strftime("%Y-%m-%d %H:%M")
        else:
            text = self.due.isoformat()
        return text + ("（估算）" if self.estimated else "")


def compute_deadline(
    start: datetime,
    limit: TimeLimit,
    cal: HolidayCalendar,
    pauses: Sequence[Pause] = (),
) -> Deadline:
    """The deadline of a clock started at ``start`` (an aware moment; naive is taken as CST)."""
    if not isinstance(start, datetime):
        raise InvalidInput(label="开始时间", reason="应为日期和时间")
    if limit.amount == 0:
        # 即办: finished on the spot, so the whole start day is the limit; nothing to count.
        return Deadline(due=local_day(start), estimated=False, paused_days=0, paused=False,
                        unit=limit.unit)
    try:
        if limit.unit is TimeUnit.WORKING_DAYS:
            return _working_days_deadline(local_day(start), limit.amount, cal, pauses)
        if limit.unit is TimeUnit.CALENDAR_DAYS:
            return _calendar_days_deadline(local_day(start), limit.amount, cal, pauses)
        return _hours_deadline(to_cst(start), limit.amount, pauses)
    except OverflowError:
        raise _out_of_range() from None


def _paused(unit: TimeUnit) -> Deadline:
    return Deadline(due=None, estimated=False, paused_days=0, paused=True, unit=unit)


def _stopped_by(day: date, pauses: Sequence[Pause]) -> Pause | None:
    """The pause that stops ``day``, preferring an open one (it decides that we are paused)."""
    hits = [p for p in pauses if p.stops(day)]
    return next((p for p in hits if p.is_open), hits[0] if hits else None)


def _working_days_deadline(
    first: date, n: int, cal: HolidayCalendar, pauses: Sequence[Pause]
) -> Deadline:
    counted = skipped = 0
    for day in working_days_from(first, cal):
        pause = _stopped_by(day, pauses)
        if pause is not None and pause.is_open:
            # The n-th counting day lies beyond a pause that has not ended: no due date yet.
            return _paused(TimeUnit.WORKING_DAYS)
        if pause is not None:
            skipped += 1
            continue
        counted += 1
        if counted == n:
            estimated = not cal.knows_span(first + ONE_DAY, day)
            return Deadline(due=day, estimated=estimated, paused_days=skipped, paused=False,
                            unit=TimeUnit.WORKING_DAYS)
    raise _out_of_range()


def _out_of_range() -> InvalidInput:
    return InvalidInput(label="办结时限", reason="期限超出可计算的日期范围")


def _calendar_days_deadline(
    first: date, n: int, cal: HolidayCalendar, pauses: Sequence[Pause]
) -> Deadline:
    counted = skipped = 0
    day = first
    while counted < n:
        day += ONE_DAY
        pause = _stopped_by(day, pauses)
        if pause is not None and pause.is_open:
            return _paused(TimeUnit.CALENDAR_DAYS)
        if pause is not None:
            skipped += 1
        else:
            counted += 1
    due, estimated = roll_forward(day, cal)  # 民法典 §203
    return Deadline(due=due, estimated=estimated, paused_days=skipped, paused=False,
                    unit=TimeUnit.CALENDAR_DAYS)


def _hours_deadline(start: datetime, hours: int, pauses: Sequence[Pause]) -> Deadline:
    """``start + hours``, plus a whole day for each paused calendar day before that moment.

    Adding days can pull more paused days in, so repeat until the count stops growing; it
    can only grow, and at most by the days of the pauses, so this ends.
    """
    extra = 0
    while True:
        due = start + timedelta(hours=hours, days=extra)
        stopped = [
            _stopped_by(day, pauses) for day in _days_between(local_day(start), local_day(due))
        ]
        if any(p is not None and p.is_open for p in stopped):
            return _paused(TimeUnit.HOURS)
        paused_days = sum(p is not None for p in stopped)
        if paused_days == extra:
            return Deadline(due=due, estimated=False, paused_days=extra, paused=False,
                            unit=TimeUnit.HOURS)
        extra = paused_days


def _days_between(a: date, b: date) -> list[date]:
    """Days ``d`` with ``a < d <= b``."""
    return [a + timedelta(days=i) for i in range(1, (b - a).days + 1)]


def is_overdue(deadline: Deadline, now: datetime) -> bool:
    """True once ``now`` is past the deadline; a date deadline holds through its whole day (CST)."""
    if deadline.paused or deadline.due is None:
        return False
    if isinstance(deadline.due, datetime):
        return to_cst(now) > to_cst(deadline.due)
    return local_day(now) > deadline.due


def working_days_left(deadline: Deadline, today: date, cal: HolidayCalendar) -> int | None:
    """Working days after ``today`` up to the due day: 0 on the due day, negative once overdue.

    Overdue is at least -1 even when the days since the due day are all holidays, so that a
    case that missed its deadline never reads as "due today".
    """
    due = deadline.due_date
    if deadline.paused or due is None:
        return None
    if today <= due:
        return working_days_between(today, due, cal)[0]
    return -max(1, working_days_between(due, today, cal)[0])
