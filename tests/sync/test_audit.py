"""The county audit on logs that really came through the county server (issue 6).

Each station works through October 2025 (the National Day holiday, 1–8 October, in the
middle) on simulated working days, and syncs at the end of each one. The county clock
keeps time with the stations'. The honest station must come out clean; each cheat must be
flagged for exactly what it did.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from station_app.domain.audit import FindingCode, Period, parse_thresholds
from station_app.domain.audit.facts import kpis_from_facts, station_facts
from station_app.domain.cases import Channel, created_body
from station_app.domain.clock import CST
from station_app.domain.numbering import case_number
from station_app.domain.people import PersonDetails
from station_app.domain.states import CaseState
from station_app.errors import HistoryConflict
from station_app.services.cases import CaseRequest, add_case, move_case
from station_app.services.clock import ManualClock
from station_app.services.station import Station
from sync.client import HttpTransport
from sync.county.audit import CountyAudit, StationAudit, audit_county, draw_spot_check_for
from sync.county.kpis import kpi_table, refresh_facts
from sync.county.service import County
from sync.county.store import CountyDb
from sync.station import sync_once
from tests.domain.audit.test_facts import with_loops
from tests.domain.audit.test_kpi import SEEDED as HAND_CALENDAR
from tests.domain.audit.test_kpi import build as hand_month
from tests.domain.audit.test_kpi import records as hand_records

ITEM = "LOCAL-MZ-004"
OCTOBER = Period.month("2025-10")
WORK_DAYS = (date(2025, 9, 29), date(2025, 9, 30), date(2025, 10, 9), date(2025, 10, 10),
             date(2025, 10, 13), date(2025, 10, 14), date(2025, 10, 15))
AUDIT_AT = datetime(2025, 10, 16, 9, 0, tzinfo=CST)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), CST)


def work_day(st: Station, county_clock: ManualClock, transport: HttpTransport, day: date,
             applicant: PersonDetails, cases: int = 4) -> None:
    """``cases`` applicants served 20 minutes apart, every case accepted on the spot and
    every other one finished on the spot; the day's log synced at 17:00."""
    clock: ManualClock = st.clock  # type: ignore[assignment]
    clock.set(at(day, 9))
    for n in range(cases):
        clock.advance(minutes=20)
        case = add_case(st, CaseRequest(item=ITEM, applicant=applicant))
        move_case(st, case.case_no, CaseState.ACCEPTED)
        if n % 2 == 0:
            move_case(st, case.case_no, CaseState.FINISHED, details={"outcome": "APPROVED"})
    sync_at(st, county_clock, transport, at(day, 17))


def sync_at(st: Station, county_clock: ManualClock, transport: HttpTransport,
            moment: datetime) -> None:
    clock: ManualClock = st.clock  # type: ignore[assignment]
    clock.set(max(moment, clock.now()))
    county_clock.set(max(moment, county_clock.now()))
    sync_once(st, transport)


def honest_weeks(st: Station, county_clock: ManualClock, transport: HttpTransport,
                 applicant: PersonDetails, days: Iterable[date] = WORK_DAYS) -> None:
    for day in days:
        work_day(st, county_clock, transport, day, applicant)


def audit_of(county: County, st: Station, county_clock: ManualClock) -> StationAudit:
    county_clock.set(max(AUDIT_AT, county_clock.now()))
    result = audit_county(county.db, period=OCTOBER, now=county_clock.now(),
                          thresholds=parse_thresholds(None), station=st.info.code)
    (only,) = [a for a in result.stations if a.origin == st.info.origin]
    return only


def codes(audit: StationAudit) -> set[FindingCode]:
    return {f.code for f in audit.findings}


# ------------------------------------------------------------------------- honest


def test_an_honest_station_scores_clean_with_its_kpis_computed_by_hand(
        village: Station, county: County, county_clock: ManualClock,
        transport: HttpTransport, applicant: PersonDetails):
    honest_weeks(village, county_clock, transport, applicant)

    audit = audit_of(county, village, county_clock)

    assert audit.findings == () and audit.status == "green" and audit.verified
    assert audit.entries == village.ledger.size()
    k = {code: r.value for code, r in audit.kpis.items()}
    # October: 5 working days × 4 cases, all accepted on the day, 2 a day finished on it.
    assert audit.kpis["on_site_rate"].denominator == 20 and k["on_site_rate"] == 0.5
    assert audit.kpis["on_time_rate"].denominator == 10 and k["on_time_rate"] == 1.0
    assert k["avg_visits"] == 1.0
    assert k["evaluation_rate"] == 0.0  # finished, never rated
    assert k["satisfaction_rate"] is None and k["bad_review_fixed_rate"] is None  # no ratings
    assert k["proxy_reported_in_3wd_rate"] is None  # a town centre's window: no proxy entries
    assert k["overdue_now"] == 0 and audit.kpis["overdue_now"].denominator == 14
    finished = set(audit.kpis["on_time_rate"].numerator_cases)
    assert len(finished) == 10 and all(n.startswith("330199101201-202510") for n in finished)


