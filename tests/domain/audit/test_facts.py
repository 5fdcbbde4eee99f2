"""KPIs summed from fact rows equal the KPIs folded from the records, for any period and
any "now": the county's SQL over facts cannot drift from the definitions."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from station_app.domain.audit.facts import kpis_from_facts, station_facts
from station_app.domain.audit.kpi import Period, compute_kpis
from station_app.domain.clock import CST
from tests.domain.audit.scenarios import honest_station, working_days
from tests.domain.audit.test_kpi import NOVEMBER, NOW, SEEDED, build, records

HAND = records(build()[0])
FACTS = station_facts(HAND, SEEDED)
HONEST = honest_station(working_days(date(2025, 10, 27), date(2025, 11, 21), SEEDED))
HONEST_RECORDS = records(HONEST)
HONEST_FACTS = station_facts(HONEST_RECORDS, SEEDED)


def test_the_hand_computed_month_from_facts():
    assert kpis_from_facts(FACTS, NOVEMBER, NOW) == compute_kpis(HAND, NOVEMBER, SEEDED, NOW)


days = st.integers(0, 75).map(lambda n: date(2025, 10, 15) + timedelta(days=n))


@settings(max_examples=150, deadline=None)
@given(days, st.integers(0, 40), st.integers(0, 24 * 60 - 1), st.integers(0, 60))
def test_any_period_and_any_now(first: date, length: int, minute: int, later: int):
    period = Period(first, first + timedelta(days=length))
    now = (NOW.replace(hour=0, minute=0) + timedelta(days=later - 30, minutes=minute)
           ).astimezone(CST)
    for recs, facts in ((HAND, FACTS), (HONEST_RECORDS, HONEST_FACTS)):
        assert kpis_from_facts(facts, period, now) == compute_kpis(recs, period, SEEDED, now)
