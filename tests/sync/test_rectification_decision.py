"""The county's decision on a disputed 整改通知 (``county notices decide``): upheld with a new
deadline or withdrawn, relayed to the station (kind ``rectification-decision``), logged there
as ``county.notice_decided`` and audited back — through the real county server on 127.0.0.1
(SQLite and PostgreSQL), the real station services and the installed commands."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

import sync.county.cli  # noqa: F401  (first: it registers cli_audit, which imports it)
from station_app.domain.audit import FindingCode, Period
from station_app.domain.audit.rectification import DECIDED, NoticeState
from station_app.domain.clock import CST
from station_app.errors import InvalidDate, InvalidInput, MissingField, NotFound, RuleViolation
from station_app.services.clock import ManualClock
from station_app.services.notices import dispute, list_notices, mark_done
from station_app.services.station import Station
from sync.client import HttpTransport
from sync.county.audit import audit_county
from sync.county.cli_audit import _audit_text
from sync.county.rectify import decide
from sync.county.service import County
from sync.session import run_sync
from tests.sync.cli_helpers import county as county_cli
from tests.sync.cli_helpers import init_county, ok_json, station
from tests.sync.conftest import VILLAGE_CODE
from tests.sync.test_rectification import (
    RECTIFY,
    T,
    audit_of,
    codes,
    inspect_sign,
    publish_2025,
)
from tests.sync.test_usb_relay import download, upload


def at(day: int, month: int = 10) -> datetime:
    return datetime(2025, month, day, 9, 0, tzinfo=CST)


def disputed_notice(village: Station, county: County, transport: HttpTransport) -> str:
    """An inspection's 整改通知 the station received and disputed, the dispute synced up."""
    publish_2025(county)
    made = inspect_sign(county)
    run_sync(village, transport)
    dispute(village, made.notice.notice, reason="标识牌为县统一制作，尚未下发")
    run_sync(village, transport)
    return made.notice.notice


def decision_rows(county: County) -> tuple[int, int]:
    with county.db.read() as tx:
        decisions = tx.one("SELECT COUNT(*) FROM notice_decision")
        relay = tx.one("SELECT COUNT(*) FROM relay")
    assert decisions is not None and relay is not None
    return int(decisions[0]), int(relay[0])


def test_an_upheld_notice_is_open_again_with_the_new_deadline_and_overdue_only_after_it(
        village: Station, county: County, transport: HttpTransport, county_clock: ManualClock,
        clock: ManualClock):
    number = disputed_notice(village, county, transport)
    assert codes(audit_of(county, county_clock.now())) & RECTIFY == \
        {FindingCode.RECTIFICATION_DISPUTED}

    county_clock.set(at(9))  # Thursday, after the National Day week
    made = decide(county, number, uphold=True, note="标识牌已于9月下发，请按期整改",
                  thresholds=T)
    # 10 working days after 10-09 on the county's calendar (Saturday 10-11 is one): 10-22
    assert made.decision.deadline == date(2025, 10, 22) and not made.estimated

    # not delivered yet: past the new deadline it is still not the station's fault
    waiting = audit_of(county, at(23))
    assert not codes(waiting) & RECTIFY, waiting.findings
    (status,) = waiting.notices["notices"]
    assert status["state"] == "upheld" and status["deadline"] == "2025-10-22"

    report = run_sync(village, transport)
    assert report.relay_received == 1 and not report.relay_refused
    run_sync(village, transport)  # the decided entry goes up
    (notice,) = list_notices(village)
    assert notice.state is NoticeState.OPEN and notice.notice.deadline == date(2025, 10, 22)
    assert notice.decision is not None and notice.decision.upheld
    assert [e.kind for e in village.entries() if e.kind == DECIDED] == [DECIDED]
    shown = ok_json(station(village.folder, "notice", "show", number, "--json"))
    assert shown["state"] == "open" and shown["deadline"] == "2025-10-22"
    assert shown["decision"]["decision"] == "upheld"
    text = station(village.folder, "notice", "show", number)
    assert "维持整改" in text.stdout and "2025-10-22" in text.stdout

    on_time = audit_of(county, at(22))  # the deadline day itself: not overdue yet
    assert not codes(on_time) & RECTIFY, on_time.findings
    assert on_time.notices["notices"][0]["state"] == "open"
    late = audit_of(county, at(23))
    (overdue,) = [f for f in late.findings if f.code is FindingCode.RECTIFICATION_OVERDUE]
    assert overdue.evidence["deadline"] == "2025-10-22"
    assert FindingCode.RECTIFICATION_DISPUTED not in codes(late)  # the dispute is settled

    # the station answers afresh; the projection rebuilt from the log says the same
    clock.set(at(23))
    mark_done(village, number, note="已更换新标识牌")
    before = [(n.number, n.state, n.notice.deadline) for n in list_notices(village)]
    village.rebuild()
    assert [(n.number, n.state, n.notice.deadline) for n in list_notices(village)] == before
    run_sync(village, transport)
    closed = audit_of(county, at(23))
    assert not codes(closed) & RECTIFY and closed.notices["closed"] == 1


