"""A lost PC's paper re-entered after a recovery (docs/recovery.md, "Numbers after a
recovery"): the numbers its recovery reserved are a known loss — no NUMBER_GAP, and the
re-entries are 补录 (LATE_ENTRY, named), never 体外循环 (BATCH_ENTRY). The ``reentry`` mark
alone earns nothing: outside a reserved range it is judged like any other entry."""

from __future__ import annotations

from datetime import date

from station_app.domain.audit.findings import FindingCode
from station_app.domain.audit.integrity import audit_integrity, known_reentries
from station_app.domain.audit.settings import AuditThresholds
from station_app.domain.audit.timing import audit_timing
from station_app.domain.cases import Channel, ReceivedMaterial, created_body
from station_app.domain.numbering import case_number, reserve_after_loss, reserved_body
from tests.domain.audit.logbook import PROMISED, STATION, StationLog, at
from tests.domain.audit.scenarios import working_days
from tests.domain.audit.test_timing import SEEDED

DAYS = working_days(date(2025, 11, 10), date(2025, 11, 21), SEEDED)


def papers(reserved_from: date) -> StationLog:
    """A replacement PC's log: its succession entry reserves from ``reserved_from`` to the
    recovery day; that evening the clerk types in two lost papers per day of 10–21 Nov
    (printed numbers 0002 and 0005: the ones between were never found)."""
    log = StationLog(at("2025-11-24", "08:00"))
    ranges = reserve_after_loss(last_day=reserved_from, recovery_day=date(2025, 11, 24),
                                highest_case={}, highest_proxy={})
    log.append("log.succession", {"reserved": reserved_body(ranges)})
    log.sync()
    log.until(at("2025-11-24", "19:00"))
    for day in DAYS:
        for seq, clock in ((2, "10:00"), (5, "15:00")):
            body = created_body(case_no=case_number(STATION, day, seq), item=PROMISED,
                                applicant=f"person-{day:%d}{seq}", channel=Channel.WINDOW,
                                at=at(day.isoformat(), clock),
                                materials=[ReceivedMaterial(name="居民身份证", originals=1)])
            body["reentry"] = {"reason": "原电脑被盗，按纸质回执补录", "reserved": True}
            log.append("case.created", body)
            log.advance(minutes=2)
    log.sync()
    return log


def audit(log: StationLog) -> list:
    entries = log.decoded()
    return audit_integrity(entries) + audit_timing(
        entries, log.receipts, log.readings, thresholds=AuditThresholds(),
        now=at("2025-11-24", "20:00"))


def test_paper_re_entered_with_reserved_numbers_is_a_named_late_entry_only():
    log = papers(reserved_from=date(2025, 11, 10))
    findings = audit(log)
    assert sorted({f.code for f in findings}) == [FindingCode.LATE_ENTRY]
    [late] = findings
    assert len(late.evidence["reentries_after_loss"]) == 2 * len(DAYS) == late.evidence["count"]
    assert "换电脑恢复后按纸质编号补录" in late.message
    assert known_reentries(log.decoded()) == set(late.entries)


def test_the_reentry_mark_outside_the_reserved_days_is_judged_as_any_batch():
    log = papers(reserved_from=date(2025, 11, 20))  # only 20, 21 and 24 Nov reserved
    findings = audit(log)
    found = {f.code for f in findings}
    assert {FindingCode.BATCH_ENTRY, FindingCode.NUMBER_GAP, FindingCode.LATE_ENTRY} <= found
    gaps = [f for f in findings if f.code is FindingCode.NUMBER_GAP]
    assert {f.evidence["period"] for f in gaps} == {f"{d:%Y%m%d}" for d in DAYS[:-2]}
    [late] = [f for f in findings if f.code is FindingCode.LATE_ENTRY]
    assert len(late.evidence["reentries_after_loss"]) == 4  # 20 and 21 Nov only
