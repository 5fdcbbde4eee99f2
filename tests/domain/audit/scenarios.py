"""Stations over several working weeks: an honest one, and the ways a station can cheat."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta

from station_app.domain.calendar import HolidayCalendar
from station_app.domain.cases import Channel
from station_app.domain.evaluations import Level
from station_app.domain.states import CaseState, ProxyState
from tests.domain.audit.logbook import IMMEDIATE, StationLog, at


def working_days(first: date, last: date, cal: HolidayCalendar) -> list[date]:
    days, day = [], first
    while day <= last:
        if cal.is_workday(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def new_station(created: datetime) -> StationLog:
    """A station set up and enrolled the evening before it opens (first receipt)."""
    log = StationLog(created)
    log.advance(minutes=10)
    log.sync()
    return log


Hook = Callable[[StationLog], None]


def honest_day(log: StationLog, day: date, n: int, *, before_sync: Hook | None = None,
               sync: bool = True) -> None:
    """One ordinary working day, recorded as it happens (即办即录), synced in the evening
    (unless ``sync`` is False: the network is down). ``before_sync`` runs at 16:30."""
    # The PC is switched on at 08:50; its clock is a few seconds off the county's.
    log.reboot(at(day.isoformat(), "08:50"), wall_offset=timedelta(seconds=(n % 5) * 7 - 14))
    log.until(at(day.isoformat(), "09:00"))
    follow_up(log)
    morning = []
    for k in range(4):
        if k % 2 == 0:
            case_no = log.receive(item=IMMEDIATE)
            log.finish(case_no)
            log.evaluate(case_no, Level.VERY_SATISFIED)
        else:
            case_no = log.receive()
        morning.append(case_no)
        log.advance(minutes=35)
    for proxy in log.proxies():
        if proxy.state is ProxyState.REGISTERED:
            log.proxy_move(proxy.proxy_no, ProxyState.SUBMITTED)
    log.sleep(minutes=90)  # lunch: the PC sleeps, its monotonic clock stands still
    if n % 3 == 0:
        # Small NTP correction: the wall clock steps back two seconds.
        log.set_clock(log.wall - timedelta(seconds=2))
    # The applicant of the morning's second case came back; noted in the afternoon (补录 of
    # three hours, well inside the threshold).
    log.visit(morning[1], served=log.wall - timedelta(hours=3))
    log.advance(minutes=40)
    if n % 2 == 0:
        log.register_proxy()
        log.advance(minutes=20)
    log.receive(channel=Channel.PROXY)
    if before_sync is not None:
        log.until(at(day.isoformat(), "16:30"))
        before_sync(log)
    log.until(at(day.isoformat(), "17:30"))
    if sync:
        log.sync()
    log.sleep(hours=14)


def follow_up(log: StationLog) -> None:
    """Earlier promised cases move on: received ones are accepted, accepted ones finished."""
    waiting = [c for c in log.cases() if c.state in (CaseState.ACCEPTED, CaseState.RECEIVED)]
    for case in waiting[:3]:
        if case.state is CaseState.RECEIVED:
            log.move(case.case_no, CaseState.ACCEPTED)
        else:
            log.finish(case.case_no)
            log.evaluate(case.case_no, Level.SATISFIED)
        log.advance(minutes=12)


def honest_station(days: list[date], hooks: Mapping[date, Hook] | None = None,
                   offline: frozenset[date] = frozenset(),
                   log: StationLog | None = None) -> StationLog:
    """Honest working days; ``hooks`` add something before a day's sync, on ``offline``
    days there is no network."""
    if log is None:
        log = new_station(at((days[0] - timedelta(days=3)).isoformat(), "16:00"))
    for n, day in enumerate(days):
        honest_day(log, day, n, before_sync=(hooks or {}).get(day), sync=day not in offline)
    return log