def test_the_county_figures_add_up_the_stations_never_average_their_rates(
        village: Station, county: County, county_clock: ManualClock,
        transport: HttpTransport, applicant: PersonDetails):
    honest_weeks(village, county_clock, transport, applicant)
    result = audit_county(county.db, period=OCTOBER, now=AUDIT_AT,
                          thresholds=parse_thresholds(None))
    assert isinstance(result, CountyAudit)
    assert result.county["on_site_rate"] == result.towns["330199101000"]["on_site_rate"]
    assert result.county["on_site_rate"].numerator == 10


# ------------------------------------------------------------------------- cheats


def test_a_station_that_sets_its_clock_back_is_flagged_as_back_dating(
        village: Station, county: County, county_clock: ManualClock,
        transport: HttpTransport, applicant: PersonDetails):
    honest_weeks(village, county_clock, transport, applicant)
    # 16 October: the clock is set back two days (after a restart) to pass a case as on time.
    village.clock = ManualClock(at(date(2025, 10, 14), 10))
    add_case(village, CaseRequest(item=ITEM, applicant=applicant))
    village.clock = ManualClock(at(date(2025, 10, 16), 17))  # …and put right again
    sync_at(village, county_clock, transport, at(date(2025, 10, 16), 17))

    audit = audit_of(county, village, county_clock)

    assert codes(audit) == {FindingCode.BACKDATED}
    (flag,) = audit.findings
    assert flag.entries == (village.ledger.size() - 1,) and audit.status == "red"


def test_a_month_of_paper_cases_typed_in_one_evening_is_flagged_as_batch_entry(
        village: Station, county: County, county_clock: ManualClock,
        transport: HttpTransport, applicant: PersonDetails):
    honest_weeks(village, county_clock, transport, applicant)
    clock: ManualClock = village.clock  # type: ignore[assignment]
    clock.set(at(date(2025, 10, 15), 19))
    for n in range(15):  # cases "received" over three weeks, all typed in 30 minutes
        clock.advance(minutes=2)
        add_case(village, CaseRequest(item=ITEM, applicant=applicant,
                                      at=at(date(2025, 9, 22) + timedelta(days=n), 10)))
    sync_at(village, county_clock, transport, at(date(2025, 10, 15), 20))

    audit = audit_of(county, village, county_clock)

    assert codes(audit) == {FindingCode.BATCH_ENTRY, FindingCode.LATE_ENTRY}
    batch = next(f for f in audit.findings if f.code is FindingCode.BATCH_ENTRY)
    assert len(batch.numbers) == 15


def test_a_case_deleted_before_the_next_sync_leaves_a_gap_in_the_numbers(
        village: Station, county: County, county_clock: ManualClock,
        transport: HttpTransport, applicant: PersonDetails):
    """The log after the cheat is all a dishonest admin with the key could upload: the
    day's cases 0001 and 0003, each re-signed, and no trace of 0002 — but the villager holds
    a receipt numbered 0002, and the county sees the hole."""
    honest_weeks(village, county_clock, transport, applicant)
    clock: ManualClock = village.clock  # type: ignore[assignment]
    day = date(2025, 10, 16)
    clock.set(at(day, 9))
    with village.transaction() as tx:
        for seq in (1, 3):
            clock.advance(minutes=30)
            person = village.db.execute("SELECT person FROM person").fetchone()[0]
            tx.append("case.created", created_body(
                case_no=case_number(village.info.code, day, seq),
                item=village.projector.catalog().item(ITEM), applicant=person,
                channel=Channel.WINDOW, at=clock.now()))
    sync_at(village, county_clock, transport, at(day, 17))

    audit = audit_of(county, village, county_clock)

    assert codes(audit) == {FindingCode.NUMBER_GAP}
    (gap,) = audit.findings
    assert case_number(village.info.code, day, 2) in gap.message + str(gap.evidence)


