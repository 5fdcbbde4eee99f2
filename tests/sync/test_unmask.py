"""Unmasking a case for a county auditor, end to end (docs/dashboard.md, "Personal data and
unmasking"): the auditor asks with a reason on the real county server on 127.0.0.1, the
station takes the request at its next sync and answers on its own, sealed to the county's
KEM key; the county keeps the answer sealed and opens it for the auditor who asked only,
logging each reading, until it expires.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from station_app.domain.clock import iso
from station_app.domain.people import PersonDetails, validate_person
from station_app.errors import AuditRefused
from station_app.services.cases import CaseRequest, add_case
from station_app.services.clock import ManualClock
from station_app.services.people import erase_person
from station_app.services.station import Station
from station_app.store.relay import OutboxRow
from sync.client import AuditClient, HttpTransport
from sync.county.read_api import ReadApi, Request, new_token, token_hash
from sync.county.service import County
from sync.relay import UNMASK_ANSWER, UNMASK_REQUEST
from sync.relay_station import _send_answer, _unmask_answer
from sync.session import run_sync
from sync.station import require_enrollment
from tests.sync.conftest import VILLAGE_CODE, RunningServer
from tests.sync.test_audit import ITEM

REASON = "核查群众投诉 2025-118 号"
OTHER = validate_person(name="李四光", cert_no="110105195001010012", phone="13900001111",
                        address="青石镇东坑村5组3号")


class Scene:
    def __init__(self, county: County, server: RunningServer, village: Station,
                 transport: HttpTransport) -> None:
        self.county, self.server, self.village = county, server, village
        self.transport = transport
        self.clients: list[AuditClient] = []
        self.tokens: dict[str, str] = {}

    def client(self, name: str) -> AuditClient:
        token = new_token()
        with self.county.db.write() as tx:
            assert tx.add_auditor(name, token_hash(token), None, iso(self.county.now()))
        self.tokens[name] = token
        self.clients.append(AuditClient(self.server.url, token))
        return self.clients[-1]

    def sync(self) -> Any:
        return run_sync(self.village, self.transport)

    def county_bytes(self) -> bytes:
        """Every byte of the county's SQLite database, write-ahead log included."""
        folder = Path(self.county.db.url).parent
        return b"".join(p.read_bytes() for p in sorted(folder.glob("county.db*")))


@pytest.fixture
def scene(county: County, county_clock: ManualClock, clock: ManualClock,
          county_server: RunningServer, village: Station, transport: HttpTransport
          ) -> Iterator[Scene]:
    county_clock.set(clock.now())
    made = Scene(county, county_server, village, transport)
    yield made
    for client in made.clients:
        client.close()


def new_case(scene: Scene, who: PersonDetails) -> str:
    case = add_case(scene.village, CaseRequest(item=ITEM, applicant=who))
    scene.sync()
    return case.case_no


