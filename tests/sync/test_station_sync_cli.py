"""``station enroll`` and ``station sync``: the real executable against the real county server
on 127.0.0.1, with what a clerk may get wrong along the way."""

from __future__ import annotations

from pathlib import Path

from sync.county.service import County
from sync.protocol import enroll_qr_text
from tests.sync.cli_helpers import init_station, ok_json, station
from tests.sync.conftest import RunningServer, free_port

VILLAGE = "330199101201"


def not_enrolled(data: Path) -> bool:
    return ok_json(station(data, "sync", "status", "--json"))["enrolled"] is False


def test_enroll_takes_the_typed_code_and_sync_status_shows_the_county(
        tmp_path: Path, county: County, county_server: RunningServer):
    data = tmp_path / "village"
    init_station(data)
    ticket = county.new_ticket(VILLAGE)

    done = station(data, "enroll", "--server", county_server.url, "--code",
                   ticket.code.lower().replace("-", " "))
    status = ok_json(station(data, "sync", "status", "--json"))

    assert done.returncode == 0 and "county/330199" in done.stdout
    assert status["enrolled"] and status["county"] == "county/330199"
    assert status["server"] == county_server.url and status["keyset_version"] == 1
    assert status["acknowledged"] == 0 < status["size"] and status["last_receipt"] is None
    again = station(data, "enroll", "--server", county_server.url, "--code", ticket.code)
    assert again.returncode == 1 and "SYNC_ALREADY_ENROLLED" in again.stderr


def test_sync_prints_progress_and_the_result(tmp_path: Path, county: County,
                                            county_server: RunningServer):
    data = tmp_path / "village"
    init_station(data)
    qr = enroll_qr_text(VILLAGE, county.new_ticket(VILLAGE).code)
    ok_json(station(data, "enroll", "--server", county_server.url, "--code", qr, "--json"))

    done = station(data, "sync")
    status = station(data, "sync", "status")

    assert done.returncode == 0
    assert "上传中" in done.stderr and "同步完成" in done.stdout and "县级时间" in done.stdout
    assert "未同步 0 条" in status.stdout and "最近回执" in status.stdout


def test_a_qr_code_for_another_station_is_refused(tmp_path: Path, county: County,
                                                  county_server: RunningServer):
    data = tmp_path / "village"
    init_station(data)
    qr = enroll_qr_text("330199101202", county.new_ticket("330199101202").code)

    done = station(data, "enroll", "--server", county_server.url, "--code", qr)

    assert done.returncode == 1 and "INPUT_INVALID" in done.stderr
    assert "330199101202" in done.stderr and not_enrolled(data)


def test_a_wrong_code_is_refused_without_saying_why(tmp_path: Path, county: County,
                                                   county_server: RunningServer):
    data = tmp_path / "village"
    init_station(data)
    county.new_ticket(VILLAGE)

    done = station(data, "enroll", "--server", county_server.url, "--code",
                   "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GG")

    assert done.returncode == 1 and "SYNC_ENROLL_REFUSED" in done.stderr
    assert not_enrolled(data)


def test_bad_or_unreachable_servers_are_named(tmp_path: Path):
    data = tmp_path / "village"
    init_station(data)

    typo = station(data, "enroll", "--server", "10.1.2.3:8080", "--code", "ABCD")
    down = station(data, "enroll", "--server", f"http://127.0.0.1:{free_port()}",
                   "--code", "ABCD")

    assert typo.returncode == 1 and "http://" in typo.stderr
    assert down.returncode == 1 and "SYNC_ENROLL_UNREACHABLE" in down.stderr
    assert "请核对服务器地址和网络后再注册" in down.stderr  # not "will sync later": nothing to
    assert not_enrolled(data)


def test_sync_before_enrolling_says_what_to_do(tmp_path: Path):
    data = tmp_path / "village"
    init_station(data)

    for args in (["sync"], ["sync", "export", tmp_path / "up.vsb"],
                 ["sync", "import", tmp_path / "up.vsb"]):
        done = station(data, *args)
        assert done.returncode == 1 and "SYNC_NOT_ENROLLED" in done.stderr, args
        assert "station enroll" in done.stderr
    assert not (tmp_path / "up.vsb").exists()
    assert "尚未在县级服务器注册" in station(data, "sync", "status").stdout


def test_sync_with_another_server_address(tmp_path: Path, county: County,
                                          county_server: RunningServer):
    data = tmp_path / "village"
    init_station(data)
    ok_json(station(data, "enroll", "--server", county_server.url, "--code",
                    county.new_ticket(VILLAGE).code, "--json"))
    moved = county_server.url + "/"  # as typed from a note: any address given wins

    done = ok_json(station(data, "sync", "--server", moved, "--json"))

    assert done["server"] == moved and done["acknowledged"] == done["size"]
    assert ok_json(station(data, "sync", "status", "--json"))["server"] == county_server.url


def test_importing_a_damaged_reply_is_refused(tmp_path: Path, county: County,
                                              county_server: RunningServer):
    data = tmp_path / "village"
    init_station(data)
    ok_json(station(data, "enroll", "--server", county_server.url, "--code",
                    county.new_ticket(VILLAGE).code, "--json"))
    (tmp_path / "reply.vsb").write_bytes(b"VSB1\x03\x00\x00\x00\x05hello")

    done = station(data, "sync", "import", tmp_path / "reply.vsb", "--json")

    assert done.returncode == 1 and done.json()["error"]["code"] == "SYNC_FILE_INVALID"
    assert ok_json(station(data, "sync", "status", "--json"))["acknowledged"] == 0
