"""KPIs on a small hand-computed data set (November 2025, no holidays), and their aggregation.

    case  item       received      accepted     finished     visits  evaluations
    A     即办件      3 Nov 09:00   3 Nov 09:10  3 Nov 09:20  1       非常满意 (3 Nov)
    B     承诺 5 WD   3 Nov 10:00   3 Nov 10:30  7 Nov        2       不满意 (7 Nov),
                                                                     追评 满意 (12 Nov)
    C     承诺, 代办   4 Nov         4 Nov        14 Nov (due 11 Nov: late)  0
    D     承诺        20 Nov        20 Nov       — in progress, due 27 Nov: overdue on 1 Dec
    E     承诺        28 Nov        —            — decision due 5 Dec
    F     承诺, 网上   31 Oct        31 Oct       5 Nov (due 7 Nov)  0   基本满意 (5 Nov)
    G     作废        10 Nov

    proxy  registered  submitted         3-WD due
    P0     30 Oct      —                 (outside the period)
    P1     3 Nov       6 Nov             6 Nov   in time; evaluated 非常不满意 (20 Nov)
    P2     10 Nov      14 Nov            13 Nov  late
    P3     27 Nov      —                 2 Dec   not yet due on 1 Dec: not counted
    P4     17 Nov      —                 20 Nov  overdue, never sent
    P5     18 Nov      terminated 19 Nov —       withdrawn before sending: not counted
"""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from station_app.domain.audit.kpi import (
    KPI_BY_CODE,
    KPI_DEFINITIONS,
    KpiKind,
    KpiResult,
    Period,
    StationRecords,
    aggregate,
    aggregate_tables,
    compute_kpis,
)
from station_app.domain.calendar import HolidayCalendar
from station_app.domain.cases import Channel
from station_app.domain.evaluations import Level
from station_app.domain.states import CaseState, ProxyState
from station_app.errors import InvalidInput
from station_app.services.calendar_seed import chinese_calendar_years
from tests.domain.audit.logbook import IMMEDIATE, StationLog, at

SEEDED = HolidayCalendar.from_years(chinese_calendar_years())
NOVEMBER = Period.month("2025-11")
NOW = at("2025-12-01", "10:00")
C, P = CaseState, ProxyState


def build() -> tuple[StationLog, dict[str, str]]:
    log = StationLog(at("2025-12-01", "08:00"))
    n: dict[str, str] = {}

    def case(name: str, served: datetime, **kw) -> str:
        n[name] = log.receive(served=served, **kw)
        return n[name]

    a = case("A", at("2025-11-03", "09:00"), item=IMMEDIATE)
    log.move(a, C.ACCEPTED, served=at("2025-11-03", "09:10"))
    log.move(a, C.FINISHED, served=at("2025-11-03", "09:20"))
    b = case("B", at("2025-11-03", "10:00"))
    log.move(b, C.ACCEPTED, served=at("2025-11-03", "10:30"))
    log.visit(b, served=at("2025-11-07", "09:00"))
    log.move(b, C.FINISHED, served=at("2025-11-07", "10:00"))
    c = case("C", at("2025-11-04"), channel=Channel.PROXY)
    log.move(c, C.ACCEPTED, served=at("2025-11-04", "09:30"))
    log.move(c, C.FINISHED, served=at("2025-11-14"))
    d = case("D", at("2025-11-20"))
    log.move(d, C.ACCEPTED, served=at("2025-11-20", "09:30"))
    log.move(d, C.IN_PROGRESS, served=at("2025-11-21"))
    case("E", at("2025-11-28"))
    f = case("F", at("2025-10-31"), channel=Channel.ONLINE)
    log.move(f, C.ACCEPTED, served=at("2025-10-31", "10:00"))
    log.move(f, C.FINISHED, served=at("2025-11-05"))
    g = case("G", at("2025-11-10"))
    log.move(g, C.VOID, served=at("2025-11-10", "09:05"))

    for name, day in (("P0", "2025-10-30"), ("P1", "2025-11-03"), ("P2", "2025-11-10"),
                      ("P3", "2025-11-27"), ("P4", "2025-11-17"), ("P5", "2025-11-18")):
        n[name] = log.register_proxy(served=at(day))
    log.proxy_move(n["P1"], P.SUBMITTED, served=at("2025-11-06", "16:00"))
    log.proxy_move(n["P2"], P.SUBMITTED, served=at("2025-11-14"))
    log.proxy_move(n["P5"], P.TERMINATED, served=at("2025-11-19"))

    log.evaluate(a, Level.VERY_SATISFIED, served=at("2025-11-03", "09:25"))
    log.evaluate(b, Level.DISSATISFIED, served=at("2025-11-07", "10:05"))
    log.evaluate(b, Level.SATISFIED, served=at("2025-11-12"))  # 追评 after the 回访
    log.evaluate(f, Level.BASIC, served=at("2025-11-05", "10:00"))
    log.evaluate(n["P1"], Level.VERY_DISSATISFIED, served=at("2025-11-20"), kind="proxy")
    return log, n


def records(log: StationLog) -> StationRecords:
    return StationRecords(station=log.station, cases=log.cases(), proxies=log.proxies(),
                          evaluations=log.evaluations)


