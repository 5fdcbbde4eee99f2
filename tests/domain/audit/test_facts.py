"""KPIs summed from fact rows equal the KPIs folded from the records, for any period and
any "now": the county's SQL over facts cannot drift from the definitions."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from station_app.domain import badreview
from station_app.domain.audit.facts import kpis_from_facts, station_facts
from station_app.domain.audit.kpi import Period, StationRecords, compute_kpis
from station_app.domain.badreview import BadReview, Step
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


def loop(subject: str, kind: str, opened: datetime, *, overturn: bool = False) -> BadReview:
    """A 差评整改 loop as the station writes it: closed step by step, or overturned."""
    entries = [(badreview.OPENED, badreview.opened_body(
        subject=subject, subject_kind=kind, level="DISSATISFIED", assess_number=1,
        evaluation_idx=0, owner="王晓梅", at=opened, settings=badreview.Settings()), "clerk")]
    review = badreview.fold(entries)
    moments = (opened + timedelta(hours=h) for h in range(1, 10))
    if overturn:
        entries.append((badreview.APPEALED, badreview.appeal_body(
            review, badreview.AppealKind.MISRATED, "申请人误点", next(moments)), "clerk"))
        review = badreview.fold(entries)
        entries.append((badreview.DECIDED, badreview.decision_body(
            review, badreview.AppealOutcome.OVERTURNED, "复核属误评", next(moments)), "clerk"))
        return badreview.fold(entries)
    for step in (Step.RECTIFY, Step.FEEDBACK, Step.REVISIT, Step.CLOSED):
        entries.append((badreview.STEP, badreview.step_body(
            review, step, note="已处理", owner="王晓梅", at=next(moments)), "clerk"))
        review = badreview.fold(entries)
    return review


def with_loops() -> tuple[StationRecords, dict[str, str]]:
    log, n = build()
    recs = records(log)
    b_bad = next(e for e in recs.evaluations if e.subject == n["B"] and e.level.is_bad)
    p1_bad = next(e for e in recs.evaluations if e.subject == n["P1"])
    reviews = (loop(n["B"], "case", b_bad.at), loop(n["P1"], "proxy", p1_bad.at, overturn=True))
    return replace(recs, reviews=reviews), n


def test_a_closed_loop_is_a_fixed_bad_review_and_an_overturned_one_is_not_counted():
    recs, n = with_loops()
    k = compute_kpis(recs, NOVEMBER, SEEDED, NOW)["bad_review_fixed_rate"]
    assert (k.numerator_cases, k.denominator_cases) == ((n["B"],), (n["B"],))
    assert compute_kpis(recs, NOVEMBER, SEEDED, NOW)["satisfaction_rate"].denominator == 4
    facts = station_facts(recs, SEEDED)
    assert kpis_from_facts(facts, NOVEMBER, NOW) == compute_kpis(recs, NOVEMBER, SEEDED, NOW)


def test_while_its_loop_is_open_a_good_follow_up_does_not_count_as_fixed():
    recs, n = with_loops()
    opened_only = badreview.fold([(badreview.OPENED, badreview.opened_body(
        subject=n["B"], subject_kind="case", level="DISSATISFIED", assess_number=1,
        evaluation_idx=0, owner="王晓梅", at=NOW - timedelta(days=20),
        settings=badreview.Settings()), "clerk")])
    recs = replace(recs, reviews=(opened_only,))
    assert compute_kpis(recs, NOVEMBER, SEEDED, NOW)["bad_review_fixed_rate"].numerator == 0
