"""Timing flags: an honest station is clean; each kind of cheating is flagged for its reason."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta

from station_app.domain.audit.findings import FindingCode, Severity, station_status
from station_app.domain.audit.integrity import audit_integrity
from station_app.domain.audit.settings import AuditThresholds
from station_app.domain.audit.timing import audit_timing, creation_windows
from station_app.domain.calendar import HolidayCalendar
from station_app.domain.canonical import canonical_json
from station_app.domain.clock import parse_moment, to_cst
from station_app.domain.log import Beacon
from station_app.services.calendar_seed import chinese_calendar_years
from tests.domain.audit.logbook import StationLog, at
from tests.domain.audit.scenarios import honest_station, working_days

SEEDED = HolidayCalendar.from_years(chinese_calendar_years())
DEFAULTS = AuditThresholds()
NOVEMBER = working_days(date(2025, 11, 3), date(2025, 11, 28), SEEDED)


def audit(log, now, thresholds=DEFAULTS):
    entries = log.decoded()
    return audit_integrity(entries) + audit_timing(
        entries, log.receipts, log.readings, thresholds=thresholds, now=now)


def test_an_honest_station_over_four_working_weeks_has_no_findings():
    log = honest_station(NOVEMBER)
    assert len(log.entries) > 300 and len(log.receipts) == 21
    findings = audit(log, at("2025-11-28", "18:00"))
    assert findings == []
    assert station_status(findings) == "green"


def codes(findings):
    return sorted({f.code for f in findings})


def test_the_honest_station_s_afternoon_notes_are_late_entries_if_the_county_says_one_hour():
    log = honest_station(NOVEMBER[:5])
    strict = AuditThresholds(late_entry_hours=1)
    findings = audit(log, at("2025-11-07", "18:00"), strict)
    assert codes(findings) == [FindingCode.LATE_ENTRY]
    # one finding per day of writing, each about that day's visit noted three hours late
    assert [f.evidence["day"] for f in findings] == [d.isoformat() for d in NOVEMBER[:5]]
    assert all(f.evidence["count"] == 1 and f.severity is Severity.AMBER for f in findings)
    assert all(log.entries[f.entries[0]].kind == "case.visit" for f in findings)


def test_a_station_that_sets_its_clock_back_ten_days_is_flagged_as_backdating():
    cheated: list[str] = []

    def backdate(log):
        # Clock set back ten days in the BIOS and the PC restarted: three cases "of 7 Nov".
        log.reboot(log.true, wall_offset=timedelta(days=-10))
        for _ in range(3):
            cheated.append(log.receive())
            log.advance(minutes=4)
        log.reboot(log.true + timedelta(minutes=3), wall_offset=timedelta(0))

    log = honest_station(NOVEMBER[:12], hooks={date(2025, 11, 17): backdate})
    findings = audit(log, at("2025-11-18", "18:00"))
    assert codes(findings) == [FindingCode.BACKDATED]
    [backdated] = findings
    assert backdated.numbers == tuple(cheated)
    assert all(n.split("-")[1] == "20251107" for n in cheated)
    assert [log.entries[i].kind for i in backdated.entries] == ["case.created"] * 3
    # the lower bound is the receipt of 14 Nov (Friday) evening the station had already seen
    seen = next(r for r in log.receipts if r.size == backdated.evidence["receipt_size"])
    assert to_cst(seen.county_time).date() == date(2025, 11, 14)
    assert backdated.evidence["max_seconds_outside"] > 7 * 86400  # 7 Nov 16:30 < 14 Nov 17:30
    assert backdated.severity is Severity.RED


def test_setting_the_clock_back_two_hours_while_the_pc_runs_is_flagged_as_clock_backwards():
    def set_back(log):
        log.set_clock(log.wall - timedelta(hours=2))
        log.receive()
        log.advance(minutes=5)
        log.set_clock(log.true)  # and put right again: moving forward is no evidence

    log = honest_station(NOVEMBER[:5], hooks={date(2025, 11, 5): set_back})
    findings = audit(log, at("2025-11-07", "18:00"))
    assert codes(findings) == [FindingCode.CLOCK_BACKWARDS]
    [back] = findings
    previous, entry = (log.entries[i] for i in back.entries)
    assert entry.kind == "case.created" and entry.t_mono.boot == previous.t_mono.boot
    assert 2 * 3600 - 120 < back.evidence["set_back_seconds"] <= 2 * 3600 + 120


def test_a_month_of_cases_entered_in_one_evening_is_a_batch_entry_and_late_entries():
    def evening(log):
        log.reboot(at("2025-11-21", "18:55"))
        log.until(at("2025-11-21", "19:00"))
        for day in working_days(date(2025, 11, 10), date(2025, 11, 21), SEEDED):
            for clock in ("10:00", "15:00"):
                log.receive(served=at(day.isoformat(), clock))
                log.advance(minutes=2)
        log.sync()

    log = honest_station(NOVEMBER[:5])
    evening(log)
    findings = audit(log, at("2025-11-21", "20:00"))
    assert codes(findings) == [FindingCode.BATCH_ENTRY, FindingCode.LATE_ENTRY]
    [batch] = [f for f in findings if f.code is FindingCode.BATCH_ENTRY]
    # 10 to 20 November were more than 24 hours before; the two of 21 November were not
    assert batch.evidence["count"] == 18 and batch.evidence["span_days"] == 10
    assert batch.evidence["minutes"] < 40
    assert batch.severity is Severity.RED
    [late] = [f for f in findings if f.code is FindingCode.LATE_ENTRY]
    assert late.entries == batch.entries and late.evidence["day"] == "2025-11-21"


def test_a_batch_typed_with_the_clock_stepped_forward_each_time_is_seen_on_the_monotonic_clock():
    log = honest_station(NOVEMBER[:5])
    log.reboot(at("2025-11-28", "19:00"))
    for day in working_days(date(2025, 11, 10), date(2025, 11, 28), SEEDED):
        log.set_clock(at(day.isoformat(), "10:00"))  # so that t_wall matches the service day
        log.receive()
        log.advance(minutes=2)
    log.set_clock(log.true)
    log.sync()
    findings = audit(log, at("2025-11-28", "20:00"))
    # No LATE_ENTRY: each t_wall equals its service time. But the monotonic clock says the
    # fifteen entries were written within half an hour. (Taking the claimed times at their
    # word, they also waited more than a week for the county: SYNC_LAG.)
    assert codes(findings) == [FindingCode.BATCH_ENTRY, FindingCode.SYNC_LAG]
    [batch] = [f for f in findings if f.code is FindingCode.BATCH_ENTRY]
    assert batch.evidence["minutes"] < 30 and batch.evidence["count"] == 13


def test_a_station_offline_for_two_weeks_shows_its_sync_lag():
    offline = frozenset(NOVEMBER[5:14])
    log = honest_station(NOVEMBER[:15], offline=offline)
    findings = audit(log, at("2025-11-21", "18:00"))
    assert codes(findings) == [FindingCode.SYNC_LAG]
    [lag] = findings
    assert lag.evidence["pending"] is False
    assert lag.evidence["receipt_size"] == log.receipts[-1].size
    assert 10 * 86400 < lag.evidence["max_lag_seconds"] < 12 * 86400
    # only the entries made more than seven days before that receipt
    assert all(to_cst(log.receipts[-1].county_time) - to_cst(_wall(log, i)) >
               timedelta(days=7) for i in lag.entries)


def _wall(log, idx):
    return parse_moment(log.entries[idx].t_wall)


def test_a_station_that_stopped_syncing_is_flagged_at_audit_time():
    log = honest_station(NOVEMBER[:5])
    findings = audit(log, at("2025-11-20", "09:00"))
    assert codes(findings) == [FindingCode.NO_RECENT_SYNC]


def test_entries_waiting_for_a_receipt_too_long_are_a_pending_sync_lag():
    log = honest_station(NOVEMBER[:5], offline=frozenset(NOVEMBER[3:5]))
    findings = audit_timing(log.decoded(), log.receipts, log.readings, thresholds=DEFAULTS,
                            now=at("2025-11-14", "09:00"))
    assert codes(findings) == [FindingCode.NO_RECENT_SYNC, FindingCode.SYNC_LAG]
    [lag] = [f for f in findings if f.code is FindingCode.SYNC_LAG]
    assert lag.evidence["pending"] is True and lag.evidence["county_time"] is None
    assert "仍未同步" in lag.message


def test_a_clock_three_days_ahead_is_postdated_and_skewed():
    def ahead(log):
        log.reboot(log.true, wall_offset=timedelta(days=3))
        log.receive()
        log.advance(minutes=5)

    log = honest_station(NOVEMBER[:3])
    ahead(log)
    log.sync()
    log.reboot(log.true + timedelta(hours=1), wall_offset=timedelta(0))
    findings = audit(log, at("2025-11-05", "19:00"))
    assert codes(findings) == [FindingCode.CLOCK_SKEW, FindingCode.POSTDATED]
    skew = next(f for f in findings if f.code is FindingCode.CLOCK_SKEW)
    assert skew.evidence["worst_skew_seconds"] == 3 * 86400
    assert len(skew.evidence["readings"]) == 1


def test_thresholds_are_settings_a_wider_skew_tolerance_lets_a_slow_clock_pass():
    log = honest_station(NOVEMBER[:2])
    log.set_clock(log.true - timedelta(minutes=25))
    log.sync()
    now = at("2025-11-04", "18:00")
    assert codes(audit(log, now)) == [FindingCode.CLOCK_SKEW]
    assert audit(log, now, AuditThresholds(max_clock_skew_minutes=30)) == []


# ---------------------------------------------------------------- creation windows and beacons


def small_log():
    """Entry 0 and 1, receipt at size 2; entries 2 and 3, receipt at size 4; entry 4 pending."""
    log = StationLog(at("2025-11-03", "09:00"))
    log.receive()
    log.sync()
    log.advance(hours=1)
    log.receive()
    log.advance(hours=1)
    log.receive()
    log.sync()
    log.advance(hours=1)
    log.receive()
    return log


def test_each_entry_s_window_runs_from_the_receipt_it_had_seen_to_the_one_that_covered_it():
    log = small_log()
    first, second = log.receipts
    pairs = [(r.size, r.county_time) for r in log.receipts]  # plain pairs are accepted too
    windows = creation_windows(log.decoded(), pairs)
    assert [(w.idx, w.beacon_size, w.acknowledged_by) for w in windows] == [
        (0, None, 2), (1, None, 2), (2, 2, 4), (3, 2, 4), (4, 4, None)]
    assert windows[2].lower == first.county_time and windows[2].upper == second.county_time
    assert windows[0].lower is None and windows[4].upper is None
    assert windows[2].lower < windows[2].claimed < windows[2].upper
    assert windows[2].created == windows[2].claimed
    # without the county's receipts, only the beacons bound the window
    assert [w.upper for w in creation_windows(log.decoded(), None)] == [None] * 5


def test_a_beacon_the_county_never_issued_is_invalid():
    log = small_log()
    entries = log.decoded()
    forged = Beacon(size=3, time=entries[4].beacon.time, digest=entries[4].beacon.digest)
    entries[4] = replace(entries[4], beacon=forged)
    findings = audit_timing(entries, log.receipts, thresholds=DEFAULTS,
                            now=at("2025-11-03", "14:00"))
    assert [(f.code, f.entries) for f in findings] == [(FindingCode.BEACON_INVALID, (4,))]
    assert "从未签发" in findings[0].evidence["reason"]


def test_a_beacon_with_another_digest_or_time_is_invalid():
    log = small_log()
    entries = log.decoded()
    b = entries[4].beacon
    entries[4] = replace(entries[4], beacon=Beacon(size=b.size, time=b.time, digest="00" * 32))
    entries[3] = replace(entries[3], beacon=Beacon(size=2, time="2025-11-01T00:00:00.000+08:00",
                                                   digest=entries[3].beacon.digest))
    findings = audit_timing(entries, log.receipts, thresholds=DEFAULTS,
                            now=at("2025-11-03", "14:00"))
    assert [(f.code, f.entries) for f in findings] == [(FindingCode.BEACON_INVALID, (3,)),
                                                       (FindingCode.BEACON_INVALID, (4,))]
    assert "时间" in findings[0].evidence["reason"] and "摘要" in findings[1].evidence["reason"]


def test_an_unreadable_t_wall_is_reported_not_crashed_on():
    log = small_log()
    entries = log.decoded()
    entries[2] = replace(entries[2], t_wall="yesterday")
    findings = audit_timing(entries, log.receipts, thresholds=DEFAULTS,
                            now=at("2025-11-03", "14:00"))
    assert [(f.code, f.entries) for f in findings] == [(FindingCode.BAD_TIMESTAMP, (2,))]


def test_findings_are_plain_canonical_json_data():
    log = honest_station(NOVEMBER[:5])
    findings = audit(log, at("2025-11-07", "18:00"), AuditThresholds(late_entry_hours=1))
    for f in findings:
        data = canonical_json(f.to_dict())
        assert json.loads(data)["code"] == "LATE_ENTRY"
