"""``station backup`` and ``station restore`` as a clerk or a script runs them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import STATION, json_of, ledger_count, ok_json, run

PASS = "东坑村 2025 备份口令"


@pytest.fixture
def passphrase(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("STATION_BACKUP_PASSPHRASE", PASS)
    return PASS


@pytest.fixture
def usb(tmp_path: Path) -> Path:
    folder = tmp_path / "usb"
    folder.mkdir()
    return folder


def test_backup_then_restore_gives_a_station_whose_log_verifies(
        demo_copy: Path, usb: Path, tmp_path: Path, passphrase: str):
    made = ok_json("backup", "--to", usb, data=demo_copy)
    entries = ledger_count(demo_copy)
    backup = Path(made["file"])
    assert made["entries"] == entries and backup.parent == usb and backup.is_file()
    assert set(made["seconds"]) == {"snapshot", "write", "verify"}

    target = tmp_path / "new-pc"
    text = run("restore", "--from", backup, "--data", target)
    assert text.returncode == 0, text.stderr
    assert f"{entries} 条记录" in text.stdout and "备份中没有县级回执" in text.stdout
    assert "请与县级管理员核对县级已确认的条数" in text.stdout
    verified = ok_json("ledger", "verify", data=target)
    assert verified["ok"] and verified["entries"] == entries
    # the group's --data works as well, and a folder with a station is never overwritten
    again = run("--json", "restore", "--from", backup, data=target)
    assert again.returncode == 1 and json_of(again)["error"]["code"] == "RESTORE_TARGET_NOT_EMPTY"
    assert ok_json("ledger", "verify", data=target)["entries"] == entries


def test_a_damaged_file_or_a_wrong_passphrase_is_refused_clearly(
        demo_copy: Path, usb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        passphrase: str):
    backup = Path(ok_json("backup", "--to", usb / "demo.vssbak", data=demo_copy)["file"])
    data = bytearray(backup.read_bytes())
    monkeypatch.setenv("STATION_BACKUP_PASSPHRASE", "not the passphrase")
    wrong = run("restore", "--from", backup, "--data", tmp_path / "a")
    assert wrong.returncode == 1 and "BACKUP_PASSPHRASE_WRONG" in wrong.stderr
    assert "备份口令不正确" in wrong.stderr and not (tmp_path / "a").exists()

    monkeypatch.setenv("STATION_BACKUP_PASSPHRASE", PASS)
    data[len(data) // 2] ^= 0x40
    backup.write_bytes(bytes(data))
    damaged = run("restore", "--from", backup, "--data", tmp_path / "b")
    assert damaged.returncode == 1 and "BACKUP_FILE_INVALID" in damaged.stderr
    assert "已损坏" in damaged.stderr and "nothing was restored" in damaged.stderr
    assert not (tmp_path / "b").exists()


def prompted(*args: object, answers: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "STATION_BACKUP_PASSPHRASE"}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run([STATION, "--data", str(data), *map(str, args)], input=answers,
                          capture_output=True, text=True, encoding="utf-8", env=env,
                          timeout=60, check=False)


def test_the_passphrase_is_asked_twice_and_must_be_long_enough(demo_copy: Path, usb: Path):
    short = prompted("backup", "--to", usb, answers="1234567\n1234567\n", data=demo_copy)
    assert short.returncode == 1 and "至少 8 个字符" in short.stderr
    differ = prompted("backup", "--to", usb, answers=f"{PASS}\n{PASS}!\n", data=demo_copy)
    assert differ.returncode == 1 and "两次输入的口令不一致" in differ.stderr
    assert list(usb.iterdir()) == []
    good = prompted("backup", "--to", usb, answers=f"{PASS}\n{PASS}\n", data=demo_copy)
    assert good.returncode == 0, good.stderr
    assert "已备份并校验可恢复" in good.stdout and len(list(usb.glob("*.vssbak"))) == 1
