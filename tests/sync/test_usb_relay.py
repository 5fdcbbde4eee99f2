"""Relayed messages on a USB stick (docs/sync.md, "USB", record type 5).

东坑村 has no link for weeks. Its handover of 张三丰's 最低生活保障 application reaches 青石镇
only as files: village export → county import → county export for the town → town import,
and the case's result comes back the same way. The county's own messages (a 整改通知 from
`county inspect`, a rating made on the QR page) reach the village in the county's export
for it. The same envelopes, the same checks and the same taking-in code as online, so the
same guarantees: a file imported twice, or after its messages arrived online, changes
nothing; a damaged or foreign file writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from station_app.domain.audit.rectification import NoticeState
from station_app.domain.evaluations import Channel, Level
from station_app.domain.people import PersonDetails
from station_app.domain.states import CaseState, ProxyState
from station_app.errors import SyncFileInvalid
from station_app.services.cases import move_case
from station_app.services.clock import ManualClock
from station_app.services.evaluations import evaluations
from station_app.services.notices import list_notices
from station_app.services.profile import set_profile
from station_app.services.proxy import get_proxy
from station_app.services.rating_qr import case_rating_url
from station_app.services.relay import receive_relayed, waiting_handovers_view
from station_app.services.station import Station
from station_app.store.relay import QUEUED, SENT, Outbox
from sync import usb
from sync.client import HttpTransport
from sync.county import usb as county_usb
from sync.county.rating import RatingDesk
from sync.county.rectify import record_inspection
from sync.county.service import County
from sync.protocol import REC_RELAY, bundle_bytes, parse_bundle
from sync.relay_station import CURSOR
from sync.session import run_sync
from tests.documents.builders import case_in
from tests.sync.cli_helpers import county as county_cli
from tests.sync.cli_helpers import county_serving, init_county, init_station, ok_json
from tests.sync.cli_helpers import station as station_cli
from tests.sync.conftest import (
    TOWN,
    TOWN_CODE,
    VILLAGE_CODE,
    RunningServer,
    enroll_station,
    make_station,
)
from tests.sync.test_rectification import T
from tests.sync.test_relay import BROUGHT, county_relay_rows, submit


@pytest.fixture
def town(tmp_path: Path, clock: ManualClock, county: County,
         county_server: RunningServer) -> Iterator[Station]:
    """青石镇便民服务中心, enrolled online once; everything after goes by USB."""
    st = make_station(tmp_path / "town", TOWN, clock)
    enroll_station(st, county, county_server.url)
    yield st
    st.close()


@pytest.fixture
def linked(village: Station) -> Station:
    """东坑村, set up to hand proxy entries over to 青石镇 (设置)."""
    set_profile(village, {"town_centre": TOWN_CODE}, reason="县里统一配置")
    return village


# ---------------------------------------------------------------------------- helpers


def upload(st: Station, county: County, stick: Path, name: str) -> tuple[dict[str, Any],
                                                                         dict[str, Any]]:
    """The station exports, the county imports and replies, the station imports the reply:
    (export summary, import summary)."""
    exported = usb.export_bundle(st, stick / f"{name}.vsb")
    reply = county_usb.import_bundle(county, (stick / f"{name}.vsb").read_bytes())
    (stick / f"{name}.reply.vsb").write_bytes(reply)
    return exported, usb.import_bundle(st, stick / f"{name}.reply.vsb")


def download(county: County, st: Station, stick: Path, name: str) -> dict[str, Any]:
    """`county export --station CODE` carried to the station and imported there."""
    (stick / f"{name}.vsb").write_bytes(county_usb.export_bundle(county, st.info.code))
    return usb.import_bundle(st, stick / f"{name}.vsb")


def relay_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(body) for kind, body in parse_bundle(path.read_bytes())
            if kind == REC_RELAY]


def station_state(st: Station) -> dict[str, Any]:
    """What a repeated import must leave alone: the log, the cursor, the outbox."""
    return {"size": st.ledger.size(), "cursor": st.sync_state.get(CURSOR),
            "outbox": Outbox(st.db).all()}


def kinds(st: Station, start: int) -> list[str]:
    return [e.kind for e in st.entries(start)]


def rewrite(path: Path, change: Any) -> Path:
    """The bundle with its type-5 records changed by ``change`` (and a correct digest, as
    a careful forger would write it)."""
    records = [(k, b) for k, b in parse_bundle(path.read_bytes())]
    out = path.with_name("forged-" + path.name)
    out.write_bytes(bundle_bytes(change(records)))
    return out


def handed_over(linked: Station, town: Station, county: County, applicant: PersonDetails,
                stick: Path) -> str:
    """The whole village → town leg by files; returns the 代办序号."""
    proxy_no = submit(linked, applicant)
    first, _ = upload(linked, county, stick, "v1")  # the town's certificate comes back
    assert (first["relay_messages"], first["certificates_wanted"]) == (0, [TOWN_CODE])
    assert Outbox(linked.db).all()[0].state == QUEUED
    second, applied = upload(linked, county, stick, "v2")
    assert (second["relay_messages"], second["certificates_wanted"]) == (1, [])
    assert applied["relay"]["sent"] == 1 and Outbox(linked.db).all()[0].state == SENT
    took = download(county, town, stick, "for-town")
    assert took["relay"]["received"] == 1 and not took["relay"]["refused"]
    return proxy_no


# ------------------------------------------------------------------------- the story


def test_a_handover_and_its_result_travel_entirely_by_usb(
        linked: Station, town: Station, county: County, applicant: PersonDetails,
        tmp_path: Path):
    proxy_no = handed_over(linked, town, county, applicant, tmp_path)
    # The village logs what left it and whose details, when the county's reply says stored.
    [sent] = [e.body for e in linked.entries() if e.kind == "relay.sent"]
    assert (sent["to"], sent["subject"]) == (TOWN_CODE, proxy_no)
    assert sent["person"] == get_proxy(linked, proxy_no).villager
    # The envelope on the stick is what the online path posts: signed, sealed, no names.
    [envelope] = [r["envelope"] for r in relay_records(tmp_path / "v2.vsb") if "envelope" in r]
    assert envelope["doc"]["to"] == TOWN_CODE and applicant.name not in json.dumps(
        envelope, ensure_ascii=False)

    [waiting] = waiting_handovers_view(town)
    assert waiting["proxy_no"] == proxy_no and waiting["from_name"] == "东坑村便民服务站"
    case = receive_relayed(town, waiting["id"], materials=BROUGHT)
    move_case(town, case.case_no, CaseState.ACCEPTED)
    move_case(town, case.case_no, CaseState.FINISHED,
              details={"outcome": "APPROVED", "cert_name": "低保证", "delivery": "代办员送达"})
    first, _ = upload(town, county, tmp_path, "t1")  # the village's certificate comes back
    assert (first["relay_messages"], first["certificates_wanted"]) == (0, [VILLAGE_CODE])
    second, applied = upload(town, county, tmp_path, "t2")
    assert second["relay_messages"] == 2 and applied["relay"]["sent"] == 2

    back = download(county, linked, tmp_path, "for-village")
    assert (back["relay"]["received"], back["relay"]["refused"]) == (2, [])
    entry = get_proxy(linked, proxy_no)
    assert entry.state is ProxyState.RESULT_RECEIVED and entry.case_no == case.case_no
    assert entry.result == "准予办理（出证办结），低保证，代办员送达"


def test_county_notices_and_qr_ratings_reach_an_offline_village_by_usb(
        village: Station, county: County, county_clock: ManualClock, applicant: PersonDetails,
        tmp_path: Path):
    case_no = case_in(village, applicant, CaseState.FINISHED)
    county_clock.set(village.clock.now() + timedelta(minutes=5))
    upload(village, county, tmp_path, "log")  # the county learns the case's item
    made = record_inspection(county, station=VILLAGE_CODE, day="2025-09-29",
                             items={"有场所": "ok", "有牌子": "fail"},
                             notes={"有牌子": "标识牌褪色"}, note="现场检查",
                             inspector="县政务办 李明", thresholds=T)
    url = case_rating_url(village, case_no)
    assert url is not None
    page = RatingDesk(county).submit(url.rsplit("/", 1)[1], urlencode(
        {"assess": "1", "level": "DISSATISFIED", "reasons": "服务态度差",
         "comment": "窗口无人"}).encode())
    assert page.status == 200

    village.clock.set(county_clock.now() + timedelta(hours=1))  # type: ignore[attr-defined]
    took = download(county, village, tmp_path, "news")
    assert (took["relay"]["received"], took["relay"]["refused"]) == (2, [])
    (notice,) = list_notices(village)
    assert notice.number == made.notice.notice and notice.state is NoticeState.OPEN
    (rated,) = evaluations(village, case_no)
    assert rated.channel is Channel.QR and rated.level is Level.DISSATISFIED

    # Until the village's log shows the county it took them, every export carries them
    # again (an export never imported loses nothing) …
    assert county_usb.reply_summary(county_usb.export_bundle(county, VILLAGE_CODE)
                                    )["relay_messages"] == 2
    # … and once an upload has shown it, they stay behind.
    upload(village, county, tmp_path, "after")
    assert county_usb.reply_summary(county_usb.export_bundle(county, VILLAGE_CODE)
                                    )["relay_messages"] == 0
    assert relay_records(tmp_path / "after.reply.vsb")[-1] == {"after": took_seq(village)}


def took_seq(st: Station) -> int:
    return int(st.sync_state.get(CURSOR) or 0)


# ------------------------------------------------------------------------- idempotence


def test_importing_the_same_files_twice_changes_nothing(
        linked: Station, town: Station, county: County, applicant: PersonDetails,
        tmp_path: Path):
    handed_over(linked, town, county, applicant, tmp_path)
    rows, village_before = county_relay_rows(county), station_state(linked)
    again = county_usb.import_bundle(county, (tmp_path / "v2.vsb").read_bytes())
    assert county_relay_rows(county) == rows  # the county keeps each message once
    assert again == (tmp_path / "v2.reply.vsb").read_bytes()  # and answers the same
    assert usb.import_bundle(linked, tmp_path / "v2.reply.vsb")["relay"]["sent"] == 0
    assert station_state(linked) == village_before

    town_before = station_state(town)
    twice = usb.import_bundle(town, tmp_path / "for-town.vsb")
    assert (twice["relay"]["received"], twice["relay"]["duplicates"]) == (0, 1)
    assert station_state(town) == town_before and len(waiting_handovers_view(town)) == 1


def test_a_file_whose_messages_already_arrived_online_changes_nothing(
        linked: Station, town: Station, county: County, applicant: PersonDetails,
        transport: HttpTransport, tmp_path: Path):
    submit(linked, applicant)
    upload(linked, county, tmp_path, "v1")  # the town's certificate
    usb.export_bundle(linked, tmp_path / "v2.vsb")  # the handover, on the stick …
    assert run_sync(linked, transport).relay_sent == 1  # … and online before it got there
    rows, before = county_relay_rows(county), station_state(linked)
    reply = county_usb.import_bundle(county, (tmp_path / "v2.vsb").read_bytes())
    assert county_relay_rows(county) == rows
    (tmp_path / "v2.reply.vsb").write_bytes(reply)
    assert usb.import_bundle(linked, tmp_path / "v2.reply.vsb")["relay"]["sent"] == 0
    assert station_state(linked) == before  # one relay.sent, from the online send

    (tmp_path / "for-town.vsb").write_bytes(county_usb.export_bundle(county, TOWN_CODE))
    assert run_sync(town, transport).relay_received == 1  # the town synced online meanwhile
    town_before = station_state(town)
    late = usb.import_bundle(town, tmp_path / "for-town.vsb")
    assert (late["relay"]["received"], late["relay"]["duplicates"]) == (0, 1)
    assert station_state(town) == town_before


# --------------------------------------------------------------------- refused files


def test_a_damaged_or_truncated_reply_writes_nothing(
        linked: Station, town: Station, county: County, applicant: PersonDetails,
        tmp_path: Path):
    submit(linked, applicant)
    upload(linked, county, tmp_path, "v1")
    usb.export_bundle(linked, tmp_path / "v2.vsb")
    (tmp_path / "v2.reply.vsb").write_bytes(
        county_usb.import_bundle(county, (tmp_path / "v2.vsb").read_bytes()))
    before = station_state(linked)
    data = (tmp_path / "v2.reply.vsb").read_bytes()
    (tmp_path / "cut.vsb").write_bytes(data[:-40])
    flipped = bytearray(data)
    flipped[-60] ^= 0x01
    (tmp_path / "flipped.vsb").write_bytes(bytes(flipped))
    for bad in ("cut.vsb", "flipped.vsb"):
        with pytest.raises(SyncFileInvalid):
            usb.import_bundle(linked, tmp_path / bad)
    shapeless = rewrite(tmp_path / "v2.reply.vsb",
                        lambda rs: [*rs, (REC_RELAY, b'{"message": {"seq": "x"}}')])
    with pytest.raises(SyncFileInvalid) as refused:
        usb.import_bundle(linked, shapeless)
    assert "内容已损坏" in refused.value.text
    assert station_state(linked) == before and Outbox(linked.db).all()[0].state == QUEUED


def test_only_certificates_the_county_signed_are_kept_for_sealing(
        linked: Station, town: Station, county: County, applicant: PersonDetails,
        tmp_path: Path):
    submit(linked, applicant)
    usb.export_bundle(linked, tmp_path / "v1.vsb")
    reply = county_usb.import_bundle(county, (tmp_path / "v1.vsb").read_bytes())
    (tmp_path / "v1.reply.vsb").write_bytes(reply)
    [cert] = [r["certificate"] for r in relay_records(tmp_path / "v1.reply.vsb")
              if "certificate" in r]
    assert cert["doc"]["station"] == TOWN_CODE

    def swap_key(records: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
        forged = json.loads(json.dumps(cert))  # someone's own KEM key, the county's signature
        forged["doc"]["kem_public"] = cert["doc"]["log_public"]
        return [(k, json.dumps({"certificate": forged}).encode())
                if k == REC_RELAY and "certificate" in json.loads(b) else (k, b)
                for k, b in records]

    usb.import_bundle(linked, rewrite(tmp_path / "v1.reply.vsb", swap_key))
    again = usb.export_bundle(linked, tmp_path / "v2.vsb")
    assert (again["relay_messages"], again["certificates_wanted"]) == (0, [TOWN_CODE])
    usb.import_bundle(linked, tmp_path / "v1.reply.vsb")  # the genuine one
    assert usb.export_bundle(linked, tmp_path / "v3.vsb")["relay_messages"] == 1


def test_a_reply_that_skips_messages_this_station_has_not_taken_is_refused(
        linked: Station, town: Station, county: County, applicant: PersonDetails,
        tmp_path: Path):
    handed_over(linked, town, county, applicant, tmp_path)
    (tmp_path / "for-village.vsb").write_bytes(county_usb.export_bundle(county, VILLAGE_CODE))
    ahead = rewrite(tmp_path / "for-village.vsb", lambda rs: [
        (k, b'{"after": 99}' if k == REC_RELAY and json.loads(b) == {"after": 0} else b)
        for k, b in rs])
    before = station_state(linked)
    with pytest.raises(SyncFileInvalid) as refused:
        usb.import_bundle(linked, ahead)
    assert "接不上" in refused.value.text and station_state(linked) == before


def test_a_tampered_export_is_refused_before_the_county_stores_anything(
        linked: Station, town: Station, county: County, applicant: PersonDetails,
        tmp_path: Path):
    submit(linked, applicant)
    upload(linked, county, tmp_path, "v1")
    usb.export_bundle(linked, tmp_path / "v2.vsb")

    def readdress(records: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
        out = []
        for kind, body in records:
            record = json.loads(body) if kind == REC_RELAY else {}
            if "envelope" in record:
                record["envelope"]["doc"]["to"] = "330199101299"  # signed: cannot change
                body = json.dumps(record).encode()
            out.append((kind, body))
        return out

    forged = rewrite(tmp_path / "v2.vsb", readdress)
    rows, size = county_relay_rows(county), county.status(linked.info.origin).body["size"]
    with pytest.raises(SyncFileInvalid) as refused:
        county_usb.import_bundle(county, forged.read_bytes())
    assert "签名无效" in refused.value.text
    assert county_relay_rows(county) == rows
    assert county.status(linked.info.origin).body["size"] == size

    taken = rewrite(tmp_path / "v2.vsb", lambda rs: [
        (k, json.dumps({"taken": {**json.loads(b)["taken"], "after": 7}}).encode())
        if k == REC_RELAY and "taken" in json.loads(b) else (k, b) for k, b in rs])
    with pytest.raises(SyncFileInvalid):
        county_usb.import_bundle(county, taken.read_bytes())
    assert county.status(linked.info.origin).body["size"] == size


def test_a_file_for_another_station_is_refused(
        linked: Station, town: Station, county: County, applicant: PersonDetails,
        tmp_path: Path):
    handed_over(linked, town, county, applicant, tmp_path)
    before = station_state(linked)
    with pytest.raises(SyncFileInvalid) as refused:
        usb.import_bundle(linked, tmp_path / "for-town.vsb")
    assert "另一个站点" in refused.value.text and station_state(linked) == before

    # the village's envelope slipped into the town's export
    usb.export_bundle(town, tmp_path / "t.vsb")
    foreign = json.dumps({"envelope": json.loads(county_relay_rows(county)[0][4])}).encode()
    mixed = rewrite(tmp_path / "t.vsb", lambda rs: [*rs, (REC_RELAY, foreign)])
    rows = county_relay_rows(county)
    with pytest.raises(SyncFileInvalid) as mixed_refused:
        county_usb.import_bundle(county, mixed.read_bytes())
    assert "另一个站点" in mixed_refused.value.text and county_relay_rows(county) == rows


# ------------------------------------------------------------------ the command lines


def test_the_station_command_line_tells_what_went_and_came(
        linked: Station, town: Station, county: County, applicant: PersonDetails,
        tmp_path: Path):
    submit(linked, applicant)
    first = station_cli(linked.folder, "sync", "export", tmp_path / "v1.vsb")
    assert first.returncode == 0, first.stderr
    assert f"向县级索取站点 {TOWN_CODE} 的证书" in first.stdout
    (tmp_path / "v1.reply.vsb").write_bytes(
        county_usb.import_bundle(county, (tmp_path / "v1.vsb").read_bytes()))
    assert station_cli(linked.folder, "sync", "import", tmp_path / "v1.reply.vsb"
                       ).returncode == 0

    second = station_cli(linked.folder, "sync", "export", tmp_path / "v2.vsb")
    assert "站间转交消息 1 件" in second.stdout, second.stderr
    (tmp_path / "v2.reply.vsb").write_bytes(
        county_usb.import_bundle(county, (tmp_path / "v2.vsb").read_bytes()))
    back = station_cli(linked.folder, "sync", "import", tmp_path / "v2.reply.vsb", "--json")
    assert back.returncode == 0, back.stderr
    assert back.json()["relay"]["sent"] == 1
    assert county_usb.reply_summary((tmp_path / "v2.reply.vsb").read_bytes()
                                    )["relay_stored"] == 1


def test_both_command_lines_count_the_relayed_messages(tmp_path: Path):
    data, folder, stick = tmp_path / "county", tmp_path / "village", tmp_path / "stick"
    init_county(data)
    init_station(folder)
    ticket = ok_json(county_cli(data, "enroll", "--station", VILLAGE_CODE, "--json"))
    with county_serving(data) as url:  # enrollment is online; the rest goes by USB
        ok_json(station_cli(folder, "enroll", "--server", url, "--code", ticket["code"],
                            "--json"))
    assert station_cli(folder, "sync", "export", stick / "up.vsb").returncode == 0
    imported = county_cli(data, "import", stick / "up.vsb")
    assert imported.returncode == 0, imported.stderr
    assert "站间转交：收下 0 件，带回 0 件" in imported.stdout
    exported = county_cli(data, "export", "--station", VILLAGE_CODE, stick / "news.vsb")
    assert exported.returncode == 0 and "转交消息 0 件" in exported.stdout, exported.stderr
    applied = ok_json(station_cli(folder, "sync", "import", stick / "news.vsb", "--json"))
    assert applied["relay"] == {"sent": 0, "pending": 0, "failed": 0, "received": 0,
                                "duplicates": 0, "refused": []}