def test_the_station_answers_and_only_the_asking_auditor_reads_it(
        scene: Scene, applicant: PersonDetails):
    case_no = new_case(scene, applicant)
    wang, li = scene.client("wang"), scene.client("li")
    asked = wang.unmask(VILLAGE_CODE, case_no, REASON)
    assert wang.unmask_answer(asked["id"])["state"] == "pending"
    start = scene.village.ledger.size()

    report = scene.sync()

    assert report.relay_received == 1 and report.relay_sent == 1 and not report.relay_refused
    with scene.county.db.read() as tx:
        origin, envelope, _ = tx.unmask_answer(asked["id"])
    assert origin == scene.village.info.origin
    secrets = [applicant.name, applicant.cert_no, applicant.phone, applicant.address]
    for value in secrets:  # kept sealed as it came: no clear value anywhere at the county
        assert value not in envelope
        if scene.county.db.url.endswith(".db"):
            assert value.encode() not in scene.county_bytes()

    shown = wang.unmask_answer(asked["id"])
    assert shown["state"] == "answered" and shown["status"] == "answered"
    assert shown["fields"] == {"name": applicant.name, "cert_no": applicant.cert_no,
                               "phone": applicant.phone, "address": applicant.address}
    assert shown["case"] == case_no and shown["reason"] == REASON and shown["logged"]
    with pytest.raises(AuditRefused, match="本人"):
        li.unmask_answer(asked["id"])
    with pytest.raises(AuditRefused, match="没有这条"):
        wang.unmask_answer("0" * 32)
    path = f"/v1/audit/unmask/{asked['id']}"
    with scene.county.db.read() as tx:
        reads = [(a, s) for a, _, m, p, s in tx.access_log() if p == path]
    assert sorted(reads) == [("li", 403), ("wang", 200), ("wang", 200)]

    rows = {r["id"]: r for r in wang.station(VILLAGE_CODE)["unmask_requests"]}
    assert rows[asked["id"]]["state"] == "answered" and rows[asked["id"]]["mine"]
    assert not li.station(VILLAGE_CODE)["unmask_requests"][0]["mine"]

    new = list(scene.village.entries(start))
    (requested,) = [e for e in new if e.kind == "county.unmask_requested"]
    (answered,) = [e for e in new if e.kind == "county.unmask_answered"]
    (unmasked,) = [e for e in new if e.kind == "person.unmasked"]
    assert requested.body["auditor"] == "wang" and requested.body["reason"] == REASON
    assert answered.body["id"] == asked["id"] and answered.body["status"] == "answered"
    assert answered.body["fields"] == ["name", "cert_no", "phone", "address"]
    assert answered.body["auditor"] == "wang" and answered.body["request_idx"] == requested.idx
    assert unmasked.body["person"] == answered.body["person"] and "wang" in \
        unmasked.body["reason"] and REASON in unmasked.body["reason"]
    raw = b"".join(scene.village.ledger.entry(e.idx) or b"" for e in new)
    assert all(v.encode() not in raw for v in secrets)  # the log says what, never the values
    # The answered entries went up in the same sync: the county's copy of the log has them.
    with scene.county.db.read() as tx:
        assert tx.station(scene.village.info.origin).size == scene.village.ledger.size()

    again = scene.sync()  # nothing more to answer; the request is not taken twice
    assert again.relay_received == 0 and again.relay_sent == 0


def test_an_erased_person_is_answered_as_deleted(scene: Scene, applicant: PersonDetails):
    case_no = new_case(scene, OTHER)
    person = next(e.body["applicant"] for e in scene.village.entries()
                  if e.kind == "case.created" and e.body["case_no"] == case_no)
    erase_person(scene.village, person, reason="本人申请删除")
    wang = scene.client("wang")
    asked = wang.unmask(VILLAGE_CODE, case_no, REASON)
    start = scene.village.ledger.size()

    scene.sync()

    shown = wang.unmask_answer(asked["id"])
    assert shown["status"] == "erased"
    assert shown["fields"] == dict.fromkeys(("name", "cert_no", "phone", "address"), "已删除")
    new = list(scene.village.entries(start))
    (answered,) = [e for e in new if e.kind == "county.unmask_answered"]
    assert answered.body["status"] == "erased" and answered.body["fields"] == []
    assert not [e for e in new if e.kind == "person.unmasked"]  # nothing was disclosed


def test_a_case_the_station_does_not_have_is_answered_as_not_found(scene: Scene):
    """The county asks only for cases in its copy of the log; a request for any other (its
    copy and the station disagree) is still recorded and answered, as not found."""
    wang = scene.client("wang")
    case_no = f"{VILLAGE_CODE}-20250929-0099"
    now = iso(scene.county.now())
    with scene.county.db.write() as tx:
        row = tx.stations(VILLAGE_CODE)[-1]
        request_id = scene.county.send_from_county(tx, row, UNMASK_REQUEST, {
            "case_no": case_no, "auditor": "wang", "reason": REASON, "requested_at": now})
        tx.add_unmask_request(request_id, "wang", now, VILLAGE_CODE, case_no, REASON)
    start = scene.village.ledger.size()

    report = scene.sync()

    assert report.relay_received == 1 and not report.relay_refused
    shown = wang.unmask_answer(request_id)
    assert shown["status"] == "not-found" and set(shown["fields"].values()) == {""}
    kinds = [e.kind for e in scene.village.entries(start)]
    assert "county.unmask_requested" in kinds and "county.unmask_answered" in kinds


