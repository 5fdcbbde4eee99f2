"""Numbers after a recovery (docs/recovery.md): the replacement PC skips the numbers the lost
PC may have printed after its last sync, and those papers are re-entered (补录) with their
printed numbers — once, inside the reserved ranges only — without numbering findings at the
county. End to end through the real county server on 127.0.0.1."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from station_app.domain.audit import Period, parse_thresholds
from station_app.domain.clock import CST
from station_app.domain.log import decode_entry
from station_app.domain.people import PersonDetails
from station_app.errors import MissingField, ReentryRefused
from station_app.services.cases import CaseRequest, add_case, get_case
from station_app.services.clock import ManualClock
from station_app.services.proxy import ProxyRequest, get_proxy, register_proxy
from station_app.services.recovery import succession_of
from station_app.services.reentry import allocate
from station_app.services.station import Station
from sync.client import HttpTransport
from sync.county.audit import audit_county
from sync.county.service import County
from sync.station import sync_once
from tests.sync.cli_helpers import ok_json
from tests.sync.cli_helpers import station as station_cli
from tests.sync.conftest import RunningServer
from tests.sync.test_recovery import Lost, proxy, receive, replace, tables
from tests.sync.test_recovery import lost as lost  # the fixture

REASON = "原电脑被盗，按纸质回执补录"
LOST_AT = datetime(2025, 9, 29, 11, 0, tzinfo=CST)  # when the lost PC took the unsynced case


def reenter(st: Station, person: PersonDetails, number: str, *, at: datetime | None = LOST_AT,
            reason: str = REASON) -> str:
    return add_case(st, CaseRequest(item="LOCAL-MZ-004", applicant=person, number=number,
                                    reason=reason, at=at)).case_no


def refused(st: Station, person: PersonDetails, number: str, error: type[Exception],
            **kw: object) -> str:
    size = st.ledger.size()
    with pytest.raises(error) as caught:
        reenter(st, person, number, **kw)  # type: ignore[arg-type]
    assert st.ledger.size() == size  # nothing written
    return str(caught.value)


def test_a_replacement_skips_the_lost_window_and_takes_the_paper_back_once(
        tmp_path: Path, clock: ManualClock, county: County, county_server: RunningServer,
        lost: Lost, applicant: PersonDetails):
    code = lost.station.info.code
    assert lost.unsynced_case == f"{code}-20250929-0003"  # printed, never reached the county
    clock.advance(hours=2)
    report = replace(county, county_server.url, tmp_path / "new", clock)
    reserved = {"cases": [{"period": "20250929", "first": 3, "last": 600}],
                "proxies": [{"period": "2025", "first": 2, "last": 1100}]}
    assert report.as_dict()["reserved"] == reserved
    assert "序号 3–600" in report.text() and "--number" in report.text()

    with Station.open(tmp_path / "new", clock=clock, actor="clerk-wang") as new:
        assert succession_of(new)["reserved"] == reserved  # type: ignore[index]
        fresh = receive(new, applicant)
        assert fresh == f"{code}-20250929-0601" != lost.unsynced_case
        assert proxy(new, applicant) == f"{code}-DB2025-01101"

        clock.advance(days=2)  # the clerk finds the paper receipts and re-enters them
        assert reenter(new, applicant, lost.unsynced_case.lower()) == lost.unsynced_case
        back = get_case(new, lost.unsynced_case)
        assert back.received_at == LOST_AT
        [created] = [decode_entry(raw) for _, raw, _ in new.ledger.rows(new.ledger.size() - 1,
                                                                        new.ledger.size())]
        assert created.body["reentry"] == {"reason": REASON, "reserved": True}
        assert "已经使用" in refused(new, applicant, lost.unsynced_case, ReentryRefused)
        for outside in (f"{code}-20250929-0002", f"{code}-20250929-0601",
                        f"{code}-20250929-0700", f"{code}-20250930-0003"):
            message = refused(new, applicant, outside, ReentryRefused,
                              at=datetime(2025, 9, 30, 9, 0, tzinfo=CST)
                              if "0930" in outside else LOST_AT)
            assert "号段" in message or "已经使用" in message
        assert "不一致" in refused(new, applicant, f"{code}-20250929-0004", ReentryRefused,
                                  at=datetime(2025, 9, 30, 9, 0, tzinfo=CST))
        assert "本站" in refused(new, applicant, "330199101299-20250929-0004", ReentryRefused)
        refused(new, applicant, f"{code}-20250929-0004", MissingField, reason=" ")
        refused(new, applicant, f"{code}-20250929-0004", MissingField, at=None)
        # a lost proxy entry too; re-entries never move the next new numbers
        entry = register_proxy(new, ProxyRequest(
            item="LOCAL-MZ-004", villager=applicant, agent="王丽华", number=f"{code}-DB2025-00002",
            reason=REASON, at=LOST_AT))
        assert get_proxy(new, entry.proxy_no).proxy_no == f"{code}-DB2025-00002"
        with pytest.raises(ReentryRefused):
            register_proxy(new, ProxyRequest(
                item="LOCAL-MZ-004", villager=applicant, agent="王丽华",
                number=f"{code}-DB2025-01102", reason=REASON, at=LOST_AT))
        assert allocate(new, "case", "20250929") == 602
        assert allocate(new, "proxy", "2025") == 1102
        before = tables(new)
        new.rebuild()  # the reservation lives in the log: a rebuild numbers the same
        assert tables(new) == before
        with HttpTransport(county_server.url) as t:
            sync_once(new, t)

    audit = audit_county(county.db, period=Period.month("2025-09"),
                         now=datetime(2025, 10, 2, 9, 0, tzinfo=CST),
                         thresholds=parse_thresholds(None), station=code)
    [one] = audit.stations
    codes = [f.code.value for f in one.findings]
    assert one.verified and "RECOVERED_AFTER_LOSS" in codes
    assert not {"NUMBER_GAP", "DUPLICATE_NUMBER", "FOREIGN_NUMBER", "LOG_GAP"} & set(codes)
    [late] = [f for f in one.findings if f.code.value == "LATE_ENTRY"]  # 补录, a known loss
    assert len(late.evidence["reentries_after_loss"]) == 2
    assert "换电脑恢复后按纸质编号补录" in late.message


def test_reentry_on_the_command_line_refuses_in_chinese_and_writes_nothing(
        tmp_path: Path, clock: ManualClock, county: County, county_server: RunningServer,
        lost: Lost, applicant: PersonDetails):
    clock.advance(hours=2)
    replace(county, county_server.url, tmp_path / "new", clock)
    data, code = tmp_path / "new", lost.station.info.code
    person = ("--item", "LOCAL-MZ-004", "--name", applicant.name, "--id-no", applicant.cert_no)
    with Station.open(data) as st:
        size = st.ledger.size()
    wrong = station_cli(data, "case", "add", *person, "--number", f"{code}-20250929-0700",
                        "--reason", REASON, "--at", "2025-09-29 11:00")
    assert wrong.returncode != 0 and "REENTRY_NUMBER_REFUSED" in wrong.stderr
    assert "不在换电脑恢复时为补录预留的号段内" in wrong.stderr
    no_reason = station_cli(data, "proxy", "add", *person, "--agent", "王丽华",
                            "--number", f"{code}-DB2025-00002", "--at", "2025-09-29 10:00")
    assert no_reason.returncode != 0 and "补录原因" in no_reason.stderr
    with Station.open(data) as st:
        assert st.ledger.size() == size
    done = ok_json(station_cli(data, "case", "add", *person, "--number", lost.unsynced_case,
                               "--reason", REASON, "--at", "2025-09-29 11:00", "--json"))
    assert done["case_no"] == lost.unsynced_case
    taken = ok_json(station_cli(data, "proxy", "add", *person, "--agent", "王丽华", "--number",
                                f"{code}-DB2025-00002", "--reason", REASON,
                                "--at", "2025-09-29 10:00", "--json"))
    assert taken["proxy_no"] == f"{code}-DB2025-00002"