def test_a_forked_log_is_flagged_with_the_evidence_the_county_kept(
        village: Station, county: County, county_clock: ManualClock,
        transport: HttpTransport, applicant: PersonDetails, tmp_path: Path):
    honest_weeks(village, county_clock, transport, applicant, WORK_DAYS[:3])
    village.close()
    shutil.copytree(village.folder, tmp_path / "copy")
    clock = ManualClock(at(date(2025, 10, 10), 9))
    with Station.open(village.folder, clock=clock) as original, \
            Station.open(tmp_path / "copy", clock=ManualClock(at(date(2025, 10, 10), 10))
                         ) as copy:
        work_day(original, county_clock, transport, date(2025, 10, 10), applicant)
        for _ in range(8):  # the copy's own day, longer than the original's
            case = add_case(copy, CaseRequest(item=ITEM, applicant=applicant))
            move_case(copy, case.case_no, CaseState.ACCEPTED)
        with pytest.raises(HistoryConflict):  # its checkpoint is not an extension: refused
            sync_once(copy, transport)
        audit = audit_of(county, original, county_clock)

    assert codes(audit) == {FindingCode.HISTORY_REWRITTEN}
    assert audit.verified  # what the county stored is still exactly the original's log


# ------------------------------------------------------------------------- spot check


def test_the_monthly_draw_is_reproducible_and_leans_on_flagged_cases(
        village: Station, county: County, county_clock: ManualClock,
        transport: HttpTransport, applicant: PersonDetails):
    honest_weeks(village, county_clock, transport, applicant)
    county_clock.set(AUDIT_AT)
    thresholds = parse_thresholds(None)
    one = draw_spot_check_for(county.db, month="2025-10", seed="2025-11-03 县审计",
                              now=AUDIT_AT, thresholds=thresholds)
    again = draw_spot_check_for(county.db, month="2025-10", seed="2025-11-03 县审计",
                                now=AUDIT_AT, thresholds=thresholds)
    other = draw_spot_check_for(county.db, month="2025-10", seed="another seed",
                                now=AUDIT_AT, thresholds=thresholds)

    assert one.to_json() == again.to_json() and one.digest == again.digest
    (station,) = one.stations
    assert station.population == 20 and len(station.drawn) == thresholds.spot_cases_green
    assert other.digest != one.digest


# ------------------------------------------------------------------ KPI table from facts


def test_the_kpi_table_from_facts_equals_the_full_audit_and_refreshes_only_grown_logs(
        village: Station, county: County, county_clock: ManualClock,
        transport: HttpTransport, applicant: PersonDetails):
    honest_weeks(village, county_clock, transport, applicant)
    assert refresh_facts(county.db, now=AUDIT_AT) == 1
    assert refresh_facts(county.db, now=AUDIT_AT) == 0  # nothing new: nothing re-folded

    for period, now in ((OCTOBER, AUDIT_AT), (Period(date(2025, 9, 29), date(2025, 10, 10)),
                                              at(date(2025, 11, 20), 9))):
        full = audit_county(county.db, period=period, now=now,
                            thresholds=parse_thresholds(None)).stations[0].kpis
        table = kpi_table(county.db, period=period, now=now)
        fast = table.stations[village.info.code]
        assert {c: (r.numerator, r.denominator) for c, r in fast.items()} == \
            {c: (r.numerator, r.denominator) for c, r in full.items()}
        assert table.county["on_site_rate"].value == fast["on_site_rate"].value

    work_day(village, county_clock, transport, date(2025, 10, 16), applicant)
    assert refresh_facts(county.db, now=AUDIT_AT) == 1
    assert kpi_table(county.db, period=OCTOBER, now=AUDIT_AT).stations[
        village.info.code]["on_site_rate"].denominator == 24


@pytest.mark.parametrize("period,now", [
    (Period.month("2025-11"), datetime(2025, 12, 1, 10, tzinfo=CST)),
    (Period.month("2025-11"), datetime(2025, 11, 21, 10, tzinfo=CST)),
    (Period(date(2025, 10, 20), date(2025, 11, 12)), datetime(2025, 11, 13, 8, tzinfo=CST)),
    (Period(date(2025, 11, 1), date(2025, 11, 1)), datetime(2026, 1, 5, 9, tzinfo=CST)),
])
def test_the_sql_sums_equal_the_facts_with_proxies_and_ratings(
        tmp_path: Path, period: Period, now: datetime):
    """The hand-computed month of the domain tests (cases, proxy entries sent late, on time
    and never, first ratings and follow-ups) through the county database."""
    for n, records in enumerate((hand_records(hand_month()[0]), with_loops()[0])):
        facts = station_facts(records, HAND_CALENDAR)  # the second with 差评整改 loops
        db = CountyDb(str(tmp_path / f"county-{n}.db"))
        try:
            with db.write() as tx:
                tx.replace_facts("vss/330199101201/hand", "330199101201", "330199101000",
                                 facts, 0, now.isoformat())
            table = kpi_table(db, period=period, now=now).stations["330199101201"]
        finally:
            db.close()
        expected = kpis_from_facts(facts, period, now)
        assert {c: (r.numerator, r.denominator) for c, r in table.items()} == \
            {c: (r.numerator, r.denominator) for c, r in expected.items()}
