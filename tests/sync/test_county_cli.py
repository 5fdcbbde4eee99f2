"""The ``county`` command line, run as the real installed executable: a county is set up,
serves on 127.0.0.1, hands out enrollment codes, and sees what its stations sent."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from station_app.documents.render import qr_png
from sync.county.keys import ONLINE_FILE, ROOT_FILE, init_keys
from tests.sync.cli_helpers import (
    county,
    county_serving,
    init_county,
    init_station,
    ok_json,
    station,
)

VILLAGE = "330199101201"


def folder_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def zbar(png: Path) -> str:
    done = subprocess.run(["zbarimg", "--quiet", "--raw", str(png)], capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_init_makes_keys_config_and_database_and_names_the_root_to_move_offline(
        tmp_path: Path):
    data = tmp_path / "county"
    made = init_county(data)

    assert made["county"] == "county/330199" and made["name"] == "示范县"
    assert len(made["root_fingerprint"]) == 16
    assert Path(made["root_file"]) == data / "keys" / ROOT_FILE
    assert (data / "keys" / ONLINE_FILE).is_file() and (data / "county.db").is_file()
    config = json.loads((data / "county.json").read_text(encoding="utf-8"))
    assert config["code"] == "330199" and config["db"] == str((data / "county.db").resolve())
    assert (data / "county.json").stat().st_mode & 0o077 == 0  # may hold a DB password

    text = county(data, "status")
    assert text.returncode == 0 and "还没有站点注册" in text.stdout


def test_a_second_init_is_refused_and_changes_nothing(tmp_path: Path):
    data = tmp_path / "county"
    init_county(data)
    before = folder_digest(data)

    again = county(data, "init", "--name", "别的县", "--code", "330100")

    assert again.returncode == 1
    assert "COUNTY_EXISTS" in again.stderr and "示范县" in again.stderr
    assert "Error:" in again.stderr
    assert folder_digest(data) == before


@pytest.mark.parametrize(("name", "code", "field"), [
    ("示范县", "33019", "代码"), ("示范县", "33O199", "代码"), ("  ", "330199", "县名")])
def test_init_refuses_bad_input_and_leaves_no_folder(tmp_path: Path, name: str, code: str,
                                                      field: str):
    data = tmp_path / "county"
    done = county(data, "init", "--name", name, "--code", code, "--json")
    assert done.returncode == 1 and field in done.stderr
    assert done.json()["ok"] is False
    assert not data.exists()


def test_commands_on_a_folder_without_a_county_say_so(tmp_path: Path):
    done = county(tmp_path / "nothing", "status")
    assert done.returncode == 1 and "COUNTY_MISSING" in done.stderr
    assert "county init" in done.stderr
    assert not (tmp_path / "nothing").exists()


def test_enroll_prints_a_code_and_writes_a_qr_the_station_can_scan(tmp_path: Path):
    data = tmp_path / "county"
    init_county(data)

    ticket = ok_json(county(data, "enroll", "--station", VILLAGE, "--json"))

    assert Path(ticket["qr"]) == data / "enroll" / f"{VILLAGE}.png"
    assert zbar(Path(ticket["qr"])) == f"VSS-ENROLL:1:{VILLAGE}:{ticket['code']}"
    assert len(ticket["code"].replace("-", "")) == 26 and ticket["expires"]
    elsewhere = ok_json(county(data, "enroll", "--station", VILLAGE,
                               "--qr", tmp_path / "qr.png", "--json"))
    assert zbar(tmp_path / "qr.png") == elsewhere["qr_text"] != ticket["qr_text"]


def test_enroll_refuses_a_malformed_station_code(tmp_path: Path):
    data = tmp_path / "county"
    init_county(data)
    done = county(data, "enroll", "--station", "东坑村")
    assert done.returncode == 1 and "STATION_CODE_INVALID" in done.stderr
    assert not (data / "enroll").exists()


def test_qr_png_is_a_real_png_that_decodes_to_its_text(tmp_path: Path):
    text = "VSS-ENROLL:1:330199101201:ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ"
    png = qr_png(text, scale=4)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "code.png").write_bytes(png)
    assert zbar(tmp_path / "code.png") == text


def test_the_whole_story_through_both_command_lines(tmp_path: Path):
    """county init → county serve → county enroll → station enroll (the scanned QR text) →
    station sync → county status shows the station's log, receipted."""
    data, village = tmp_path / "county", tmp_path / "village"
    init_county(data)
    init_station(village)
    ticket = ok_json(county(data, "enroll", "--station", VILLAGE, "--json"))

    with county_serving(data) as url:
        enrolled = ok_json(station(village, "enroll", "--server", url,
                                   "--code", ticket["qr_text"], "--json"))
        synced = ok_json(station(village, "sync", "--json"))
        again = ok_json(station(village, "sync", "--json"))
        text = station(village, "sync", "status")

    made = json.loads((data / "county.json").read_text(encoding="utf-8"))
    assert enrolled["county"] == "county/330199" and made["code"] == "330199"
    assert synced["sent_entries"] == synced["size"] == synced["acknowledged"] > 1
    assert synced["county_time"] is not None
    assert again["sent_entries"] == 0
    assert text.returncode == 0 and f"县级已确认 {synced['size']} 条" in text.stdout
    rows = ok_json(county(data, "status", "--json"))
    assert [(r["station"], r["size"], r["receipt_size"], r["revoked"]) for r in rows] == [
        (VILLAGE, synced["size"], synced["size"], False)]
    assert rows[0]["last_seen"] and rows[0]["evidence"] == rows[0]["quarantine"] == 0


