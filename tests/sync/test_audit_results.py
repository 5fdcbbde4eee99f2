"""Kept station audits (sync/county/audit_results.py, county migration 9): the dashboard's
overview reads results the county keeps, equal to a fresh ``audit_county``, audited again
only for the logs whose inputs changed, on a threshold change or a new day — on SQLite and
PostgreSQL, and shared by the processes of ``county serve --workers 2``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from station_app.domain.audit import FindingCode, parse_thresholds
from station_app.domain.audit.findings import findings_from_json, findings_to_json
from station_app.domain.people import PersonDetails
from station_app.services.cases import CaseRequest, add_case
from station_app.services.clock import ManualClock
from station_app.services.station import Station, StationSetup
from sync.client import AuditClient, HttpTransport
from sync.county.audit import StationAudit, audit_county
from sync.county.audit_results import (
    AuditResults,
    kept_sizes,
    period_key,
    thresholds_digest,
)
from sync.county.kpis import FactsKeeper
from sync.county.service import County
from sync.county.store import CountyDb
from sync.station import enroll, sync_once
from tests.sync.audit_sample import XILING
from tests.sync.cli_helpers import county as county_cli
from tests.sync.cli_helpers import init_county, ok_json
from tests.sync.conftest import VILLAGE, RunningServer, enroll_station, make_station
from tests.sync.test_audit import AUDIT_AT, ITEM, OCTOBER, WORK_DAYS, at, honest_weeks, sync_at
from tests.sync.test_recovery import Lost, lost, replace  # noqa: F401 (`lost` fixture)
from tests.sync.test_serve_workers import serving_workers

WEST = StationSetup(name="西岭村便民服务站", code=XILING, region=XILING, level="village")
DEFAULTS = parse_thresholds(None)


@pytest.fixture
def two(tmp_path: Path, clock: ManualClock, county: County, county_clock: ManualClock,
        county_server: RunningServer, applicant: PersonDetails
        ) -> Iterator[tuple[Station, Station, HttpTransport]]:
    """An honest village station and 西岭, which set its clock back (a red finding)."""
    village = make_station(tmp_path / "village", VILLAGE, clock)
    west = make_station(tmp_path / "west", WEST, ManualClock(clock.now()))
    try:
        for st in (village, west):
            enroll_station(st, county, county_server.url)
        with HttpTransport(county_server.url) as transport:
            honest_weeks(village, county_clock, transport, applicant, WORK_DAYS[2:4])
            honest_weeks(west, county_clock, transport, applicant, WORK_DAYS[2:3])
            west.clock = ManualClock(at(date(2025, 10, 8), 10))
            add_case(west, CaseRequest(item=ITEM, applicant=applicant))
            west.clock = ManualClock(at(date(2025, 10, 15), 17))
            sync_at(west, county_clock, transport, at(date(2025, 10, 15), 17))
            county_clock.set(AUDIT_AT)
            yield village, west, transport
    finally:
        village.close()
        west.close()


def fresh(county: County, thresholds=DEFAULTS) -> list[dict]:
    return audit_county(county.db, period=OCTOBER, now=county.now(),
                        thresholds=thresholds).to_dict()["stations"]


def kept(county: County, thresholds=DEFAULTS) -> list[StationAudit]:
    """The audits as a new process reads them (nothing parsed in memory yet)."""
    return AuditResults(county.db).audits(period=OCTOBER, now=county.now(),
                                          thresholds=thresholds)


def test_findings_survive_their_json(two, county: County):
    (west,) = [a for a in kept(county) if a.station == XILING]
    assert FindingCode.BACKDATED in {f.code for f in west.findings}
    assert findings_from_json(findings_to_json(west.findings)) == west.findings


def test_kept_audits_equal_a_fresh_county_audit_and_are_not_made_twice(
        two, county: County, county_clock: ManualClock):
    first = kept(county)
    assert [a.to_dict() for a in first] == fresh(county)
    assert {a.status for a in first} == {"red", "amber"}
    made = kept_sizes(county.db, OCTOBER)
    assert len(made) == 2

    county_clock.set(AUDIT_AT + timedelta(hours=3))  # same day, nothing new: read back
    again = kept(county)
    assert kept_sizes(county.db, OCTOBER) == made
    assert again == first and [a.to_dict() for a in again] == [a.to_dict() for a in first]


def test_a_station_that_syncs_more_is_audited_again_and_only_it(
        two, county: County, county_clock: ManualClock, applicant: PersonDetails):
    village, west, transport = two
    kept(county)
    before = kept_sizes(county.db, OCTOBER)

    village.clock = ManualClock(at(date(2025, 10, 16), 10))
    add_case(village, CaseRequest(item=ITEM, applicant=applicant))
    sync_at(village, county_clock, transport, at(date(2025, 10, 16), 10, 30))
    audits = kept(county)

    after = kept_sizes(county.db, OCTOBER)
    assert after[village.info.origin][0] == village.ledger.size() > \
        before[village.info.origin][0]
    assert after[village.info.origin][1] == "2025-10-16T10:30:00.000+08:00" != \
        before[village.info.origin][1]
    assert after[west.info.origin] == before[west.info.origin]  # not audited again
    assert [a.to_dict() for a in audits] == fresh(county)


def test_new_thresholds_and_a_new_day_audit_every_log_again(
        two, county: County, county_clock: ManualClock, tmp_path: Path):
    results = AuditResults(county.db)
    assert results.refresh(period=OCTOBER, now=county.now(), thresholds=DEFAULTS) == 2
    assert results.refresh(period=OCTOBER, now=county.now(), thresholds=DEFAULTS) == 0

    strict = parse_thresholds({"max_sync_lag_days": 1})
    assert results.refresh(period=OCTOBER, now=county.now(), thresholds=strict) == 2
    assert [a.to_dict() for a in kept(county, strict)] == fresh(county, strict)

    county_clock.set(AUDIT_AT + timedelta(hours=2))  # within max_age: nothing to do
    assert results.refresh(period=OCTOBER, now=county.now(), thresholds=strict,
                           max_age=3 * 3600) == 0
    assert results.refresh(period=OCTOBER, now=county.now(), thresholds=strict,
                           max_age=3600, budget=0) == 0  # no time left in this pass
    assert results.refresh(period=OCTOBER, now=county.now(), thresholds=strict,
                           max_age=3600) == 2  # older than an hour: the keeper's pass
    county_clock.set(AUDIT_AT + timedelta(days=1))
    assert results.refresh(period=OCTOBER, now=county.now(), thresholds=strict) == 2


def test_the_serve_keeper_keeps_the_current_months_audits(two, county: County,
                                                          county_clock: ManualClock,
                                                          tmp_path: Path):
    folder = tmp_path / "county"
    (folder / "audit.json").write_text(json.dumps({"max_sync_lag_days": 2}))
    FactsKeeper(county.db, county.now, 60, folder=folder).once()  # October 16th: October
    made = kept_sizes(county.db, OCTOBER)
    assert len(made) == 2
    with county.db.read() as tx:
        digests = {k[1] for k in tx.audit_result_keys(period_key(OCTOBER)).values()}
    thresholds = parse_thresholds({"max_sync_lag_days": 2})
    assert digests == {thresholds_digest(thresholds)}

    county_clock.set(AUDIT_AT + timedelta(minutes=5))  # the dashboard reads what it kept
    assert len(kept(county, thresholds)) == 2
    assert kept_sizes(county.db, OCTOBER) == made


def test_county_audit_audits_afresh_and_keeps_what_it_audited(two, county: County):
    results = AuditResults(county.db)
    results.audits(period=OCTOBER, now=county.now(), thresholds=DEFAULTS)
    with county.db.write() as tx:  # a kept row gone wrong is not trusted by `county audit`
        tx.run("UPDATE audit_result SET findings = '[]', status = 'green'")

    audit = results.audit_and_keep(period=OCTOBER, now=county.now(), thresholds=DEFAULTS)

    assert audit.to_dict()["stations"] == fresh(county)
    assert [a.to_dict() for a in kept(county)] == fresh(county)


def test_county_audit_on_the_command_line_keeps_its_results(tmp_path: Path):
    data = tmp_path / "county"
    init_county(data)
    assert ok_json(county_cli(data, "audit", "--month", "2025-10", "--json"))["stations"] == []


def test_a_replacement_pc_is_audited_with_the_lost_logs_history(
        tmp_path: Path, clock: ManualClock, county: County, county_server: RunningServer,
        lost: Lost):  # noqa: F811
    day = county.now()
    before = kept(county)
    assert [a.origin for a in before] == [lost.station.info.origin]

    clock.advance(hours=2)
    report = replace(county, county_server.url, tmp_path / "new", clock)
    after = kept(county)  # the lost log is now part of its successor's history

    assert [a.origin for a in after] == [report.origin] and county.now() == day
    assert FindingCode.RECOVERED_AFTER_LOSS in {f.code for f in after[0].findings}
    assert [a.to_dict() for a in after] == fresh(county)
    assert set(kept_sizes(county.db, OCTOBER)) == {lost.station.info.origin, report.origin}


# ----------------------------------------------------------------- two processes


def test_two_server_workers_answer_the_same_overview_from_the_kept_audits(
        tmp_path: Path, clock: ManualClock, applicant: PersonDetails):
    data = tmp_path / "county"
    init_county(data)
    token = ok_json(county_cli(data, "auditor", "add", "wang", "--json"))["token"]
    with serving_workers(data, workers=2) as (url, _proc):
        for folder, setup in ((tmp_path / "village", VILLAGE), (tmp_path / "west", WEST)):
            st = make_station(folder, setup, clock)
            try:
                ticket = ok_json(county_cli(data, "enroll", "--station", setup.code, "--json"))
                with HttpTransport(url) as transport:
                    enroll(st, transport, ticket["code"])
                    add_case(st, CaseRequest(item=ITEM, applicant=applicant))
                    sync_once(st, transport)
            finally:
                st.close()
        month = f"{datetime.now().astimezone():%Y-%m}"
        answers, made = [], []
        db = CountyDb(str(data / "county.db"))
        try:
            for _ in range(8):  # a new connection each time: the kernel spreads them
                with AuditClient(url, token) as client:
                    answers.append(client.overview(month))
                with db.read() as tx:
                    made.append(tx.audit_result_keys(
                        f"{month}-01/{answers[0]['period']['to']}"))
        finally:
            db.close()
    stations = [[(r["station"], r["entries"], r["flags"], r["rag"], r["kpis"], r["audited_at"])
                 for r in a["stations"]] for a in answers]
    assert all(s == stations[0] for s in stations) and len(stations[0]) == 2
    assert all(r[1] > 0 for r in stations[0])
    # Audited once, by whichever worker came first, then read by both (the workers' clocks
    # run: an audit made again would carry a later time).
    assert len(made[0]) == 2 and all(m == made[0] for m in made)
    assert {r[5] for r in stations[0]} == {k[3] for k in made[0].values()}
