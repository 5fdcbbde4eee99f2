"""A town clerk on a new PC, from the first-run screen (issue 8): 从备份恢复 with the U盘's
backup, and 更换电脑恢复（县级批准） through the real county server on 127.0.0.1. Every
refusal (wrong passphrase, used code, county away) leaves the data folder as it was, and the
retry works; afterwards the original users sign in and the data is there."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from station_app.services.backup import backup_station
from station_app.services.ledger import verify_folder
from station_app.services.recovery import succession_of, verify_epochs
from station_app.services.station import Station, create_station
from station_app.services.users import add_user
from sync.client import HttpTransport
from sync.county.service import County
from sync.station import acknowledged, sync_once
from tests.sync.conftest import (
    TOWN,
    RunningServer,
    enroll_station,
    free_port,
)
from tests.ui.driver import PINS, App, enter_pin, go_to
from tests.ui.harness import FletHarness, ui_test

PASS = "东坑村 2025 备份口令"
ADMIN = "李站长"


@pytest.fixture
def usb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder the app takes for the only U盘 plugged in."""
    folder = tmp_path / "KINGSTON"
    folder.mkdir()
    monkeypatch.setenv("STATION_REMOVABLE_DIRS", str(folder))
    return folder


@pytest.fixture(autouse=True)
def windows_closed(first_run: App) -> Iterator[None]:
    """Closing a window ends its session, and so its sync scheduler."""
    yield
    for h in first_run.harnesses:
        h.page.on_close(None)


async def until(h: FletHarness, condition: Callable[[], bool], what: str) -> None:
    """Let the worker thread finish and its result reach the page (at most 30 s)."""
    for _ in range(600):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never saw {what}; on screen: {h.page_text()[:400]!r}")


def idle(h: FletHarness, key: str) -> Callable[[], bool]:
    """The work behind the progress dialog ``key`` is over (the dialog was shown, then went)."""
    return lambda: not h.has_dialog(f"{key}_progress") and (
        h.has_key("restored_title") or h.has_key("recovered_title") or bool(h.toasts())
        or any(getattr(c, "error", None) for c in h.controls()))


def untouched(folder: Path) -> None:
    """The data folder holds nothing but the app's own logs/, and nothing was left beside."""
    assert not folder.exists() or {p.name for p in folder.iterdir()} <= {"logs"}
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.")]


def case_numbers(folder: Path) -> list[str]:
    with Station.open(folder) as st:
        return [r[0] for r in st.db.execute("SELECT case_no FROM cases")]


# ------------------------------------------------------------------ 从备份恢复


@ui_test
async def test_a_clerk_restores_the_usb_backup_on_a_new_pc_and_the_users_sign_in(
        first_run: App, demo_folder: Path, usb: Path) -> None:
    with Station.open(demo_folder) as st:
        made = backup_station(st, usb, PASS)
        entries = st.ledger.size()
    h = await first_run.start(demo=False)
    assert h.has_key("setup_title")
    await h.click(h.find_by_key("setup_restore"))
    found = h.find_by_key("restore_found")
    assert found.value == str(made.path)  # the U盘's backup, picked already
    assert f"{entries} 条记录" in found.options[0].text and made.path.name in \
        found.options[0].text

    # a wrong passphrase: said next to the field, nothing written, the screen stays
    await h.enter_text(h.find_by_key("restore_pass"), "not the passphrase")
    await h.click(h.find_by_key("restore_go"))
    await until(h, idle(h, "restore"), "the wrong passphrase refused")
    assert h.find_by_key("restore_pass").error.startswith("备份口令不正确")
    untouched(first_run.folder)
    assert h.has_key("restore_title")

    # a path typed by hand that is not there
    await h.enter_text(h.find_by_key("restore_file"), str(usb / "nope.vssbak"))
    await h.click(h.find_by_key("restore_go"))
    assert "找不到文件" in h.find_by_key("restore_file").error

    # the retry, with the file typed and the right passphrase
    await h.enter_text(h.find_by_key("restore_file"), str(made.path))
    await h.enter_text(h.find_by_key("restore_pass"), PASS)
    mark = h.mark()
    await h.click(h.find_by_key("restore_go"))
    await until(h, lambda: h.has_key("restored_title"), "the restore report")
    assert "正在从备份恢复" in h.sent_strings(since=mark)  # the progress dialog got out
    assert h.find_by_key("restored_entries").value.startswith(f"已恢复 {entries} 条记录")
    assert h.find_by_key("restored_created").value.startswith("备份时间：20")
    assert "尚未同步到县级" in h.find_by_key("restored_receipt").value
    assert verify_folder(first_run.folder).ok

    await h.click(h.find_by_key("restored_continue"))
    assert h.has_key("signin_title")
    await enter_pin(h, first_run.user_id(ADMIN), PINS[ADMIN])
    assert h.find_by_key("home_title").value == f"您好，{ADMIN}"
    await go_to(h, "办件")
    shown = h.page_text()
    assert any(no in shown for no in case_numbers(first_run.folder))
    assert first_run.log_size() == entries


