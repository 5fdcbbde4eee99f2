"""数据备份 in the app: the administrator is reminded on 首页 while there is no recent backup,
backs up to a U盘 from 设置 (the passphrase twice, checked next to its field), sees the
progress and the result, and the file restores to the same log; other roles see no
reminder."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from station_app.domain.clock import CST, iso
from station_app.services.backup import restore_backup
from station_app.services.ledger import verify_folder
from station_app.store.backup import BackupRun, record_run
from tests.ui.driver import App, go_to
from tests.ui.harness import ui_test

PASS = "东坑村 2025 备份口令"


@pytest.fixture
def usb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder the app takes for the only U盘 plugged in."""
    folder = tmp_path / "KINGSTON"
    folder.mkdir()
    monkeypatch.setenv("STATION_REMOVABLE_DIRS", str(folder))
    return folder


@ui_test
async def test_the_admin_backs_up_to_a_usb_drive_and_the_reminder_goes(
        app: App, usb: Path, tmp_path: Path) -> None:
    h = await app.sign_in("李站长")
    assert "还没有备份过" in h.find_by_key("home_backup_reminder").value
    assert h.has_key("home_backup_now")

    await go_to(h, "设置")
    assert h.find_by_key("backup_last").value == "尚未备份过本站数据"
    before = app.log_size()
    await h.click(h.find_by_key("backup_start"))
    dialog = h.dialog("backup_dialog")
    assert h.find_by_key("backup_drive").value == str(usb)
    assert "KINGSTON" in h.find_by_key("backup_drive").options[0].text

    # too short, then two different typings: refused next to the field, the dialog stays
    await h.enter_text(h.find_by_key("backup_pass"), "1234567")
    await h.click(h.find_by_key("backup_dialog_ok"))
    assert "至少 8 个字符" in h.find_by_key("backup_pass").error and dialog.open
    await h.enter_text(h.find_by_key("backup_pass"), PASS)
    await h.enter_text(h.find_by_key("backup_pass2"), PASS + "!")
    await h.click(h.find_by_key("backup_dialog_ok"))
    assert h.find_by_key("backup_pass2").error == "确认口令填写有误：两次输入的口令不一致"
    assert list(usb.iterdir()) == []

    await h.enter_text(h.find_by_key("backup_pass2"), PASS)
    mark = h.mark()
    await h.click(h.find_by_key("backup_dialog_ok"))
    for _ in range(20):  # the backup runs on a worker thread; the window polls it
        if h.has_dialog("backup_done"):
            break
        await h.settle()
    assert "正在备份" in h.sent_strings(since=mark)  # the progress dialog got out
    assert not h.has_dialog("backup_progress")
    done = h.find_by_key("backup_done_text").value
    files = list(usb.glob("*.vssbak"))
    assert len(files) == 1 and h.has_dialog("backup_done")
    assert done.startswith(f"已备份并校验可恢复：{before} 条记录")
    assert h.find_by_key("backup_done_file").value == f"文件：{files[0]}"
    assert h.find_by_key("backup_last").value.startswith("上次备份：")
    assert app.log_size() == before  # a backup writes no log entry

    await go_to(h, "首页")
    assert not h.has_key("home_backup_reminder")
    restored = restore_backup(files[0], tmp_path / "restored", PASS)
    assert restored.entries == before and verify_folder(tmp_path / "restored").ok


@ui_test
async def test_without_a_usb_drive_the_dialog_says_so_and_a_clerk_sees_no_reminder(
        app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATION_REMOVABLE_DIRS", str(tmp_path / "not-plugged-in"))
    ten_days_ago = datetime.now(CST) - timedelta(days=10, hours=1)
    with app.station() as st, st.transaction():
        record_run(st.db, BackupRun(kind="backup", at=iso(ten_days_ago), entries=1, root="",
                                    size=1, sha256="", file="old.vssbak", seconds=1.0))
    h = await app.sign_in("李站长")
    assert h.find_by_key("home_backup_reminder").value == \
        f"上次备份在 10 天前（{ten_days_ago:%Y-%m-%d}），请及时备份到U盘"
    await h.click(h.find_by_key("home_backup_now"))  # one click from 首页
    assert "未找到U盘" in h.page_text()
    await h.enter_text(h.find_by_key("backup_pass"), PASS)
    await h.enter_text(h.find_by_key("backup_pass2"), PASS)
    await h.click(h.find_by_key("backup_dialog_ok"))
    assert h.find_by_key("backup_drive").error_text == "U盘填写有误：未找到U盘，请插入后重试"

    clerk = await app.sign_in("王晓梅")
    assert not clerk.has_key("home_backup_reminder")
