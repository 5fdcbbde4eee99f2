"""A proxy entry handed over from a village station to its town centre through the county,
and the case's result coming back, between two real stations and one real county server.

东坑村's agent 王丽华 registers 张三丰's 最低生活保障 application and marks it 已报送; the
village syncs, the town syncs, 王晓梅 at the town receives it (no re-typing), accepts and
finishes the case; the town syncs, the village syncs, and the village's entry shows 结果已回.
The county routes every message and can read none of them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from station_app.crypto.kem import SUITE_ID, seal_to
from station_app.domain.cases import Channel, ReceivedMaterial
from station_app.domain.clock import iso
from station_app.domain.people import PersonDetails
from station_app.domain.states import CaseState, ProxyState
from station_app.errors import InvalidInput, InvalidStationCode, SyncRefused
from station_app.services.cases import get_case, move_case
from station_app.services.clock import ManualClock
from station_app.services.demo import ensure_demo
from station_app.services.people import erase_person, open_person
from station_app.services.profile import profile, set_profile
from station_app.services.proxy import ProxyRequest, get_proxy, move_proxy, register_proxy
from station_app.services.relay import receive_relayed, waiting_handovers_view
from station_app.services.station import Station, StationSetup
from station_app.store.relay import Outbox
from sync.client import HttpTransport
from sync.county.service import County
from sync.protocol import b64, key_id
from sync.relay import RelayHeader, envelope_bytes, fetch_message, payload_bytes, seal_envelope
from sync.relay_station import CURSOR
from sync.session import run_sync
from sync.station import SyncReport, kem_key
from tests.sync.conftest import TOWN, TOWN_CODE, RunningServer, enroll_station, make_station
from tests.ui.driver import App, go_to
from tests.ui.harness import ui_test

LOW_INCOME, ITEM_NAME = "LOCAL-MZ-002", "最低生活保障申请"  # proxy allowed
AGENT, AGENT_PHONE = "王丽华", "13905710011"
BROUGHT = (ReceivedMaterial(name="居民身份证", originals=1, copies=1),)


@pytest.fixture
def town(tmp_path: Path, clock: ManualClock, county: County,
         county_server: RunningServer) -> Iterator[Station]:
    st = make_station(tmp_path / "town", TOWN, clock)
    enroll_station(st, county, county_server.url)
    yield st
    st.close()


@pytest.fixture
def linked(village: Station) -> Station:
    """The village station, set up to hand proxy entries over to 青石镇 (设置)."""
    set_profile(village, {"town_centre": TOWN_CODE}, reason="县里统一配置")
    return village


def submit(village: Station, villager: PersonDetails) -> str:
    """The agent registers the application and marks it 已报送; returns the 代办序号."""
    entry = register_proxy(village, ProxyRequest(
        item=LOW_INCOME, villager=villager, agent=AGENT, agent_phone=AGENT_PHONE,
        village_group="东坑村3组", materials=BROUGHT))
    move_proxy(village, entry.proxy_no, ProxyState.SUBMITTED, note="已交镇便民服务中心")
    return entry.proxy_no


def sync_now(st: Station, transport: HttpTransport) -> SyncReport:
    return run_sync(st, transport)


def hand_over(linked: Station, town: Station, villager: PersonDetails,
              transport: HttpTransport) -> tuple[str, dict[str, Any]]:
    """Submit, sync the village, sync the town: the handover waits at the town."""
    proxy_no = submit(linked, villager)
    assert sync_now(linked, transport).relay_sent == 1
    assert sync_now(town, transport).relay_received == 1
    waiting = waiting_handovers_view(town)
    assert [w["proxy_no"] for w in waiting] == [proxy_no]
    return proxy_no, waiting[0]


def county_relay_rows(county: County) -> list[tuple[Any, ...]]:
    with county.db.read() as tx:
        return tx.all("SELECT seq, to_station, from_origin, message_id, envelope FROM relay "
                      "ORDER BY seq")


def kinds_since(st: Station, start: int) -> list[str]:
    return [e.kind for e in st.entries(start)]


# ------------------------------------------------------------------------- the story


def test_a_handover_travels_to_the_town_and_its_result_comes_back(
        linked: Station, town: Station, applicant: PersonDetails, transport: HttpTransport):
    proxy_no, waiting = hand_over(linked, town, applicant, transport)

    # The town clerk sees it masked, like any applicant, and receives it without re-typing.
    assert waiting["villager"]["name"] == "张*丰" and waiting["agent"] == AGENT
    assert waiting["from_name"] == "东坑村便民服务站" and waiting["item"] == LOW_INCOME
    case = receive_relayed(town, waiting["id"], materials=BROUGHT)
    assert case.proxy_no == proxy_no and case.channel is Channel.PROXY and case.agent == AGENT
    assert open_person(town, case.applicant) == applicant
    assert waiting_handovers_view(town) == []
    # Both logs say who sent whose details where, and hold none of them in clear.
    [sent] = [e.body for e in linked.entries() if e.kind == "relay.sent"]
    assert (sent["to"], sent["subject"]) == (TOWN_CODE, proxy_no)
    assert sent["person"] == get_proxy(linked, proxy_no).villager
    [received] = [e.body for e in town.entries() if e.kind == "relay.received"]
    assert received["villager"] == case.applicant
    for body in (sent, received):
        text = json.dumps(body, ensure_ascii=False)
        assert applicant.name not in text and applicant.cert_no not in text

    move_case(town, case.case_no, CaseState.ACCEPTED)
    move_case(town, case.case_no, CaseState.FINISHED,
              details={"outcome": "APPROVED", "cert_name": "低保证", "delivery": "代办员送达"})
    assert sync_now(town, transport).relay_sent == 2
    report = sync_now(linked, transport)
    assert (report.relay_received, report.relay_refused) == (2, [])

    entry = get_proxy(linked, proxy_no)
    assert entry.state is ProxyState.RESULT_RECEIVED and entry.state.label == "结果已回"
    assert entry.case_no == case.case_no
    assert entry.result == "准予办理（出证办结），低保证，代办员送达"
    moves = [h for h in entry.history if h.actor == "relay"]
    assert [h.target for h in moves] == [ProxyState.IN_PROGRESS, ProxyState.RESULT_RECEIVED]
    assert all(h.note.startswith("县级转来：青石镇便民服务中心") for h in moves)


def test_a_refusal_at_the_town_terminates_the_village_entry_with_its_reason(
        linked: Station, town: Station, applicant: PersonDetails, transport: HttpTransport):
    proxy_no, waiting = hand_over(linked, town, applicant, transport)
    case = receive_relayed(town, waiting["id"])
    move_case(town, case.case_no, CaseState.REJECTED,
              details={"reason": "户籍不在本镇", "legal_basis": "行政许可法第三十二条"})
    sync_now(town, transport)
    sync_now(linked, transport)

    entry = get_proxy(linked, proxy_no)
    assert entry.state is ProxyState.TERMINATED
    assert entry.details is not None
    assert entry.details["reason"] == "县级转来：不予受理：户籍不在本镇（行政许可法第三十二条）"


def test_every_entry_the_relay_writes_is_uploaded_in_the_same_sync(
        linked: Station, town: Station, applicant: PersonDetails, transport: HttpTransport,
        county: County):
    hand_over(linked, town, applicant, transport)
    for st in (linked, town):
        with county.db.read() as tx:
            stored = tx.station(st.info.origin)
        assert stored is not None and stored.size == st.ledger.size()


# ---------------------------------------------------------------- what the county sees


def test_the_county_routes_the_handover_but_holds_no_personal_data(
        linked: Station, town: Station, applicant: PersonDetails, transport: HttpTransport,
        county: County, tmp_path: Path):
    hand_over(linked, town, applicant, transport)
    rows = county_relay_rows(county)
    assert [(r[1], r[2]) for r in rows] == [(TOWN_CODE, linked.info.origin)]
    doc = json.loads(rows[0][4])["doc"]
    assert set(doc) == {"format", "from", "to", "id", "kind", "sent", "kem", "suite",
                        "ciphertext"}

    county.db.close()  # every byte on disk, the write-ahead log included
    stored = b"".join(p.read_bytes() for p in (tmp_path / "county").glob("county.db*"))
    for secret in (applicant.cert_no, applicant.name, applicant.phone, "东坑村3组12号"):
        for form in (secret.encode(), json.dumps(secret).strip('"').encode()):
            assert form not in stored, secret


def test_an_envelope_cannot_be_read_or_forged_on_its_way(
        linked: Station, town: Station, applicant: PersonDetails, transport: HttpTransport,
        county: County):
    submit(linked, applicant)
    sync_now(linked, transport)
    signed = json.loads(county_relay_rows(county)[0][4])

    flipped = json.loads(json.dumps(signed))
    flipped["doc"]["ciphertext"] = b64(b"\x00" + bytes(range(200)))
    assert transport.relay_send(envelope_bytes(flipped)) == (400, {"error": "bad-signature"})
    readdressed = json.loads(json.dumps(signed))
    readdressed["doc"]["to"] = "330199101999"
    assert transport.relay_send(envelope_bytes(readdressed))[1]["error"] == "bad-signature"
    assert len(county_relay_rows(county)) == 1

    # Nor can the county itself slip a changed one into the town's queue.
    flipped["doc"]["id"] = "d" * 32
    with county.db.write() as tx:
        tx.add_relay(TOWN_CODE, linked.info.origin, "d" * 32, envelope_bytes(flipped).decode(),
                     "2025-09-29T09:00:00+08:00")
    report = sync_now(town, transport)
    assert report.relay_received == 1  # the genuine one
    assert report.relay_refused == [f"#{county_relay_rows(county)[1][0]} bad-signature"]


# ----------------------------------------------------------------- replays, refusals


def test_replays_change_nothing_on_either_side(
        linked: Station, town: Station, applicant: PersonDetails, transport: HttpTransport,
        county: County):
    hand_over(linked, town, applicant, transport)
    envelope = county_relay_rows(county)[0][4].encode()
    assert transport.relay_send(envelope)[1]["stored"] is False  # the county keeps it once
    assert len(county_relay_rows(county)) == 1

    size = town.ledger.size()
    with town.transaction():
        town.sync_state.put(CURSOR, "0")  # as if the town had lost its cursor
    again = sync_now(town, transport)
    assert (again.relay_received, again.relay_duplicates) == (0, 1)
    assert town.ledger.size() == size and len(waiting_handovers_view(town)) == 1

    assert sync_now(linked, transport).relay_sent == 0  # nothing queued twice


def test_a_resubmitted_entry_is_not_handed_over_twice(
        linked: Station, applicant: PersonDetails, transport: HttpTransport, town: Station):
    proxy_no = submit(linked, applicant)
    move_proxy(linked, proxy_no, ProxyState.SUSPENDED, details={"reason": "村民外出"})
    move_proxy(linked, proxy_no, ProxyState.SUBMITTED)  # 续办
    assert [r.subject for r in Outbox(linked.db).all()] == [proxy_no]


def test_a_handover_whose_villager_was_erased_is_given_up_not_sent(
        linked: Station, town: Station, applicant: PersonDetails, transport: HttpTransport):
    proxy_no = submit(linked, applicant)
    erase_person(linked, get_proxy(linked, proxy_no).villager, reason="本人要求删除")
    report = sync_now(linked, transport)
    assert (report.relay_sent, report.relay_failed) == (0, 1)
    [row] = Outbox(linked.db).all()
    assert row.state == "failed" and "已依法删除" in row.problem
    assert sync_now(town, transport).relay_received == 0


def test_a_ciphertext_moved_into_another_envelope_does_not_open(
        linked: Station, town: Station, applicant: PersonDetails, transport: HttpTransport,
        county: County):
    """Even re-signed by its own sender under a new id, the binding (HPKE info) fails."""
    submit(linked, applicant)
    sync_now(linked, transport)
    doc = json.loads(county_relay_rows(county)[0][4])["doc"]
    header = RelayHeader(sender=doc["from"], to=doc["to"], id="f" * 32, kind=doc["kind"],
                         sent=doc["sent"], kem=doc["kem"], suite=doc["suite"])
    moved = seal_envelope(header, base64.b64decode(doc["ciphertext"]),
                          sender_public=linked.signer.public_key, sign=linked.signer.sign)
    assert transport.relay_send(envelope_bytes(moved))[0] == 200

    report = sync_now(town, transport)
    assert report.relay_received == 1  # the genuine one
    assert report.relay_refused == [f"#{county_relay_rows(county)[1][0]} undecryptable"]
    refused = [e for e in town.entries() if e.kind == "relay.refused"]
    assert [e.body["reason"] for e in refused] == ["undecryptable"]
    assert len(waiting_handovers_view(town)) == 1


def test_a_message_for_another_station_slipped_into_the_queue_is_refused(
        linked: Station, town: Station, applicant: PersonDetails, transport: HttpTransport,
        county: County):
    """A county that misroutes (or is made to) cannot make the town apply someone else's
    message: the recipient is inside the signed envelope."""
    other = envelope(linked, town, "handover", handover_payload(linked, applicant),
                     to="330199101999")
    with county.db.write() as tx:
        tx.add_relay(TOWN_CODE, linked.info.origin, other["doc"]["id"],
                     envelope_bytes(other).decode(), "2025-09-29T09:00:00+08:00")
    report = sync_now(town, transport)
    assert report.relay_received == 0 and report.relay_refused[0].endswith("wrong-recipient")
    assert waiting_handovers_view(town) == []


def test_messages_from_a_revoked_station_are_refused(
        linked: Station, town: Station, applicant: PersonDetails, transport: HttpTransport,
        county: County):
    submit(linked, applicant)
    sync_now(linked, transport)
    county.revoke(linked.info.code)

    report = sync_now(town, transport)
    assert report.relay_received == 0 and report.relay_refused[0].endswith("revoked")
    assert waiting_handovers_view(town) == []
    with pytest.raises(SyncRefused):  # and the revoked station can send nothing more
        sync_now(linked, transport)


def test_a_station_the_county_does_not_know_cannot_post(
        tmp_path: Path, clock: ManualClock, town: Station, applicant: PersonDetails,
        transport: HttpTransport):
    stranger = make_station(tmp_path / "stranger", StationSetup(
        name="外县某村便民服务站", code="330299101201", region="330299101201",
        level="village"), clock)
    unknown = envelope(stranger, town, "handover", handover_payload(stranger, applicant))
    assert transport.relay_send(envelope_bytes(unknown)) == (403, {"error": "unknown-station"})
    stranger.close()


def test_a_station_reads_only_its_own_queue(
        linked: Station, town: Station, applicant: PersonDetails, transport: HttpTransport,
        county: County, county_clock: ManualClock):
    submit(linked, applicant)
    sync_now(linked, transport)
    now = county_clock.now().isoformat()

    def ask(st: Station, code: str, *, signer: Station | None = None) -> tuple[int, Any]:
        message = fetch_message(origin=st.info.origin, station=code, after=0, time=now)
        sig = (signer or st).signer.sign(message)
        return transport.relay_fetch(code, 0, {"x-station-origin": st.info.origin,
                                               "x-station-time": now,
                                               "x-relay-signature": b64(sig)})

    assert ask(linked, TOWN_CODE) == (403, {"error": "forbidden"})  # the village, for the town
    assert ask(town, TOWN_CODE, signer=linked)[0] == 401  # the town's name, another key
    assert transport.relay_fetch(TOWN_CODE, 0, {}) == (403, {"error": "unknown-station"})
    status, answer = ask(town, TOWN_CODE)
    assert status == 200 and len(answer["messages"]) == 1

    county_clock.advance(minutes=6)  # a signed request is good for 5 minutes
    assert ask(town, TOWN_CODE) == (401, {"error": "stale",
                                          "county_time": iso(county_clock.now())})


def test_only_the_station_an_entry_was_handed_to_reports_on_it(
        tmp_path: Path, clock: ManualClock, linked: Station, town: Station,
        applicant: PersonDetails, transport: HttpTransport, county: County,
        county_server: RunningServer):
    proxy_no, _ = hand_over(linked, town, applicant, transport)
    other_town = make_station(tmp_path / "other", StationSetup(
        name="白云镇便民服务中心", code="330199102000", region="330199102000",
        level="town"), clock)
    enroll_station(other_town, county, county_server.url)
    news = {"proxy_no": proxy_no, "case_no": "330199102000-20250929-0001",
            "state": "FINISHED", "result": "准予办理", "at": "2025-09-29T10:00:00+08:00"}
    assert transport.relay_send(envelope_bytes(envelope(other_town, linked, "case-status",
                                                        news)))[0] == 200
    report = sync_now(linked, transport)
    assert report.relay_received == 0 and report.relay_refused[0].endswith("not-ours")
    assert get_proxy(linked, proxy_no).state is ProxyState.SUBMITTED
    other_town.close()


# ---------------------------------------------------------------- the town clerk's 收件


@ui_test
async def test_the_town_clerk_picks_a_relayed_handover_on_the_receive_screen(
        tmp_path: Path, linked: Station, county: County, county_server: RunningServer,
        applicant: PersonDetails, transport: HttpTransport) -> None:
    folder = tmp_path / "town-desktop"
    ensure_demo(folder, cases=0, seed=1)  # 青石镇, with its clerk 王晓梅
    with Station.open(folder) as town:
        enroll_station(town, county, county_server.url)
    proxy_no = submit(linked, applicant)
    sync_now(linked, transport)
    with Station.open(folder) as town:
        sync_now(town, transport)

    app = App(folder)
    try:
        h = await app.sign_in("王晓梅")
        await go_to(h, "收件")
        assert h.find_by_key("receive_inbound_count").value == "县级转来的代办件：1 件待收件"
        [pick] = [k for k in h.keys("receive_inbound_") if k != "receive_inbound_count"]
        await h.click(h.find_by_key(pick))
        info = h.find_by_key("receive_handover_info").value
        assert info.startswith(f"县级转来的代办件：代办序号 {proxy_no} · {ITEM_NAME} · 村民 张*丰")
        assert h.find_by_key("receive_item_chosen").value == f"已选：{ITEM_NAME}（{LOW_INCOME}）"
        await h.click(h.find_by_key("receive_save"))
        assert h.crashed() is None
        case_no = h.find_by_key("case_title").value.removeprefix("办件 ")
        with app.station() as st:
            case = get_case(st, case_no)
            assert (case.proxy_no, case.agent, case.channel) == (proxy_no, AGENT, Channel.PROXY)
            assert [m.name for m in case.materials] == [m.name for m in BROUGHT]
            assert waiting_handovers_view(st) == []
    finally:
        app.close()
    assert app.crashes() == []


# ------------------------------------------------------------------------- set-up


def test_the_town_centre_is_a_checked_profile_setting(village: Station):
    with pytest.raises(InvalidStationCode) as bad:
        set_profile(village, {"town_centre": "青石镇"})
    assert bad.value.field == "town_centre"
    with pytest.raises(InvalidInput):
        set_profile(village, {"town_centre": village.info.code})
    size = village.ledger.size()
    set_profile(village, {"town_centre": " 330199101000 "})
    assert profile(village)["town_centre"] == TOWN_CODE
    assert kinds_since(village, size) == ["station.profile_set"]


def test_without_a_town_centre_nothing_is_relayed(
        village: Station, applicant: PersonDetails, transport: HttpTransport):
    submit(village, applicant)
    assert Outbox(village.db).all() == []
    assert sync_now(village, transport).relay_sent == 0


def test_the_inbox_is_rebuilt_from_the_log(
        linked: Station, town: Station, applicant: PersonDetails, transport: HttpTransport):
    _, waiting = hand_over(linked, town, applicant, transport)
    receive_relayed(town, waiting["id"])
    before = town.db.execute("SELECT * FROM relay_inbox ORDER BY message_id").fetchall()
    town.rebuild()
    assert town.db.execute("SELECT * FROM relay_inbox ORDER BY message_id").fetchall() == before
    with pytest.raises(Exception, match="已收件"):
        receive_relayed(town, waiting["id"])
    assert get_case(town, before[0][16]).proxy_no == waiting["proxy_no"]


# ------------------------------------------------------------------------- helpers


def handover_payload(sender: Station, villager: PersonDetails) -> dict[str, Any]:
    return {"proxy_no": f"{sender.info.code}-DB2025-00001", "item": LOW_INCOME,
            "item_name": ITEM_NAME, "materials": [], "agent": AGENT,
            "agent_phone": AGENT_PHONE, "village_group": "", "note": "",
            "villager": {"name": villager.name, "cert_type": villager.cert_type.value,
                         "cert_no": villager.cert_no, "phone": villager.phone,
                         "address": villager.address},
            "registered_at": "2025-09-29T09:00:00+08:00",
            "submitted_at": "2025-09-29T09:00:00+08:00"}


def envelope(sender: Station, recipient: Station, kind: str, payload: dict[str, Any], *,
             to: str | None = None) -> dict[str, Any]:
    """A well-formed envelope signed by ``sender`` and sealed to ``recipient``'s key, made by
    hand (optionally addressed to another code than the recipient's)."""
    kem_public = kem_key(recipient).public_key
    header = RelayHeader(sender=sender.info.origin, to=to or recipient.info.code,
                         id="e" * 32, kind=kind, sent="2025-09-29T09:00:00+08:00",
                         kem=key_id(kem_public), suite=SUITE_ID)
    ciphertext = seal_to(kem_public, payload_bytes(kind, payload), header.info())
    return seal_envelope(header, ciphertext, sender_public=sender.signer.public_key,
                         sign=sender.signer.sign)