# ------------------------------------------------------------------ 更换电脑恢复


@pytest.fixture
def lost(demo_folder: Path, county: County, county_server: RunningServer) -> Path:
    """The demo station synced with the county, then one more entry that never synced:
    that PC is lost."""
    with Station.open(demo_folder) as st, HttpTransport(county_server.url) as t:
        enroll_station(st, county, county_server.url)
        sync_once(st, t)
        assert acknowledged(st) == st.ledger.size()
        add_user(st, name="赵新来", role="CLERK", pin="5678")  # after the last sync
    return demo_folder


async def fill_recovery(h: FletHarness, server: str, code: str, station: str) -> None:
    await h.click(h.find_by_key("setup_recover"))
    await h.enter_text(h.find_by_key("recover_server"), server)
    await h.enter_text(h.find_by_key("recover_code"), code)
    await h.enter_text(h.find_by_key("recover_station"), station)


@ui_test
async def test_a_replacement_pc_recovers_from_the_county_and_shows_what_is_lost(
        first_run: App, lost: Path, county: County, county_server: RunningServer) -> None:
    with Station.open(lost) as st:
        code, acked, old_origin = st.info.code, acknowledged(st), st.info.origin
    ticket = county.new_ticket(code, replaces=True)  # `county enroll --replaces`
    h = await first_run.start(demo=False)

    # the county is not reachable (nothing listens there): said at the address, no change
    await fill_recovery(h, f"http://127.0.0.1:{free_port()}", ticket.code, code)
    await h.click(h.find_by_key("recover_go"))
    await until(h, idle(h, "recover"), "the unreachable county refused")
    assert "连不上县级服务器" in h.find_by_key("recover_server").error
    assert "本机数据目录没有改动" in h.find_by_key("recover_server").error
    untouched(first_run.folder)

    # a typed code without the station code is refused before anything is sent
    await h.enter_text(h.find_by_key("recover_server"), county_server.url)
    await h.enter_text(h.find_by_key("recover_station"), "")
    await h.click(h.find_by_key("recover_go"))
    assert "站点编码" in h.find_by_key("recover_station").error

    await h.enter_text(h.find_by_key("recover_station"), code)
    await h.click(h.find_by_key("recover_go"))
    await until(h, lambda: h.has_key("recovered_title"), "the recovery report")
    assert h.find_by_key("recovered_entries").value.startswith(f"已恢复 {acked} 条记录")
    gap = h.find_by_key("recovered_gap")
    assert gap.color == "#c62828" and "无法恢复" in gap.value and "补录" in gap.value
    with Station.open(first_run.folder) as new:
        body = succession_of(new)
        assert body is not None and body["predecessor"]["origin"] == old_origin
        assert [e.ok for e in verify_epochs(new)] == [True]
        names = {r[0] for r in new.db.execute("SELECT name FROM app_user")}
        assert "赵新来" not in names  # made after the last sync: gone with the PC
    when = datetime.fromisoformat(body["unrecoverable_after"])
    assert f"{when:%Y-%m-%d %H:%M}" in gap.value
    assert "无法解密" in h.find_by_key("recovered_persons").value

    # PINs stay on the lost PC: an administrator must get a new one before anyone signs in
    admin = first_run.user_id(ADMIN)
    await h.click(h.find_by_key("recovered_continue"))
    assert "至少为一位站点管理员" in h.find_by_key("recovered_pins_error").value
    await h.enter_text(h.find_by_key(f"recovered_pin_{admin}"), "2468")
    await h.click(h.find_by_key("recovered_continue"))
    assert h.has_key("signin_title")
    await enter_pin(h, admin, "2468")
    assert h.find_by_key("home_title").value == f"您好，{ADMIN}"
    await go_to(h, "办件")
    assert any(no in h.page_text() for no in case_numbers(first_run.folder))

    # the code is used now: a second new PC is refused next to the code, nothing written
    other = App(first_run.folder.parent / "third-pc")
    h2 = await other.start(demo=False)
    first_run.harnesses.append(h2)
    await fill_recovery(h2, county_server.url, ticket.code, code)
    await h2.click(h2.find_by_key("recover_go"))
    await until(h2, idle(h2, "recover"), "the used code refused")
    assert "注册码无效、已使用或已过期" in h2.find_by_key("recover_code").error
    untouched(other.folder)
    assert not (other.folder.parent / ".third-pc.recovering").exists()


