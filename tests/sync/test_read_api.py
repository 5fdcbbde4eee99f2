"""The county auditors' read API (sync/county/read_api.py) through the real county server on
127.0.0.1, on logs two real stations synced through it in October 2025 (the audit tests'
working days): an honest village station in 青石镇 and a town centre in 西岭镇 that set its
clock back (red).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from station_app.domain.audit import KPI_DEFINITIONS, parse_thresholds
from station_app.domain.people import PersonDetails
from station_app.errors import AuditRefused
from station_app.services.cases import CaseRequest, add_case
from station_app.services.clock import ManualClock
from station_app.services.station import Station, StationSetup
from sync.client import AuditClient, HttpTransport
from sync.county.audit import audit_county
from sync.county.keys import init_keys
from sync.county.read_api import new_token, token_hash
from sync.county.service import County
from sync.county.store import CountyDb
from sync.session import run_sync
from tests.sync.audit_sample import CENTRE as QINGSHI_TOWN
from tests.sync.audit_sample import DONGKENG, XILING
from tests.sync.cli_helpers import county as county_cli
from tests.sync.cli_helpers import county_serving, init_county, ok_json
from tests.sync.conftest import (
    COUNTY_NAME,
    VILLAGE,
    RunningServer,
    enroll_station,
    make_station,
    serve,
)
from tests.sync.test_audit import AUDIT_AT, ITEM, OCTOBER, WORK_DAYS, at, honest_weeks, sync_at

MONTH = "2025-10"
XILING_TOWN = "330199102000"
WEST = StationSetup(name="西岭村便民服务站", code=XILING, region=XILING, level="village")
PERSONAL_KEYS = {"applicant", "person", "villager", "cert_no", "id_no", "phone", "address",
                 "agent_phone", "birth"}


@pytest.fixture
def county(tmp_path: Path, county_clock: ManualClock) -> Iterator[County]:
    """The county on SQLite only (the API's SQL is the store's, tested on both elsewhere)."""
    folder = tmp_path / "county"
    _, online = init_keys(folder, COUNTY_NAME, county_clock.now().isoformat())
    db = CountyDb(str(folder / "county.db"))
    yield County(db, online, county_clock.now)
    db.close()


@pytest.fixture
def server(county: County) -> Iterator[RunningServer]:
    running = serve(county)
    yield running
    running.stop()


class Scene:
    """Two stations synced through the server, and the county's own view of them."""

    def __init__(self, county: County, server: RunningServer, village: Station,
                 west: Station) -> None:
        self.county, self.server, self.village, self.west = county, server, village, west
        self.clients: list[AuditClient] = []

    def auditor(self, name: str, town: str | None = None) -> str:
        token = new_token()
        with self.county.db.write() as tx:
            assert tx.add_auditor(name, token_hash(token), town, "2025-10-16T09:00:00+08:00")
        return token

    def client(self, token: str) -> AuditClient:
        self.clients.append(AuditClient(self.server.url, token))
        return self.clients[-1]

    def raw(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.request(kwargs.pop("method", "GET"), self.server.url + path,
                             headers=headers, timeout=30, trust_env=False, **kwargs)


@pytest.fixture
def scene(tmp_path: Path, clock: ManualClock, county: County, county_clock: ManualClock,
          server: RunningServer, applicant: PersonDetails) -> Iterator[Scene]:
    village = make_station(tmp_path / "village", VILLAGE, clock)
    west = make_station(tmp_path / "west", WEST, ManualClock(clock.now()))
    try:
        for st in (village, west):
            enroll_station(st, county, server.url)
        with HttpTransport(server.url) as transport:
            honest_weeks(village, county_clock, transport, applicant, WORK_DAYS[2:5])
            honest_weeks(west, county_clock, transport, applicant, WORK_DAYS[2:4])
            # 西岭 sets its clock back two days to pass a case as on time: a red finding.
            west.clock = ManualClock(at(date(2025, 10, 11), 10))
            add_case(west, CaseRequest(item=ITEM, applicant=applicant))
            west.clock = ManualClock(at(date(2025, 10, 15), 17))
            sync_at(west, county_clock, transport, at(date(2025, 10, 15), 17))
        county_clock.set(max(AUDIT_AT, county_clock.now()))
        made = Scene(county, server, village, west)
        yield made
        for client in made.clients:
            client.close()
    finally:
        village.close()
        west.close()


def the_audit(county: County) -> dict[str, Any]:
    """What ``county audit --month 2025-10 --json`` prints (the same call, as of now)."""
    return audit_county(county.db, period=OCTOBER, now=county.now(),
                        thresholds=parse_thresholds(None)).to_dict()


# --------------------------------------------------------------------------- access


def test_every_route_needs_a_live_token_and_every_request_is_logged(scene: Scene):
    token = scene.auditor("wang")
    for path in ("/v1/audit/overview", "/v1/audit/trend", f"/v1/audit/station/{DONGKENG}",
                 f"/v1/audit/station/{DONGKENG}/cases?kpi=on_time_rate"):
        assert scene.raw(path).status_code == 401
        assert scene.raw(path, "not-a-token").status_code == 401
    assert scene.raw("/v1/audit/whoami", token).json()["auditor"] == "wang"

    with scene.county.db.write() as tx:
        assert tx.revoke_auditor("wang", "2025-10-16T10:00:00+08:00")
    refused = scene.raw("/v1/audit/overview", token)
    assert refused.status_code == 401
    with pytest.raises(AuditRefused, match="审核令牌无效或已停用"):
        scene.client(token).overview(MONTH)

    with scene.county.db.read() as tx:
        log = tx.access_log()
    assert [(who, status) for who, _, _, _, status in log[:2]] == [("-", 401), ("-", 401)]
    assert ("wang", "GET", "/v1/audit/whoami", 200) in [(w, m, p, s) for w, _, m, p, s in log]


def test_a_town_auditor_sees_only_its_towns_stations(scene: Scene):
    client = scene.client(scene.auditor("li", town=QINGSHI_TOWN))

    overview = client.overview(MONTH)

    assert [r["station"] for r in overview["stations"]] == [DONGKENG]
    assert overview["towns"] == [QINGSHI_TOWN] and overview["scope"]["town"] == QINGSHI_TOWN
    for call in (lambda: client.station(XILING, MONTH),
                 lambda: client.cases(XILING, "on_time_rate", MONTH),
                 lambda: client.trend(3, town=XILING_TOWN)):
        with pytest.raises(AuditRefused, match="无权查看"):
            call()
    assert client.trend(3)["scope"] == QINGSHI_TOWN


# --------------------------------------------------------------------------- figures


def test_the_overview_numbers_are_the_county_audits_with_red_amber_green(scene: Scene):
    overview = scene.client(scene.auditor("wang")).overview(MONTH)
    audit = the_audit(scene.county)

    assert overview["period"] == audit["period"]
    expected = {s["station"]: s for s in audit["stations"]}
    assert {r["station"] for r in overview["stations"]} == set(expected) == {DONGKENG, XILING}
    for row in overview["stations"]:
        same = expected[row["station"]]
        assert row["flags"] == len(same["flags"]) and row["status"] == same["status"]
        assert row["entries"] == same["entries"] and row["verified"] == same["verified"]
        for d in KPI_DEFINITIONS:
            mine, theirs = row["kpis"][d.code], same["kpis"][d.code]
            assert (mine["value"], mine["numerator"], mine["denominator"]) == \
                (theirs["value"], theirs["numerator"], theirs["denominator"])
    rag = {r["station"]: r["rag"] for r in overview["stations"]}
    # The honest village did no 七有 self-check in October (amber); 西岭 back-dated (red).
    assert rag[DONGKENG]["status"] == "amber" and rag[DONGKENG]["reasons"] == ["1 项黄色问题"]
    assert rag[XILING]["status"] == "red"
    assert overview["rag_counts"] == {"red": 1, "amber": 1, "green": 0}
    west = next(r for r in overview["stations"] if r["station"] == XILING)
    red = [f for f in expected[XILING]["flags"] if f["severity"] == "RED"]
    assert west["flags_red"] == len(red) and f"{len(red)} 项红色问题" in west["rag"]["reasons"]
    assert "BACKDATED" in {f["code"] for f in red}


def test_the_trend_is_the_kpi_table_of_each_month(scene: Scene):
    trend = scene.client(scene.auditor("wang")).trend(3)

    assert [m["month"] for m in trend["months"]] == ["2025-08", "2025-09", "2025-10"]
    october = trend["months"][-1]["kpis"]
    county = the_audit(scene.county)["county"]
    assert october["on_site_rate"]["numerator"] == county["on_site_rate"]["numerator"] > 0
    assert october["on_site_rate"]["denominator"] == county["on_site_rate"]["denominator"]
    assert trend["months"][0]["kpis"]["on_site_rate"]["value"] is None  # August: nothing


def test_a_station_drills_down_to_its_findings_and_the_cases_behind_a_figure(scene: Scene):
    client = scene.client(scene.auditor("wang"))
    audit = {s["station"]: s for s in the_audit(scene.county)["stations"]}

    west = client.station(XILING, MONTH)
    assert [f["code"] for f in west["findings"]] == [f["code"] for f in audit[XILING]["flags"]]
    assert [f["evidence"] for f in west["findings"]] == \
        [f["evidence"] for f in audit[XILING]["flags"]]
    assert "BACKDATED" in {f["code"] for f in west["findings"]}
    assert west["rag"]["status"] == "red" and "seven" in west and west["spotcheck"] is None
    on_time = next(k for k in west["kpis"] if k["code"] == "on_time_rate")
    assert on_time["numerator"] == audit[XILING]["kpis"]["on_time_rate"]["numerator"]
    assert on_time["denominator"] and on_time["name"] == "按时办结率"

    for kpi in ("on_time_rate", "on_site_rate", "overdue_now"):
        figure = audit[DONGKENG]["kpis"][kpi]
        rows = client.cases(DONGKENG, kpi, MONTH)["rows"]
        assert [r["number"] for r in rows] == figure["denominator_cases"]
        assert [r["number"] for r in rows if r["in_numerator"]] == figure["numerator_cases"]
    rows = client.cases(DONGKENG, "on_time_rate", MONTH)["rows"]
    assert all(r["kind"] == "case" and r["state"] == "FINISHED" and r["on_time"] is True
               and r["closed"].startswith("2025-10") and r["item"] == ITEM for r in rows)
    with pytest.raises(AuditRefused, match="未知的考核指标"):
        client.cases(DONGKENG, "nonsense", MONTH)


def test_no_response_carries_personal_data(scene: Scene, applicant: PersonDetails):
    token = scene.auditor("wang")
    answers = [scene.raw(path, token).text for path in (
        f"/v1/audit/overview?month={MONTH}", "/v1/audit/trend?months=2",
        f"/v1/audit/station/{DONGKENG}?month={MONTH}",
        *(f"/v1/audit/station/{DONGKENG}/cases?month={MONTH}&kpi={d.code}"
          for d in KPI_DEFINITIONS))]

    for text in answers:
        for secret in (applicant.name, applicant.cert_no, applicant.phone, applicant.address):
            assert secret not in text
        assert not PERSONAL_KEYS & keys_of(json.loads(text))
        # "name" is only ever a KPI's name (a person's would be sealed on the station)
        assert names_in(json.loads(text)) <= {d.name for d in KPI_DEFINITIONS}
    rows = json.loads(answers[3])["rows"]
    assert rows and all(r["applicant_masked"].startswith("＊＊＊") for r in rows)


def names_in(value: Any) -> set[str]:
    if isinstance(value, dict):
        return ({value["name"]} if "name" in value else set()) | {
            n for v in value.values() for n in names_in(v)}
    if isinstance(value, list):
        return {n for v in value for n in names_in(v)}
    return set()


def keys_of(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_of(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()


# --------------------------------------------------------------------------- unmasking


def test_unmasking_needs_a_reason_is_logged_and_reaches_the_station(scene: Scene):
    token = scene.auditor("wang")
    client = scene.client(token)
    case_no = client.cases(DONGKENG, "on_time_rate", MONTH)["rows"][0]["number"]

    for reason in ("", "  ", "看看"):
        with pytest.raises(AuditRefused, match="查看事由"):
            client.unmask(DONGKENG, case_no, reason)
    with pytest.raises(AuditRefused, match="没有这个办件"):
        client.unmask(DONGKENG, "330199101201-20251010-9999", "核查群众投诉")
    with scene.county.db.read() as tx:
        assert tx.unmask_requests() == [] and tx.relay_for(DONGKENG, 0, 10) == []

    done = client.unmask(DONGKENG, case_no, "核查群众投诉 2025-118 号")

    with scene.county.db.read() as tx:
        (asked,) = tx.unmask_requests(DONGKENG)
        (relayed,) = tx.relay_for(DONGKENG, 0, 10)
    assert asked[0] == done["id"] and asked[1:2] == ("wang",) and asked[3:] == (
        DONGKENG, case_no, "核查群众投诉 2025-118 号")
    assert "核查群众投诉" not in relayed[1]  # the reason travels sealed to the station
    assert client.station(DONGKENG, MONTH)["unmask_requests"][0]["reason"] == asked[5]
    log = ok_json_of(client.get("/v1/audit/unmask-log"))
    assert [r["case"] for r in log["requests"]] == [case_no]

    start = scene.village.ledger.size()
    with HttpTransport(scene.server.url) as transport:
        report = run_sync(scene.village, transport)
    assert report.relay_received == 1 and not report.relay_refused
    (entry,) = [e for e in scene.village.entries(start) if e.kind == "county.unmask_requested"]
    assert entry.body["case_no"] == case_no and entry.body["auditor"] == "wang"
    assert entry.body["reason"] == "核查群众投诉 2025-118 号"
    assert entry.body["from"] == COUNTY_NAME and entry.body["id"] == done["id"]
    assert not [e for e in scene.village.entries(start) if e.kind == "relay.refused"]
    # The overview was kept from before; the village's log grew, so its audit is made again.
    row = next(r for r in client.overview(MONTH)["stations"] if r["station"] == DONGKENG)
    assert row["entries"] == scene.village.ledger.size()


def ok_json_of(answer: dict[str, Any]) -> dict[str, Any]:
    assert "error" not in answer
    return answer


def test_a_town_auditor_cannot_ask_for_another_towns_case(scene: Scene):
    client = scene.client(scene.auditor("li", town=QINGSHI_TOWN))
    with pytest.raises(AuditRefused, match="无权查看"):
        client.unmask(XILING, f"{XILING}-20251009-0001", "核查群众投诉")


# --------------------------------------------------------------------------- the CLI


def test_auditor_accounts_on_the_command_line(tmp_path: Path):
    data = tmp_path / "county"
    init_county(data)

    added = ok_json(county_cli(data, "auditor", "add", "wang", "--town", QINGSHI_TOWN,
                               "--json"))
    again = county_cli(data, "auditor", "add", "wang")
    bad_town = county_cli(data, "auditor", "add", "zhao", "--town", "33019910")

    assert len(added["token"]) >= 43 and again.returncode == 1 and "已存在" in again.stderr
    assert bad_town.returncode == 1 and "乡镇编码" in bad_town.stderr
    db = CountyDb(str(data / "county.db"))
    try:
        with db.read() as tx:
            assert tx.auditor_by_token(token_hash(added["token"])) == ("wang", QINGSHI_TOWN)
            stored = json.dumps(tx.all("SELECT * FROM auditor"))
        assert added["token"] not in stored  # only the hash is kept
    finally:
        db.close()
    (row,) = ok_json(county_cli(data, "auditor", "list", "--json"))
    assert row["auditor"] == "wang" and row["revoked_at"] is None
    assert ok_json(county_cli(data, "auditor", "revoke", "wang", "--json"))["revoked"]
    assert county_cli(data, "auditor", "revoke", "wang").returncode == 1
    assert ok_json(county_cli(data, "auditor", "list", "--json"))[0]["revoked_at"]
    assert ok_json(county_cli(data, "auditor", "log", "--json")) == []


def test_county_serve_mounts_the_api_with_the_folders_thresholds(tmp_path: Path):
    data = tmp_path / "county"
    init_county(data)
    token = ok_json(county_cli(data, "auditor", "add", "wang", "--json"))["token"]
    (data / "audit.json").write_text('{"rag_overdue_amber": 2, "rag_overdue_red": 7}',
                                     encoding="utf-8")
    with county_serving(data) as url:
        refused = httpx.get(url + "/v1/audit/overview", trust_env=False, timeout=30)
        with AuditClient(url, token) as client:
            overview = client.overview("2025-10")
    assert refused.status_code == 401 and overview["stations"] == []
    (data / "audit.json").write_text('{"rag_overdue_amber": 9, "rag_overdue_red": 7}',
                                     encoding="utf-8")
    with county_serving(data) as url, AuditClient(url, token) as client:
        with pytest.raises(AuditRefused, match="黄色线不能高于红色线"):
            client.overview("2025-10")
