"""County inspections and spot checks sent down to the station as 整改通知, answered there,
and audited back at the county — through the real county server on 127.0.0.1 (SQLite and
PostgreSQL), the real station services and the installed ``station`` command."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from station_app.domain.audit import FindingCode, Period, parse_thresholds
from station_app.domain.audit.rectification import DONE, RECEIVED, NoticeState
from station_app.domain.clock import CST
from station_app.domain.people import validate_person
from station_app.domain.publications import calendar_content
from station_app.domain.states import CaseState
from station_app.errors import (
    CountyStationUnknown,
    InvalidDate,
    InvalidInput,
    MissingField,
    NotFound,
    PhotoInvalid,
    RuleViolation,
)
from station_app.services.calendar_seed import chinese_calendar_years
from station_app.services.cases import CaseRequest, add_case, move_case
from station_app.services.clock import ManualClock
from station_app.services.notices import dispute, list_notices, mark_done
from station_app.services.station import Station
from sync.client import HttpTransport
from sync.county.audit import StationAudit, audit_county, draw_spot_check_for
from sync.county.rectify import record_inspection, record_spot_result, spot_checklist
from sync.county.service import County
from sync.session import run_sync
from tests.photos import write_photo
from tests.sync.cli_helpers import county as county_cli
from tests.sync.cli_helpers import (
    county_serving,
    init_county,
    init_station,
    ok_json,
    station,
)

VILLAGE = "330199101201"
T = parse_thresholds(None)


def publish_2025(county: County) -> None:
    """The county's holiday calendar: 2025 with the National Day week (10-01 … 10-08 off,
    Saturday 10-11 a working day)."""
    county.publish("calendar", calendar_content(
        [y for y in chinese_calendar_years() if y.year == 2025]))


def inspect_sign(county: County, **extra: object):
    return record_inspection(county, station=VILLAGE, day="2025-09-29",
                             items={"有场所": "ok", "有牌子": "fail"},
                             notes={"有牌子": "标识牌褪色"}, note="现场检查",
                             inspector="县政务办 李明", thresholds=T, **extra)


def audit_of(county: County, now: datetime) -> StationAudit:
    (only,) = audit_county(county.db, period=Period.month(f"{now:%Y-%m}"), now=now,
                           thresholds=T, station=VILLAGE).stations
    return only


def codes(a: StationAudit) -> set[FindingCode]:
    return {f.code for f in a.findings}


RECTIFY = {FindingCode.RECTIFICATION_UNDELIVERED, FindingCode.RECTIFICATION_OVERDUE,
           FindingCode.RECTIFICATION_DISPUTED}


def county_rows(county: County) -> tuple[int, int]:
    with county.db.read() as tx:
        notices = tx.one("SELECT COUNT(*) FROM county_notice")
        relay = tx.one("SELECT COUNT(*) FROM relay")
    assert notices is not None and relay is not None
    return int(notices[0]), int(relay[0])


# ----------------------------------------------------------------------------- the story


def test_a_failed_inspection_reaches_the_station_and_its_answer_closes_it(
        village: Station, county: County, transport: HttpTransport, county_clock: ManualClock,
        clock: ManualClock, tmp_path: Path):
    publish_2025(county)
    made = inspect_sign(county)
    # 10 working days after Monday 09-29, the National Day week not counted, Saturday
    # 10-11 counted: 10-20 (the weekend rule alone would say 10-13)
    assert made.notice.deadline == date(2025, 10, 20) and not made.estimated
    assert [r.item for r in made.notice.failed] == ["有牌子"]
    assert audit_of(county, county_clock.now()).notices["undelivered"] == 1

    report = run_sync(village, transport)
    assert report.relay_received == 1 and not report.relay_refused
    (notice,) = list_notices(village)
    assert notice.number == made.notice.notice and notice.state is NoticeState.OPEN
    assert notice.notice.deadline == date(2025, 10, 20)
    assert [e.kind for e in village.entries() if e.kind == RECEIVED] == [RECEIVED]

    # the installed command shows it (its clock is today's: long past the 2025 deadline)
    listed = ok_json(station(village.folder, "notice", "list", "--json"))
    assert [(r["notice"], r["state"], r["deadline"], r["overdue"]) for r in listed] == \
        [(made.notice.notice, "open", "2025-10-20", True)]
    shown = ok_json(station(village.folder, "notice", "show", made.notice.notice.lower(),
                            "--json"))
    assert shown["failed"] == ["有牌子"] and shown["results"][1]["note"] == "标识牌褪色"

    clock.set(datetime(2025, 10, 14, 10, 0, tzinfo=CST))
    photo = write_photo(tmp_path / "new-sign.jpg", width=3000, height=2000)
    answered = mark_done(village, made.notice.notice, note="已更换新标识牌", photos=[photo])
    assert answered.state is NoticeState.DONE and len(answered.photos) == 1
    run_sync(village, transport)

    county_clock.set(datetime(2025, 10, 21, 9, 0, tzinfo=CST))
    after = audit_of(county, county_clock.now())
    assert not codes(after) & RECTIFY, after.findings
    (status,) = after.notices["notices"]
    assert status["state"] == "closed" and status["delivered"]
    assert after.to_dict()["notices"]["closed"] == 1


def test_an_unanswered_notice_is_flagged_undelivered_then_overdue_and_a_dispute_is_flagged(
        village: Station, county: County, transport: HttpTransport, county_clock: ManualClock):
    publish_2025(county)
    first = inspect_sign(county)
    assert FindingCode.RECTIFICATION_UNDELIVERED in codes(audit_of(county, county_clock.now()))
    run_sync(village, transport)
    run_sync(village, transport)  # the received entry goes up in the same session already
    assert not codes(audit_of(county, county_clock.now())) & RECTIFY

    county_clock.set(datetime(2025, 10, 21, 9, 0, tzinfo=CST))  # the day after the deadline
    late = audit_of(county, county_clock.now())
    overdue = [f for f in late.findings if f.code is FindingCode.RECTIFICATION_OVERDUE]
    assert [f.evidence["notice"] for f in overdue] == [first.notice.notice]
    assert late.notices["overdue"] == 1 and overdue[0].severity.value == "AMBER"

    dispute(village, first.notice.notice, reason="标识牌为县统一制作，尚未下发")
    run_sync(village, transport)
    disputed = audit_of(county, county_clock.now())
    assert codes(disputed) & RECTIFY == {FindingCode.RECTIFICATION_DISPUTED}
    text = station(village.folder, "notice", "done", first.notice.notice, "--note", "x")
    assert text.returncode == 1 and "已答复" in text.stderr


def test_a_passed_inspection_only_tells_the_result(
        village: Station, county: County, transport: HttpTransport):
    made = record_inspection(county, station=VILLAGE, day="2025-09-29",
                             items={"SITE": "ok", "有牌子": "合格"}, thresholds=T)
    assert made.notice.deadline is None
    run_sync(village, transport)
    (notice,) = list_notices(village)
    assert notice.state is NoticeState.INFO
    with pytest.raises(RuleViolation):
        mark_done(village, notice.number, note="无")


def test_a_spot_check_result_is_prefilled_from_the_log_and_sent_down(
        village: Station, county: County, transport: HttpTransport, county_clock: ManualClock,
        clock: ManualClock, tmp_path: Path):
    applicant = validate_person(name="张三", cert_no="11010519491231002X", cert_type="111",
                                phone="", address="")
    case = add_case(village, CaseRequest(item="LOCAL-MZ-004", applicant=applicant))
    move_case(village, case.case_no, CaseState.ACCEPTED)
    run_sync(village, transport)
    county_clock.set(datetime(2025, 10, 2, 9, 0, tzinfo=CST))
    drawn = draw_spot_check_for(county.db, month="2025-09", seed="s1", now=county_clock.now(),
                                thresholds=T)
    folder = tmp_path / "county"
    kept = folder / "spotchecks" / f"2025-09-{drawn.digest[:16]}.json"  # as `spotcheck draw`
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_bytes(drawn.to_json())
    assert case.case_no in drawn.drawn()[VILLAGE]

    answers = spot_checklist(county, folder, month="2025-09", station=VILLAGE,
                             case_no=case.case_no)
    assert [(a.code, a.system) for a in answers][0] == ("materials_archived", None)
    assert answers[1].system is False  # no receipt was printed for it
    with pytest.raises(MissingField):  # only the paper file can say whether it is archived
        record_spot_result(county, folder, month="2025-09", station=VILLAGE,
                           case_no=case.case_no, items={}, thresholds=T)
    with pytest.raises(InvalidInput):
        record_spot_result(county, folder, month="2025-09", station=VILLAGE,
                           case_no="330199101201-2025-99999", items={}, thresholds=T)
    made = record_spot_result(county, folder, month="2025-09", station=VILLAGE,
                              case_no=case.case_no,
                              items={"materials_archived": "missing"},
                              notes={"materials_archived": "卷宗缺身份证复印件"}, thresholds=T)
    assert {r.item for r in made.notice.failed} == {"materials_archived", "documents_printed"}
    assert made.notice.subject == f"2025-09/{case.case_no}"
    with pytest.raises(InvalidInput):  # one result per drawn case
        record_spot_result(county, folder, month="2025-09", station=VILLAGE,
                           case_no=case.case_no, items={"materials_archived": "ok"},
                           thresholds=T)

    run_sync(village, transport)
    (notice,) = list_notices(village)
    assert notice.notice.source.value == "spotcheck" and notice.state is NoticeState.OPEN
    clock.advance(days=1)
    mark_done(village, notice.number, note="已补齐卷宗并补打收件回执")
    run_sync(village, transport)
    assert audit_of(county, county_clock.now()).notices["closed"] == 1


# ---------------------------------------------------------------------------- bad input


def test_bad_input_at_the_county_is_refused_and_nothing_is_sent(
        village: Station, county: County):
    bad = [
        (CountyStationUnknown, dict(station="330199101299", day="2025-09-29",
                                    items={"有牌子": "fail"})),
        (InvalidInput, dict(station=VILLAGE, day="2025-09-29", items={"有门面": "fail"})),
        (InvalidInput, dict(station=VILLAGE, day="2025-09-29", items={"有牌子": "maybe"})),
        (InvalidDate, dict(station=VILLAGE, day="2025-13-01", items={"有牌子": "fail"})),
        (InvalidInput, dict(station=VILLAGE, day="2025-10-30", items={"有牌子": "fail"})),
        (MissingField, dict(station=VILLAGE, day="2025-09-29", items={})),
    ]
    for error, kwargs in bad:
        with pytest.raises(error):
            record_inspection(county, thresholds=T, **kwargs)  # type: ignore[arg-type]
    assert county_rows(county) == (0, 0)
    inspect_sign(county)
    with pytest.raises(InvalidInput):  # the same station and day again
        inspect_sign(county)
    assert county_rows(county) == (1, 1)


def test_answering_an_unknown_or_answered_notice_writes_nothing(
        village: Station, county: County, transport: HttpTransport, tmp_path: Path):
    made = inspect_sign(county)
    run_sync(village, transport)
    size = village.ledger.size()
    with pytest.raises(NotFound):
        mark_done(village, "ZG20250929999", note="已整改")
    with pytest.raises(MissingField):
        mark_done(village, made.notice.notice, note="  ")
    not_a_photo = tmp_path / "photo.jpg"
    not_a_photo.write_text("not an image")
    with pytest.raises(PhotoInvalid):
        mark_done(village, made.notice.notice, note="已整改", photos=[not_a_photo])
    unknown = station(village.folder, "notice", "done", "ZG20250101001", "--note", "x")
    assert unknown.returncode == 1 and "ZG20250101001" in unknown.stderr
    assert village.ledger.size() == size

    mark_done(village, made.notice.notice, note="已整改")
    with pytest.raises(RuleViolation):
        dispute(village, made.notice.notice, reason="不同意")
    assert [e.kind for e in village.entries(size)] == [DONE]


def test_the_notices_are_rebuilt_from_the_log(
        village: Station, county: County, transport: HttpTransport):
    made = inspect_sign(county)
    run_sync(village, transport)
    mark_done(village, made.notice.notice, note="已整改")
    before = [(n.number, n.state, n.answer_note) for n in list_notices(village)]
    village.rebuild()
    assert [(n.number, n.state, n.answer_note) for n in list_notices(village)] == before


def test_a_notice_cannot_be_forged_by_a_station(village: Station, county: County):
    """Only the county sends notices: a station posting one (signed with its own key) is
    refused by the county before anything is stored."""
    from sync.relay import RECTIFICATION, RelayHeader, seal_envelope

    header = RelayHeader(sender=village.info.origin, to=VILLAGE, id="0" * 32,
                         kind=RECTIFICATION, sent="2025-09-29T08:00:00+08:00", kem="k",
                         suite="s")
    forged = seal_envelope(header, b"x", sender_public=village.signer.public_key,
                           sign=village.signer.sign)
    reply = county.relay(json.dumps(forged).encode())
    assert reply.status == 400 and county_rows(county) == (0, 0)


# ----------------------------------------------------------------- the installed commands


def test_the_whole_round_trip_through_the_installed_commands(tmp_path: Path):
    """`county inspect` → `station sync` → `station notice list|done` → `station sync` →
    `county audit` / `county notices` show it closed; bad input is refused, nothing sent."""
    data, st = tmp_path / "county", tmp_path / "station"
    init_county(data)
    init_station(st, VILLAGE)
    today = datetime.now(CST).date()
    for args, code in (
            (["--station", VILLAGE, "--date", "2025-02-30", "--item", "有牌子=fail"],
             "DATE_INVALID"),
            (["--station", VILLAGE, "--item", "有牌子=fail"], "FIELD_REQUIRED"),
            (["--station", VILLAGE, "--date", str(today), "--item", "有门面=fail"],
             "INPUT_INVALID"),
            (["--station", VILLAGE, "--date", str(today), "--item", "有牌子"], "INPUT_INVALID"),
            (["--station", VILLAGE, "--date", str(today), "--item", "有牌子=fail"],
             "COUNTY_STATION_UNKNOWN")):
        refused = county_cli(data, "inspect", *args)
        assert refused.returncode == 1 and f"[{code}]" in refused.stderr, (args, refused)
    assert ok_json(county_cli(data, "notices", "--json"))["notices"] == []

    with county_serving(data) as url:
        ticket = ok_json(county_cli(data, "enroll", "--station", VILLAGE, "--json"))
        ok_json(station(st, "enroll", "--server", url, "--code", ticket["code"], "--json"))
        spec = tmp_path / "inspection.json"
        spec.write_text(json.dumps({"station": VILLAGE, "date": str(today),
                                    "items": {"有场所": "ok", "有牌子": "fail"},
                                    "notes": {"有牌子": "标识牌褪色"}, "inspector": "李明"},
                                   ensure_ascii=False), encoding="utf-8")
        made = ok_json(county_cli(data, "inspect", "--file", spec, "--note", "现场检查",
                                  "--json"))
        assert made["failed"] == ["有牌子"] and made["deadline"] > str(today)
        ok_json(station(st, "sync", "--json"))
        (listed,) = ok_json(station(st, "notice", "list", "--open", "--json"))
        assert listed["notice"] == made["notice"] and listed["note"] == "现场检查"
        photo = write_photo(tmp_path / "sign.jpg")
        done = ok_json(station(st, "notice", "done", made["notice"], "--note", "已更换标识牌",
                               "--photo", photo, "--json"))
        assert done["state"] == "done" and len(done["photos"]) == 1
        again = station(st, "notice", "dispute", made["notice"], "--reason", "x")
        assert again.returncode == 1 and "已答复" in again.stderr
        ok_json(station(st, "sync", "--json"))

    (row,) = ok_json(county_cli(data, "audit", "--month", f"{today:%Y-%m}", "--json"))[
        "stations"]
    assert row["notices"]["closed"] == 1 and row["notices"]["undelivered"] == 0
    assert not {f["code"] for f in row["flags"]} & {c.value for c in RECTIFY}
    (notice,) = ok_json(county_cli(data, "notices", "--json"))["notices"]
    assert notice["state"] == "closed" and notice["delivered"] is True
    text = county_cli(data, "audit", "--month", f"{today:%Y-%m}")
    assert "已整改 1" in text.stdout