@ui_test
async def test_the_lost_pcs_backup_brings_back_the_person_keys_and_the_pins(
        first_run: App, lost: Path, usb: Path, county: County,
        county_server: RunningServer) -> None:
    with Station.open(lost) as st:
        made = backup_station(st, usb, PASS)  # the lost PC's last backup
        code = st.info.code
    ticket = county.new_ticket(code, replaces=True)
    h = await first_run.start(demo=False)
    await fill_recovery(h, county_server.url, ticket.code, code)
    await h.select(h.find_by_key("recover_backup_found"), str(made.path))

    # a wrong passphrase for the backup costs no code: it is checked before enrolling
    await h.enter_text(h.find_by_key("recover_pass"), "wrong passphrase")
    await h.click(h.find_by_key("recover_go"))
    await until(h, idle(h, "recover"), "the wrong passphrase refused")
    assert h.find_by_key("recover_pass").error.startswith("备份口令不正确")
    untouched(first_run.folder)
    assert not (first_run.folder.parent / ".new-station.recovering").exists()

    await h.enter_text(h.find_by_key("recover_pass"), PASS)
    await h.click(h.find_by_key("recover_go"))
    await until(h, lambda: h.has_key("recovered_title"), "the recovery report")
    persons = h.find_by_key("recovered_persons").value
    assert "均可正常查看" in persons and "已从原电脑的备份导入" in persons
    assert not h.has_key(f"recovered_pin_{first_run.user_id(ADMIN)}")  # PINs came back
    await h.click(h.find_by_key("recovered_continue"))
    await enter_pin(h, first_run.user_id(ADMIN), PINS[ADMIN])
    assert h.find_by_key("home_title").value == f"您好，{ADMIN}"
    assert not [p for p in first_run.folder.parent.iterdir() if ".keys-" in p.name]


@ui_test
async def test_a_recovery_stopped_after_enrolling_is_resumed_without_a_new_code(
        first_run: App, lost: Path, usb: Path, tmp_path: Path, county: County,
        county_server: RunningServer) -> None:
    elsewhere = create_station(tmp_path / "elsewhere", TOWN, actor="clerk-li")
    made = backup_station(elsewhere, usb, PASS)  # another station's backup, picked by mistake
    elsewhere.close()
    with Station.open(lost) as st:
        code = st.info.code
    ticket = county.new_ticket(code, replaces=True)
    h = await first_run.start(demo=False)
    await fill_recovery(h, county_server.url, ticket.code, code)
    assert h.find_by_key("recover_resume").value == ""
    await h.select(h.find_by_key("recover_backup_found"), str(made.path))
    await h.enter_text(h.find_by_key("recover_pass"), PASS)
    await h.click(h.find_by_key("recover_go"))
    await until(h, idle(h, "recover"), "the wrong backup refused")
    assert any("不是本站原电脑的数据" in t for t in h.toasts())
    assert "不需要再输入注册码" in h.find_by_key("recover_resume").value  # the code is used
    assert not first_run.folder.exists() or \
        {p.name for p in first_run.folder.iterdir()} <= {"logs"}

    await h.close_dialogs()
    await h.select(h.find_by_key("recover_backup_found"), "")
    await h.enter_text(h.find_by_key("recover_code"), "")
    await h.click(h.find_by_key("recover_go"))
    await until(h, lambda: h.has_key("recovered_title"), "the resumed recovery's report")
    assert not [p for p in first_run.folder.parent.iterdir()
                if p.name.startswith(".new-station.")]  # staging moved, scratch gone
    with Station.open(first_run.folder) as new:
        assert [e.ok for e in verify_epochs(new)] == [True]

    # the window is closed before anyone set a PIN: the next start asks for them again
    h.page.on_close(None)
    again = await first_run.start(demo=False)
    assert again.has_key("first_pins_title") and not again.has_key("signin_title")
    admin = first_run.user_id(ADMIN)
    await again.enter_text(again.find_by_key(f"recovered_pin_{admin}"), "12")
    await again.click(again.find_by_key("recovered_continue"))
    assert again.find_by_key(f"recovered_pin_{admin}").error == "PIN 码填写有误：应为 4–8 位数字"
    await again.enter_text(again.find_by_key(f"recovered_pin_{admin}"), "97531")
    await again.click(again.find_by_key("recovered_continue"))
    await enter_pin(again, admin, "97531")
    assert again.find_by_key("home_title").value == f"您好，{ADMIN}"