def test_a_revoked_station_is_refused_and_what_it_sends_is_quarantined(tmp_path: Path):
    data, village = tmp_path / "county", tmp_path / "village"
    init_county(data)
    init_station(village)
    ticket = ok_json(county(data, "enroll", "--station", VILLAGE, "--json"))
    with county_serving(data) as url:
        ok_json(station(village, "enroll", "--server", url, "--code", ticket["code"],
                        "--json"))
        size = ok_json(station(village, "sync", "--json"))["acknowledged"]
        revoked = ok_json(county(data, "revoke", "--station", VILLAGE, "--reason", "设备丢失",
                                 "--json"))
        ok_json(station(village, "calendar", "set", "2026-12-28", "--kind", "HOLIDAY",
                        "--name", "临时调整", "--reason", "县政府通知", "--json"))
        refused = station(village, "sync")

    assert revoked["revoked"] and revoked["reason"] == "设备丢失"
    assert refused.returncode == 1 and "SYNC_REFUSED" in refused.stderr
    assert "吊销" in refused.stderr
    row = ok_json(county(data, "status", "--json"))[0]
    assert row["revoked"] and row["size"] == row["receipt_size"] == size
    assert row["quarantine"] >= 1
    again = county(data, "revoke", "--station", VILLAGE)
    assert again.returncode == 1 and "COUNTY_STATION_UNKNOWN" in again.stderr


def test_keys_rotate_needs_this_countys_root(tmp_path: Path):
    data = tmp_path / "county"
    init_county(data)
    before = folder_digest(data / "keys")
    init_keys(tmp_path / "other", "county/330100", "2026-11-23T08:00:00+08:00")

    wrong = county(data, "keys", "rotate", "--root", tmp_path / "other" / "keys" / ROOT_FILE)
    missing = county(data, "keys", "rotate", "--root", tmp_path / "nowhere.json")

    assert wrong.returncode == 1 and "COUNTY_KEYS_INVALID" in wrong.stderr
    assert "不是本县的根密钥" in wrong.stderr
    assert missing.returncode == 1 and "文件不存在" in missing.stderr
    assert folder_digest(data / "keys") == before


def test_keys_rotate_then_drop_the_retired_key(tmp_path: Path):
    data = tmp_path / "county"
    init_county(data)
    root = data / "keys" / ROOT_FILE

    rotated = ok_json(county(data, "keys", "rotate", "--root", root, "--json"))
    old = rotated["retired_kems"][0]
    dropped = ok_json(county(data, "keys", "drop", "--kid", old, "--root", root, "--json"))
    unknown = county(data, "keys", "drop", "--kid", old, "--root", root)

    assert rotated["version"] == 2 and rotated["current_kem"] != old
    assert dropped["version"] == 3 and dropped["retired_kems"] == []
    assert dropped["current_kem"] == rotated["current_kem"]
    assert unknown.returncode == 1 and "INPUT_INVALID" in unknown.stderr


def test_publish_refuses_an_unknown_collection(tmp_path: Path):
    data = tmp_path / "county"
    init_county(data)
    done = county(data, "publish", "weather", tmp_path / "x.json")
    assert done.returncode == 1 and "INPUT_INVALID" in done.stderr