def test_every_kpi_of_the_hand_computed_month():
    log, n = build()
    k = compute_kpis(records(log), NOVEMBER, SEEDED, NOW)
    assert list(k) == [d.code for d in KPI_DEFINITIONS]

    def check(code, num, den, value, num_cases, den_cases):
        r = k[code]
        assert (r.numerator, r.denominator) == (num, den), code
        assert r.value == pytest.approx(value) if value is not None else r.value is None
        assert r.numerator_cases == tuple(n[x] for x in num_cases), code
        assert r.denominator_cases == tuple(n[x] for x in den_cases), code

    check("on_time_rate", 3, 4, 0.75, "ABF", "ABCF")
    check("on_site_rate", 1, 4, 0.25, "A", "ABCD")
    check("evaluation_rate", 3, 4, 0.75, "ABF", "ABCF")
    check("satisfaction_rate", 2, 4, 0.5, ["A", "F"], ["A", "F", "B", "P1"])
    check("bad_review_fixed_rate", 1, 2, 0.5, ["B"], ["B", "P1"])
    check("avg_visits", 3, 4, 0.75, "AB", "ABCF")
    check("proxy_reported_in_3wd_rate", 1, 3, 1 / 3, ["P1"], ["P1", "P2", "P4"])
    check("overdue_now", 1, 2, 1, "D", "DE")


def test_a_station_with_nothing_in_the_period_has_null_kpis_not_zero():
    log, _ = build()
    k = compute_kpis(records(log), Period.month("2025-08"), SEEDED, NOW)
    assert {code: r.value for code, r in k.items()} == {
        d.code: None for d in KPI_DEFINITIONS if d.code != "overdue_now"} | {"overdue_now": 1}
    empty = compute_kpis(StationRecords(station="330199101299"), NOVEMBER, SEEDED, NOW)
    assert all(r.value is None and r.denominator == 0 for r in empty.values())
    assert all(r.to_dict()["value"] is None for r in empty.values())


def test_towns_add_numerators_and_denominators_of_their_stations():
    log, _ = build()
    whole = compute_kpis(records(log), NOVEMBER, SEEDED, NOW)
    cases, proxies = log.cases(), log.proxies()
    numbers = {c.case_no for c in cases[:3]} | {p.proxy_no for p in proxies[:3]}
    halves = [StationRecords(station=s, cases=[c for c in cases if keep(c.case_no in numbers)],
                             proxies=[p for p in proxies if keep(p.proxy_no in numbers)],
                             evaluations=[e for e in log.evaluations
                                          if keep(e.subject in numbers)])
              for s, keep in (("X", bool), ("Y", lambda x: not x))]
    town = aggregate_tables(compute_kpis(h, NOVEMBER, SEEDED, NOW) for h in halves)
    for code, r in town.items():
        assert (r.numerator, r.denominator, r.value) == \
            (whole[code].numerator, whole[code].denominator, whole[code].value)
        assert sorted(r.denominator_cases) == sorted(whole[code].denominator_cases)


def test_a_town_rate_is_not_the_average_of_station_rates():
    small = KpiResult(code="on_time_rate", numerator=1, denominator=1)
    big = KpiResult(code="on_time_rate", numerator=0, denominator=3)
    assert aggregate([small, big]).value == 0.25  # not (1.0 + 0.0) / 2
    with pytest.raises(ValueError):
        aggregate([small, KpiResult(code="avg_visits", numerator=1, denominator=1)])


counts = st.integers(min_value=0, max_value=50).flatmap(
    lambda den: st.tuples(st.integers(min_value=0, max_value=den), st.just(den)))


@given(st.lists(counts, max_size=12), st.sampled_from([d.code for d in KPI_DEFINITIONS]))
def test_aggregation_is_the_ratio_of_sums(parts, code):
    results = [KpiResult(code=code, numerator=a, denominator=b) for a, b in parts]
    total = aggregate(results) if results else aggregate_tables([])[code]
    num, den = sum(a for a, _ in parts), sum(b for _, b in parts)
    assert (total.numerator, total.denominator) == (num, den)
    if den == 0:
        assert total.value is None
    elif KPI_BY_CODE[code].kind is KpiKind.COUNT:
        assert total.value == num
    else:
        assert total.value == num / den
    # adding in any grouping gives the same result (towns first, then the county)
    half = len(results) // 2
    if results[:half] and results[half:]:
        nested = aggregate([aggregate(results[:half]), aggregate(results[half:])])
        assert (nested.numerator, nested.denominator) == (num, den)


def test_every_definition_states_numerator_and_denominator_in_chinese():
    for d in KPI_DEFINITIONS:
        assert d.name and d.numerator and d.denominator
        assert d.to_dict()["code"] == d.code


def test_a_month_is_its_calendar_days_and_bad_months_are_refused():
    feb = Period.month("2024-02")
    assert (feb.first.isoformat(), feb.last.isoformat()) == ("2024-02-01", "2024-02-29")
    dec = Period.month("2025-12")
    assert dec.last.isoformat() == "2025-12-31"
    assert dec.contains(at("2025-12-31", "23:59")) and not dec.contains(at("2026-01-01", "00:00"))
    for bad in ("2025-13", "2025-1", "", "十一月"):
        with pytest.raises(InvalidInput):
            Period.month(bad)
    with pytest.raises(InvalidInput):
        Period(dec.last, dec.first)
