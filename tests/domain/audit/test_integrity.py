"""Ledger integrity: gaps and duplicates in 办件编号 / 代办序号 and in the log's own index."""

from __future__ import annotations

from dataclasses import replace

import pytest

from station_app.domain.audit.findings import FindingCode, Severity, station_status
from station_app.domain.audit.integrity import audit_integrity
from station_app.domain.audit.settings import AuditThresholds
from station_app.domain.audit.timing import audit_timing
from station_app.domain.cases import created_body
from station_app.domain.log import MonoReading, make_origin
from tests.domain.audit.logbook import PROMISED, StationLog, at


def day_of_cases(drop: int | None = None) -> tuple[StationLog, list[str]]:
    log = StationLog(at("2025-11-03", "08:00"))
    log.until(at("2025-11-03", "09:00"))
    numbers = []
    for n in range(1, 7):
        numbers.append(log.receive(drop=n == drop))
        log.advance(minutes=20)
    return log, numbers


def test_a_complete_day_has_no_findings():
    log, numbers = day_of_cases()
    assert numbers[-1] == "330199101201-20251103-0006"
    assert audit_integrity(log.decoded()) == []


def test_a_case_deleted_from_the_log_leaves_a_gap_in_the_day_s_numbers():
    log, numbers = day_of_cases(drop=3)
    findings = audit_integrity(log.decoded())
    assert [f.code for f in findings] == [FindingCode.NUMBER_GAP]
    [gap] = findings
    assert gap.numbers == ("330199101201-20251103-0003",) == (numbers[2],)
    assert gap.severity is Severity.RED and station_status(findings) == "red"
    assert gap.evidence == {"kind": "case.created", "period": "20251103", "missing_seqs": [3],
                            "max_seq": 6, "present": 5}
    # the entries either side of the hole: cases 2 and 4
    assert [log.entries[i].body["case_no"][-1] for i in gap.entries] == ["2", "4"]
    assert "缺号" in gap.message and "2025-11-03" in gap.message
    # the rebuilt log itself is gap-free, so only the numbers tell
    assert audit_timing(log.decoded(), None, thresholds=AuditThresholds(),
                        now=at("2025-11-03", "18:00")) == []


def test_numbers_are_counted_per_day_and_proxy_numbers_per_year():
    log = StationLog(at("2025-12-30", "09:00"))
    log.receive()
    log.register_proxy()
    log.register_proxy(drop=True)
    log.register_proxy()
    log.sleep(days=1)
    log.receive()  # 31 Dec starts again at 0001
    log.sleep(days=1)
    log.register_proxy()  # 2026 starts again at 00001
    findings = audit_integrity(log.decoded())
    assert [(f.code, f.numbers) for f in findings] == [
        (FindingCode.NUMBER_GAP, ("330199101201-DB2025-00002",))]
    assert findings[0].evidence["period"] == "2025"


def test_a_number_used_twice_is_a_duplicate():
    log, numbers = day_of_cases()
    # a second case.created for case 2, written by hand into the log
    log.append("case.created", created_body(case_no=numbers[1], item=PROMISED, applicant="p-x",
                                            channel=log.case(numbers[1]).channel,
                                            at=log.wall))
    findings = audit_integrity(log.decoded())
    assert [f.code for f in findings] == [FindingCode.DUPLICATE_NUMBER]
    assert findings[0].numbers == (numbers[1],)
    assert findings[0].entries == (2, len(log.entries) - 1)


def test_a_number_of_another_station_is_foreign():
    log, _ = day_of_cases()
    log.append("case.created", created_body(case_no="330199101999-20251103-0001", item=PROMISED,
                                            applicant="p-y", channel=log.case(_[0]).channel,
                                            at=log.wall))
    findings = audit_integrity(log.decoded())
    assert [(f.code, f.numbers) for f in findings] == [
        (FindingCode.FOREIGN_NUMBER, ("330199101999-20251103-0001",))]


def test_a_missing_log_index_is_a_log_gap():
    log, _ = day_of_cases()
    entries = log.decoded()
    del entries[4]
    findings = audit_integrity(entries)
    assert [f.code for f in findings] == [FindingCode.LOG_GAP, FindingCode.NUMBER_GAP]
    assert findings[0].entries == (4,) and findings[0].evidence["missing"] == [4]


def test_entries_of_two_logs_are_refused():
    log, _ = day_of_cases()
    entries = log.decoded()
    other = replace(entries[1], origin=make_origin("330199101999", bytes(32)))
    with pytest.raises(ValueError):
        audit_integrity([*entries, other])


def test_a_monotonic_clock_running_backwards_within_a_boot_is_flagged():
    log, _ = day_of_cases()
    entries = log.decoded()
    entries[3] = replace(entries[3], t_mono=MonoReading(boot=entries[3].t_mono.boot, us=1))
    findings = audit_timing(entries, None, thresholds=AuditThresholds(),
                            now=at("2025-11-03", "18:00"))
    assert [f.code for f in findings] == [FindingCode.MONO_BACKWARDS]
    assert findings[0].entries == (2, 3)
