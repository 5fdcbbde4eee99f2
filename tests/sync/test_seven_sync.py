"""七有 self-check photos through the real county server on 127.0.0.1, audited there: the
photo hash is verified at the county, and a missing or altered one is flagged."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from pathlib import Path

from station_app.domain import seven
from station_app.domain.audit import FindingCode, Period, parse_thresholds
from station_app.domain.clock import CST
from station_app.domain.log import decode_entry
from station_app.services.clock import ManualClock
from station_app.services.seven import PhotoFile, record_self_check
from station_app.services.station import Station
from sync.client import HttpTransport
from sync.county.audit import StationAudit, audit_county
from sync.county.service import County
from sync.station import sync_once
from tests.photos import write_photo

MET = {name: "达标" for name in seven.ITEM_NAMES if name != seven.RECORD_BOOK}


def audit(county: County, st: Station, month: str, now: datetime) -> StationAudit:
    result = audit_county(county.db, period=Period.month(month), now=now,
                          thresholds=parse_thresholds(None), station=st.info.code)
    (only,) = result.stations
    return only


def codes(a: StationAudit) -> set[FindingCode]:
    return {f.code for f in a.findings}


def test_a_self_check_with_photos_reaches_the_county_and_its_hashes_verify(
        village: Station, county: County, transport: HttpTransport, clock: ManualClock,
        county_clock: ManualClock, tmp_path: Path):
    sign = write_photo(tmp_path / "sign.jpg", width=4000, height=3000)
    board = write_photo(tmp_path / "board.png", "PNG", seed=7)
    check = record_self_check(village, month="2025-09", statuses=MET,
                              photos=[PhotoFile("有牌子", sign), PhotoFile("有公示栏", board)])
    report = sync_once(village, transport)
    stored_photos = [e.body for e in village.entries() if e.kind == seven.PHOTO]
    photo_bytes = sum(len(base64.b64decode(b["data"])) for b in stored_photos)
    # the wire carries the photos (compressed, encrypted) and little more
    assert report.bytes_sent < photo_bytes * 1.5, (report.bytes_sent, photo_bytes)

    with county.db.read() as tx:
        at_county = [decode_entry(data) for _, data, _ in tx.entries(village.info.origin)]
    for body in (e.body for e in at_county if e.kind == seven.PHOTO):
        data = base64.b64decode(body["data"])
        assert hashlib.sha256(data).hexdigest() == body["sha256"]
    assert {b["sha256"] for b in stored_photos} == set(check.photos)

    now = datetime(2025, 10, 2, 9, 0, tzinfo=CST)
    county_clock.set(now)
    result = audit(county, village, "2025-09", now)
    assert not codes(result) & {FindingCode.SEVEN_HAVES_MISSING,
                                FindingCode.SEVEN_HAVES_PHOTO_MISSING,
                                FindingCode.SEVEN_HAVES_NOT_MET}, result.findings
    summary = result.to_dict()["seven"]
    assert summary["latest"]["month"] == "2025-09" and summary["latest"]["idx"] == check.idx
    assert summary["photos_verified"] == 2 and summary["photos_failed"] == 0
    assert all(p["present"] and p["verified"] for p in summary["photos"])
    # October is over by December and the station did no self-check for it
    late = audit(county, village, "2025-10", datetime(2025, 12, 1, tzinfo=CST))
    assert FindingCode.SEVEN_HAVES_MISSING in codes(late)


def test_a_photo_altered_or_never_sent_is_flagged_red_at_the_county(
        village: Station, county: County, transport: HttpTransport, clock: ManualClock,
        county_clock: ManualClock, tmp_path: Path):
    """A tampered client: the photo entry's bytes are not those its hash names, and a second
    photo is referenced but never written. The log itself is valid (the station signed what
    it wrote), so only the 七有 check can catch it."""
    honest = seven.photo_problem  # the station's service would never write these
    real = write_photo(tmp_path / "real.jpg").read_bytes()
    other = b"\xff\xd8\xff\xe0 some other picture"
    claimed = hashlib.sha256(real).hexdigest()
    never_sent = hashlib.sha256(b"never sent").hexdigest()
    body = seven.Photo(sha256=claimed, width=1, height=1, data=other).to_body()
    assert honest(body) == "照片内容与其 SHA-256 不符"
    book = seven.RecordBook(cases=0, proxies=0, same_day=0)
    statuses = {k: seven.Status.MET for k in MET}
    check = seven.build_self_check(month="2025-09", statuses=statuses, notes={},
                                   photos={"有场所": [claimed], "有牌子": [never_sent]},
                                   checked_by="李站长", at=clock.now(), book=book, earlier=0)
    with village.transaction() as tx:
        photo_entry = tx.append(seven.PHOTO, body)
        check_entry = tx.append(seven.CHECKED, check.to_body())
    sync_once(village, transport)

    now = datetime(2025, 10, 2, 9, 0, tzinfo=CST)
    county_clock.set(now)
    result = audit(county, village, "2025-09", now)

    assert result.verified  # the log is intact; its content is not honest
    (flag,) = [f for f in result.findings if f.code is FindingCode.SEVEN_HAVES_PHOTO_MISSING]
    assert result.status == "red" and flag.entries == (check_entry.idx, photo_entry.idx)
    summary = result.to_dict()["seven"]
    assert summary["photos_verified"] == 0 and summary["photos_failed"] == 2
    assert {p["sha256"]: p["present"] for p in summary["photos"]} == {claimed: True,
                                                                     never_sent: False}
