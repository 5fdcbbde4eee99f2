"""七有 oversight at the county: the self-check in force per month, its photos checked
against their hashes, and the findings (pure, on logs written with the real constructors)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from station_app.domain import seven
from station_app.domain.audit import FindingCode, Period, Severity, seven_oversight
from station_app.domain.clock import CST
from station_app.domain.seven import Photo, RecordBook, Status
from tests.domain.audit.logbook import StationLog, at

OCTOBER = Period.month("2025-10")
NOVEMBER_2 = datetime(2025, 11, 2, 9, 0, tzinfo=CST)
JPEG = b"\xff\xd8\xff\xe0" + b"a sign board" * 50


def photo(data: bytes = JPEG) -> Photo:
    return Photo(sha256=hashlib.sha256(data).hexdigest(), width=8, height=6, data=data)


def self_check(log: StationLog, month: str, *, photos: dict[str, list[str]] | None = None,
               statuses: dict[str, Status] | None = None, reason: str = "", earlier: int = 0):
    met = {n: Status.MET for n in seven.ITEM_NAMES if n != seven.RECORD_BOOK}
    check = seven.build_self_check(
        month=month, statuses={**met, **(statuses or {})}, notes={}, photos=photos or {},
        checked_by="李站长", at=log.wall, book=RecordBook(cases=0, proxies=0, same_day=0),
        earlier=earlier, reason=reason)
    return log.append(seven.CHECKED, check.to_body())


def oversight(log: StationLog, now: datetime = NOVEMBER_2, period: Period = OCTOBER):
    return seven_oversight(log.station, log.decoded(), period=period, now=now)


def test_a_month_checked_with_its_photo_is_clean():
    log = StationLog(at("2025-09-20"))
    log.until(at("2025-10-31", "16:00"))
    p = photo()
    log.append(seven.PHOTO, p.to_body())
    entry = self_check(log, "2025-10", photos={"有牌子": [p.sha256]})

    result = oversight(log)

    assert result.findings == () and result.months_checked == ("2025-10",)
    assert result.latest is not None and result.latest.idx == entry.idx
    (check,) = result.photos
    assert check.present and check.verified and check.idx == entry.idx - 1
    summary = result.to_dict()
    assert summary["photos_verified"] == 1 and summary["not_met"] == []
    assert summary["latest"]["items"][3] == {"item": "有牌子", "status": "达标", "note": "",
                                             "photos": [p.sha256]}


def test_a_month_ended_without_a_self_check_is_amber_but_the_current_month_is_not_flagged():
    log = StationLog(at("2025-09-20"))
    log.until(at("2025-10-20"))
    log.append("station.profile_set", {})
    assert oversight(log, now=at("2025-10-21")).findings == ()  # October is not over yet
    (missing,) = oversight(log).findings
    assert missing.code is FindingCode.SEVEN_HAVES_MISSING and missing.severity is Severity.AMBER
    assert missing.evidence == {"month": "2025-10"} and "2025-10" in missing.message
    # a station created in November owed nothing for October
    assert oversight(StationLog(at("2025-11-01"))).findings == ()
    # a period of two months: each ended month is due on its own
    two = Period(OCTOBER.first.replace(month=9), OCTOBER.last)
    assert [f.evidence["month"] for f in oversight(log, period=two).findings] == \
        ["2025-09", "2025-10"]


def test_a_photo_missing_or_not_matching_its_hash_is_red():
    log = StationLog(at("2025-10-01"))
    good, absent = photo(), photo(JPEG + b"never sent")
    forged = {**photo(JPEG + b"x").to_body(), "sha256": good.sha256}  # bytes changed
    log.append(seven.PHOTO, forged)
    entry = self_check(log, "2025-10", photos={"有场所": [good.sha256, absent.sha256]})

    result = oversight(log)

    (flag,) = result.findings
    assert flag.code is FindingCode.SEVEN_HAVES_PHOTO_MISSING and flag.severity is Severity.RED
    assert flag.entries == (entry.idx, 1)
    problems = {p["sha256"]: (p["present"], p["problem"]) for p in flag.evidence["photos"]}
    assert problems == {good.sha256: (True, "照片内容与其 SHA-256 不符"),
                        absent.sha256: (False, "县级未收到该照片")}
    assert result.to_dict()["photos_failed"] == 2
    # the same photo arriving intact later makes the reference good
    log.append(seven.PHOTO, good.to_body())
    assert [p.verified for p in oversight(log).photos] == [True, False]


def test_the_newest_self_check_of_a_month_is_in_force_and_items_not_met_are_listed():
    log = StationLog(at("2025-10-01"))
    self_check(log, "2025-10", statuses={"有公示栏": Status.NOT_MET, "有制度": Status.PARTIAL})
    first = oversight(log)
    (flag,) = first.findings
    assert flag.code is FindingCode.SEVEN_HAVES_NOT_MET and flag.severity is Severity.AMBER
    assert flag.evidence["items"] == ["有制度", "有公示栏"]
    assert first.not_met == (("有制度", "部分达标"), ("有公示栏", "不达标"))
    corrected = self_check(log, "2025-10", reason="公示栏已更新", earlier=1)
    again = oversight(log)
    assert again.findings == () and again.latest.idx == corrected.idx
    assert again.latest.reason == "公示栏已更新"


def test_a_self_check_that_cannot_be_read_is_reported_not_skipped():
    log = StationLog(at("2025-10-01"))
    bad = log.append(seven.CHECKED, {"month": "2025-10", "items": [{"item": "有电脑"}]})
    codes = [f.code for f in oversight(log).findings]
    assert codes == [FindingCode.MALFORMED_ENTRY, FindingCode.SEVEN_HAVES_MISSING]
    assert oversight(log).findings[0].entries == (bad.idx,)
