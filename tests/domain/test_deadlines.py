"""办结期限: time limits in 工作日, 自然日 and 小时, with the clock stopped during 补正/特别程序."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from station_app.domain.calendar import HolidayCalendar, working_days_after, working_days_between
from station_app.domain.clock import CST
from station_app.domain.deadlines import (
    Deadline,
    Pause,
    compute_deadline,
    is_overdue,
    working_days_left,
)
from station_app.domain.timelimits import TimeLimit, TimeUnit
from station_app.errors import InvalidInput
from station_app.services.calendar_seed import chinese_calendar_years

SEEDED = HolidayCalendar.from_years(chinese_calendar_years())
WD = TimeUnit.WORKING_DAYS
CD = TimeUnit.CALENDAR_DAYS
HOURS = TimeUnit.HOURS


def at(day: str, clock: str = "10:00") -> datetime:
    """A moment in China Standard Time."""
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), CST)


def d(text: str) -> date:
    return date.fromisoformat(text)


def limit(amount: int, unit: TimeUnit = WD) -> TimeLimit:
    return TimeLimit(amount=amount, unit=unit)


# ---------------------------------------------------------------- 工作日


def test_received_30_september_2025_with_5_working_days_is_due_14_october() -> None:
    deadline = compute_deadline(at("2025-09-30"), limit(5), SEEDED)
    assert deadline == Deadline(due=d("2025-10-14"), estimated=False, paused_days=0,
                                paused=False, unit=WD)
    assert deadline.label == "2025-10-14"
    assert deadline.due_date == d("2025-10-14")


def test_one_working_day_after_26_september_2025_is_the_worked_sunday() -> None:
    assert compute_deadline(at("2025-09-26", "16:45"), limit(1), SEEDED).due == d("2025-09-28")


def test_the_start_day_is_the_day_in_china_not_in_utc() -> None:
    # 2025-09-29 17:00 UTC is 2025-09-30 01:00 in Beijing.
    start = datetime(2025, 9, 29, 17, 0, tzinfo=UTC)
    assert compute_deadline(start, limit(5), SEEDED).due == d("2025-10-14")


def test_a_2027_deadline_is_computed_with_the_weekend_rule_and_marked_as_an_estimate() -> None:
    deadline = compute_deadline(at("2027-03-05"), limit(3), SEEDED)
    assert deadline.due == d("2027-03-10")
    assert deadline.estimated
    assert deadline.label == "2027-03-10（估算）"


def test_a_deadline_crossing_into_2027_is_an_estimate() -> None:
    deadline = compute_deadline(at("2026-12-28"), limit(5), SEEDED)
    assert (deadline.due, deadline.estimated) == (d("2027-01-04"), True)


def test_on_the_spot_items_are_due_the_day_they_are_received() -> None:
    for unit in TimeUnit:
        deadline = compute_deadline(at("2025-10-01", "09:30"), limit(0, unit), SEEDED)
        assert deadline.due == d("2025-10-01")
        assert deadline.label == "2025-10-01"


# ---------------------------------------------------------------- 自然日 (§203)


def test_calendar_days_ending_in_the_national_day_holiday_move_to_9_october() -> None:
    deadline = compute_deadline(at("2025-09-28"), limit(3, CD), SEEDED)
    assert (deadline.due, deadline.estimated, deadline.unit) == (d("2025-10-09"), False, CD)


def test_calendar_days_ending_on_a_working_day_do_not_move() -> None:
    assert compute_deadline(at("2025-06-09"), limit(10, CD), SEEDED).due == d("2025-06-19")


# ---------------------------------------------------------------- 小时


def test_an_hour_limit_is_due_at_a_time_of_day_shown_in_beijing_time() -> None:
    start = datetime(2025, 6, 9, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
    deadline = compute_deadline(start, limit(24, HOURS), SEEDED)
    assert deadline.due == at("2025-06-10", "10:00")
    assert deadline.label == "2025-06-10 10:00"
    assert deadline.due_date == d("2025-06-10")


def test_an_hour_limit_runs_through_holidays() -> None:
    deadline = compute_deadline(at("2025-09-30", "17:30"), limit(48, HOURS), SEEDED)
    assert deadline.label == "2025-10-02 17:30"


def test_an_hour_limit_gains_a_day_for_each_paused_day() -> None:
    pause = Pause(start=d("2025-06-09"), end=d("2025-06-10"))
    deadline = compute_deadline(at("2025-06-09"), limit(24, HOURS), SEEDED, [pause])
    assert deadline.due == at("2025-06-11", "10:00")
    assert deadline.paused_days == 1


# ---------------------------------------------------------------- pauses (补正, 特别程序)

# Received Monday 2025-06-09 with 10 working days: due Monday 2025-06-23 with no pause.


def test_an_ended_pause_adds_the_working_days_it_covered() -> None:
    # Stopped Wednesday 06-11, resumed Friday 06-13: Thursday and Friday do not count.
    pause = Pause(start=d("2025-06-11"), end=d("2025-06-13"))
    deadline = compute_deadline(at("2025-06-09"), limit(10), SEEDED, [pause])
    assert (deadline.due, deadline.paused_days, deadline.paused) == (d("2025-06-25"), 2, False)


def test_the_day_a_pause_starts_still_counts() -> None:
    same_day = Pause(start=d("2025-06-10"), end=d("2025-06-10"))
    assert compute_deadline(at("2025-06-09"), limit(10), SEEDED, [same_day]).due == d("2025-06-23")
    one_day = Pause(start=d("2025-06-09"), end=d("2025-06-10"))
    deadline = compute_deadline(at("2025-06-09"), limit(10), SEEDED, [one_day])
    assert (deadline.due, deadline.paused_days) == (d("2025-06-24"), 1)


def test_overlapping_pauses_count_each_day_once() -> None:
    pauses = [Pause(start=d("2025-06-10"), end=d("2025-06-12")),
              Pause(start=d("2025-06-11"), end=d("2025-06-13"))]
    deadline = compute_deadline(at("2025-06-09"), limit(10), SEEDED, pauses)
    assert (deadline.due, deadline.paused_days) == (d("2025-06-26"), 3)


def test_a_pause_over_a_weekend_costs_no_working_days() -> None:
    pause = Pause(start=d("2025-06-13"), end=d("2025-06-15"))
    deadline = compute_deadline(at("2025-06-09"), limit(10), SEEDED, [pause])
    assert (deadline.due, deadline.paused_days) == (d("2025-06-23"), 0)


def test_an_open_pause_leaves_no_due_date() -> None:
    deadline = compute_deadline(at("2025-06-09"), limit(10), SEEDED, [Pause(start=d("2025-06-11"))])
    assert deadline.paused
    assert deadline.due is None and deadline.due_date is None
    assert deadline.label == "计时暂停中"
    assert not is_overdue(deadline, at("2030-01-01"))
    assert working_days_left(deadline, d("2030-01-01"), SEEDED) is None


def test_a_pause_begun_after_the_deadline_passed_does_not_stop_the_clock() -> None:
    # The clock already ran out on 06-23; pausing afterwards must not hide an overdue case.
    late = Pause(start=d("2025-06-23"))
    deadline = compute_deadline(at("2025-06-09"), limit(10), SEEDED, [late])
    assert (deadline.due, deadline.paused) == (d("2025-06-23"), False)
    on_time = Pause(start=d("2025-06-20"))
    assert compute_deadline(at("2025-06-09"), limit(10), SEEDED, [on_time]).paused


def test_calendar_day_pauses_add_calendar_days_then_203_applies() -> None:
    # 10 自然日 from 06-09 is 06-19; two paused days make it Saturday 06-21, so Monday 06-23.
    pause = Pause(start=d("2025-06-10"), end=d("2025-06-12"))
    deadline = compute_deadline(at("2025-06-09"), limit(10, CD), SEEDED, [pause])
    assert (deadline.due, deadline.paused_days) == (d("2025-06-23"), 2)


def test_every_unit_reports_an_open_pause() -> None:
    for unit in TimeUnit:
        deadline = compute_deadline(at("2025-06-09"), limit(30, unit), SEEDED,
                                    [Pause(start=d("2025-06-09"))])
        assert deadline.paused and deadline.unit is unit


def test_a_pause_cannot_end_before_it_starts() -> None:
    with pytest.raises(InvalidInput) as caught:
        Pause(start=d("2025-06-11"), end=d("2025-06-10"))
    assert caught.value.text == "暂停结束日期填写有误：不能早于暂停开始日期"


# ---------------------------------------------------------------- overdue and days left


def test_a_date_deadline_is_met_through_the_whole_due_day_in_beijing() -> None:
    deadline = compute_deadline(at("2025-09-30"), limit(5), SEEDED)  # due 2025-10-14
    assert not is_overdue(deadline, at("2025-10-14", "23:59"))
    assert is_overdue(deadline, at("2025-10-15", "00:00"))
    # 16:30 UTC on the 14th is already 00:30 on the 15th in Beijing.
    assert is_overdue(deadline, datetime(2025, 10, 14, 16, 30, tzinfo=UTC))


def test_an_hour_deadline_is_overdue_the_minute_after() -> None:
    deadline = compute_deadline(at("2025-06-09"), limit(24, HOURS), SEEDED)
    assert not is_overdue(deadline, at("2025-06-10", "10:00"))
    assert is_overdue(deadline, at("2025-06-10", "10:01"))


def test_working_days_left_counts_down_to_zero_then_goes_negative() -> None:
    deadline = compute_deadline(at("2025-09-30"), limit(5), SEEDED)  # due 2025-10-14
    assert working_days_left(deadline, d("2025-09-30"), SEEDED) == 5
    assert working_days_left(deadline, d("2025-10-05"), SEEDED) == 5  # inside the holiday
    assert working_days_left(deadline, d("2025-10-10"), SEEDED) == 3
    assert working_days_left(deadline, d("2025-10-14"), SEEDED) == 0
    assert working_days_left(deadline, d("2025-10-15"), SEEDED) == -1
    assert working_days_left(deadline, d("2025-10-17"), SEEDED) == -3


def test_a_missed_friday_deadline_is_overdue_over_the_weekend() -> None:
    friday = Deadline(due=d("2025-06-13"), estimated=False, paused_days=0, paused=False, unit=WD)
    assert working_days_left(friday, d("2025-06-14"), SEEDED) == -1
    assert working_days_left(friday, d("2025-06-16"), SEEDED) == -1
    assert working_days_left(friday, d("2025-06-17"), SEEDED) == -2


# ---------------------------------------------------------------- properties

starts = st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 6, 30))


@given(start=starts, n=st.integers(min_value=1, max_value=40))
def test_without_pauses_the_deadline_is_the_nth_working_day(start: date, n: int) -> None:
    deadline = compute_deadline(datetime.combine(start, time(9), CST), limit(n), SEEDED)
    assert (deadline.due, deadline.estimated) == working_days_after(start, n, SEEDED)
    assert deadline.paused_days == 0


@given(
    start=starts,
    n=st.integers(min_value=1, max_value=40),
    offset=st.integers(min_value=0, max_value=60),
    length=st.integers(min_value=0, max_value=30),
)
def test_an_ended_pause_extends_by_exactly_the_working_days_inside_it(
    start: date, n: int, offset: int, length: int
) -> None:
    plain, _ = working_days_after(start, n, SEEDED)
    pause = Pause(start=start + timedelta(days=offset),
                  end=start + timedelta(days=offset + length))
    stopped, _ = working_days_between(pause.start, pause.end, SEEDED)
    deadline = compute_deadline(datetime.combine(start, time(9), CST), limit(n), SEEDED, [pause])
    if pause.start < plain:
        assert deadline.paused_days == stopped
        assert deadline.due == working_days_after(plain, stopped, SEEDED)[0]
    else:  # paused after the clock ran out: nothing changes
        assert (deadline.due, deadline.paused_days) == (plain, 0)