def test_a_withdrawn_notice_is_closed_with_no_finding(
        village: Station, county: County, transport: HttpTransport, county_clock: ManualClock):
    number = disputed_notice(village, county, transport)
    county_clock.set(at(21))  # past the notice's deadline (10-20)
    made = decide(county, number, uphold=False, note="经复核，标识牌由县统一更换",
                  thresholds=T)
    assert made.decision.deadline is None
    withdrawn = audit_of(county, county_clock.now())
    assert not codes(withdrawn) & RECTIFY, withdrawn.findings
    assert withdrawn.notices["withdrawn"] == 1
    text = _audit_text(audit_county(county.db, period=Period.month("2025-10"),
                                    now=county_clock.now(), thresholds=T))
    assert f"{VILLAGE_CODE} 待整改 0、超期 0、已整改 0、有异议 0、未送达 0、已撤销 1" in text

    run_sync(village, transport)
    run_sync(village, transport)
    (notice,) = list_notices(village)
    assert notice.state is NoticeState.WITHDRAWN and notice.state.label == "已撤销"
    with pytest.raises(RuleViolation, match="撤销"):
        mark_done(village, number, note="已整改")
    listed = ok_json(station(village.folder, "notice", "list", "--json"))
    assert [(r["state"], r["overdue"]) for r in listed] == [("withdrawn", False)]
    assert not codes(audit_of(county, county_clock.now())) & RECTIFY
    with pytest.raises(InvalidInput):  # decided already: no longer disputed
        decide(county, number, uphold=True, note="再议", thresholds=T)


def test_a_decision_reaches_an_offline_village_by_usb(
        village: Station, county: County, county_clock: ManualClock, tmp_path: Path):
    publish_2025(county)
    made = inspect_sign(county)
    assert download(county, village, tmp_path, "notice")["relay"]["received"] == 1
    dispute(village, made.notice.notice, reason="标识牌为县统一制作")
    upload(village, county, tmp_path, "dispute")
    county_clock.set(at(9))
    decide(county, made.notice.notice, uphold=True, note="请按期整改", due="2025-10-24",
           thresholds=T)
    took = download(county, village, tmp_path, "decision")
    assert (took["relay"]["received"], took["relay"]["refused"]) == (1, [])
    (notice,) = list_notices(village)
    assert notice.state is NoticeState.OPEN and notice.notice.deadline == date(2025, 10, 24)


def test_bad_decisions_are_refused_and_nothing_is_stored_or_sent(
        village: Station, county: County, transport: HttpTransport, county_clock: ManualClock):
    publish_2025(county)
    open_one = inspect_sign(county)
    run_sync(village, transport)
    before = decision_rows(county)
    bad = [
        (NotFound, dict(number="ZG20250929999", uphold=True, note="维持")),
        (InvalidInput, dict(number=open_one.notice.notice, uphold=True, note="维持")),
        (MissingField, dict(number=open_one.notice.notice, uphold=False, note="  ")),
        (InvalidInput, dict(number=open_one.notice.notice, uphold=False, note="撤销",
                            due="2025-10-30")),
        (InvalidDate, dict(number=open_one.notice.notice, uphold=True, note="维持",
                           due="2025-02-30")),
        (InvalidInput, dict(number=open_one.notice.notice, uphold=True, note="维持",
                            due="2025-09-01")),
        (InvalidInput, dict(number=open_one.notice.notice, uphold=True, note="维持",
                            due="2025-10-30", days=5)),
    ]
    for error, kwargs in bad:
        with pytest.raises(error):
            decide(county, thresholds=T, **kwargs)  # type: ignore[arg-type]
    assert decision_rows(county) == before


def test_the_installed_command_refuses_bad_input(tmp_path: Path):
    data = tmp_path / "county"
    init_county(data)
    for args, code in ((["--uphold", "--withdraw", "--note", "x"], "INPUT_INVALID"),
                       (["--note", "x"], "INPUT_INVALID"),
                       (["--uphold", "--note", "x", "--due", "2025-13-01"], "DATE_INVALID"),
                       (["--withdraw", "--note", "x"], "NOT_FOUND")):
        refused = county_cli(data, "notices", "decide", "ZG20250929001", *args)
        assert refused.returncode == 1 and f"[{code}]" in refused.stderr, (args, refused)
    assert ok_json(county_cli(data, "notices", "--json"))["notices"] == []