def test_an_answer_expires_after_the_countys_setting(
        scene: Scene, county_clock: ManualClock, applicant: PersonDetails, tmp_path: Path):
    case_no = new_case(scene, applicant)
    wang = scene.client("wang")
    asked = wang.unmask(VILLAGE_CODE, case_no, REASON)
    scene.sync()
    county_clock.advance(days=6, hours=23)
    assert wang.unmask_answer(asked["id"])["state"] == "answered"
    county_clock.advance(hours=1)  # 7 days after it arrived

    # A county that keeps answers longer says so in its folder's dashboard.json.
    folder = tmp_path / "county"
    (folder / "dashboard.json").write_text(json.dumps({"unmask_answer_days": 30}))
    longer = ReadApi(scene.county, folder)
    ask = Request(method="GET", path=f"/v1/audit/unmask/{asked['id']}", query={},
                  path_params={"id": asked["id"]},
                  authorization=f"Bearer {scene.tokens['wang']}", client="127.0.0.1")
    status, answer = longer.answer("unmask_answer", ask)
    assert status == 200 and answer["fields"]["name"] == applicant.name

    # The server runs with the default, 7 days: gone, and its sealed content dropped.
    with pytest.raises(AuditRefused, match="已过期"):
        wang.unmask_answer(asked["id"])
    assert wang.station(VILLAGE_CODE)["unmask_requests"][0]["state"] == "expired"
    with scene.county.db.read() as tx:
        assert tx.unmask_answer(asked["id"])[1] == ""
        assert ("wang", 410) in [(a, s) for a, _, _, p, s in tx.access_log()
                                 if p.endswith(asked["id"])]
    assert longer.answer("unmask_answer", ask)[0] == 410  # no setting brings it back

    (folder / "dashboard.json").write_text(json.dumps({"unmask_answer_days": 0}))
    status, answer = longer.answer("unmask_answer", ask)
    assert status == 400 and "unmask_answer_days" in answer["detail"]


def test_the_county_keeps_only_an_answer_to_a_request_made_to_that_station(
        scene: Scene, applicant: PersonDetails):
    case_no = new_case(scene, applicant)
    keys = require_enrollment(scene.village).keys
    payload, _ = _unmask_answer(scene.village, case_no)

    def send(request_id: str, body: dict[str, Any]) -> tuple[int, Any]:
        row = OutboxRow(id=request_id, kind=UNMASK_ANSWER, to_station=keys.county,
                        subject=case_no, ref=0, queued_at="", state="queued", sent_at=None,
                        attempts=0, problem="")
        return _send_answer(scene.village, scene.transport, keys, row, body)

    assert send("ab" * 16, payload) == (404, {"error": "unknown-request"})  # never asked
    asked = scene.client("wang").unmask(VILLAGE_CODE, case_no, REASON)
    status, answer = send(asked["id"], {**payload, "case_no": f"{VILLAGE_CODE}-20250929-0099"})
    assert status == 400 and answer["error"] == "malformed"  # not the case that was asked
    assert send(asked["id"], payload) == (200, {"stored": True, "id": asked["id"]})
    assert send(asked["id"], payload) == (200, {"stored": False, "id": asked["id"]})  # once


def test_a_station_with_only_a_usb_stick_answers_too(scene: Scene, applicant: PersonDetails,
                                                     tmp_path: Path):
    from sync import usb
    from sync.county import usb as county_usb

    case_no = new_case(scene, applicant)  # enrolled and synced once online; then no link
    wang = scene.client("wang")
    asked = wang.unmask(VILLAGE_CODE, case_no, REASON)
    start = scene.village.ledger.size()

    news = tmp_path / "news.vsb"  # county export --station → the village imports it
    news.write_bytes(county_usb.export_bundle(scene.county, VILLAGE_CODE))
    assert usb.import_bundle(scene.village, news)["relay"]["received"] == 1
    assert wang.unmask_answer(asked["id"])["state"] == "pending"

    up = tmp_path / "up.vsb"  # the answer leaves in the village's export, sealed
    assert usb.export_bundle(scene.village, up)["relay_messages"] == 1
    assert applicant.cert_no.encode() not in up.read_bytes()
    reply = tmp_path / "up.reply.vsb"
    reply.write_bytes(county_usb.import_bundle(scene.county, up.read_bytes()))
    usb.import_bundle(scene.village, reply)

    shown = wang.unmask_answer(asked["id"])
    assert shown["state"] == "answered" and shown["fields"]["cert_no"] == applicant.cert_no
    new = [e.kind for e in scene.village.entries(start)]
    assert new.count("county.unmask_answered") == 1 and new.count("person.unmasked") == 1
    assert usb.import_bundle(scene.village, reply)["relay"]["sent"] == 0  # once only
    assert [e.kind for e in scene.village.entries(start)] == new
