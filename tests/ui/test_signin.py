"""First run, signing in with a PIN, and the lock screen."""

from __future__ import annotations

import asyncio

import pytest

from station_app.services.users import users
from station_app.ui.context import AppContext
from station_app.ui.views.signin import DEMO_HINT
from tests.ui.driver import App, enter_pin, go_to, menu_labels
from tests.ui.harness import FletHarness, ui_test

WIZARD = {"setup_name": "桃源村便民服务站", "setup_code": "330199101201",
          "setup_region": "330199101201", "setup_admin": "周站长",
          "setup_pin": "2468", "setup_pin2": "2468"}


async def fill_wizard(h: FletHarness, **changes: str) -> None:
    for key, text in {**WIZARD, **changes}.items():
        await h.enter_text(h.find_by_key(key), text)


# ------------------------------------------------------------------------------ first run


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"setup_code": "abc"}, "setup_code", "站点编码“abc”有误：应为 6–20 位数字或大写字母"),
    ({"setup_pin2": "2469"}, "setup_pin2", "PIN 码填写有误：两次输入不一致"),
    ({"setup_pin": "12", "setup_pin2": "12"}, "setup_pin", "PIN 码填写有误：应为 4–8 位数字"),
    ({"setup_admin": " "}, "setup_admin", "请填写姓名"),
])
@ui_test
async def test_set_up_refuses_bad_input_next_to_the_field_and_creates_nothing(
        first_run: App, changes: dict[str, str], field: str, message: str) -> None:
    h = await first_run.start(demo=False)
    assert h.find_by_key("setup_title").value == "首次使用：创建站点"
    await fill_wizard(h, **changes)
    mark = h.mark()
    await h.click(h.find_by_key("setup_create"))

    assert h.crashed() is None
    error = h.find_by_key(field).error
    assert error is not None and error.startswith(message)
    assert error in h.sent_strings(since=mark)
    assert not (first_run.folder / "station.db").exists()
    assert h.has_key("setup_title")  # still on the wizard, ready to correct and retry


@ui_test
async def test_set_up_creates_the_station_and_its_administrator_then_signs_in(
        first_run: App) -> None:
    h = await first_run.start(demo=False)
    await fill_wizard(h, setup_pin2="2469")
    await h.click(h.find_by_key("setup_create"))
    assert h.find_by_key("setup_pin2").error == "PIN 码填写有误：两次输入不一致"

    await h.enter_text(h.find_by_key("setup_pin2"), "2468")
    await h.select(h.find_by_key("setup_level"), "village")
    mark = h.mark()
    await h.click(h.find_by_key("setup_create"))

    assert h.crashed() is None
    assert h.find_by_key("home_title").value == "您好，周站长"
    sent = h.sent_strings(since=mark)
    assert "您好，周站长" in sent and "桃源村便民服务站" in sent
    assert menu_labels(h)[-1] == "设置"  # the first user is the administrator
    with first_run.station() as st:
        info = st.info
        assert (info.name, info.code, info.region, info.level, info.demo) == (
            "桃源村便民服务站", "330199101201", "330199101201", "village", False)
        [admin] = users(st)
        assert (admin.name, admin.role.label) == ("周站长", "管理员")

    # Next start: the sign-in screen lists the administrator; no demo PINs on a real station.
    again = await first_run.start(demo=False)
    assert again.find_by_key("signin_title").value == "桃源村便民服务站"
    assert not again.has_key("signin_demo_hint") and DEMO_HINT not in again.page_text()
    await enter_pin(again, admin.user_id, "2468")
    assert again.find_by_key("home_title").value == "您好，周站长"


# ------------------------------------------------------------------------------ sign-in


@ui_test
async def test_pick_your_name_type_the_pin_and_land_on_home(app: App) -> None:
    h = await app.start()
    assert DEMO_HINT == h.find_by_key("signin_demo_hint").value
    mark = h.mark()
    await enter_pin(h, app.user_id("王晓梅"), "1111")

    assert h.find_by_key("home_title").value == "您好，王晓梅"
    assert h.find_by_key("status_user").value == "王晓梅（窗口人员）"
    assert h.find_by_key("status_sync").value == "未注册县级服务器"
    sent = h.sent_strings(since=mark)
    assert "您好，王晓梅" in sent and "未注册县级服务器" in sent


@ui_test
async def test_a_wrong_pin_is_refused_next_to_the_field_with_attempts_left(app: App) -> None:
    h = await app.start()
    await enter_pin(h, app.user_id("王丽华"), "0000")
    pin = h.find_by_key("signin_pin")
    assert pin.error == "PIN 码不正确，还可以再试 4 次"
    assert pin.value == ""  # the next try starts empty
    assert h.has_key("signin_title") and not h.has_key("home_title")

    mark = h.mark()
    await h.enter_text(pin, "1234")
    await h.submit(pin)
    assert pin.error == "PIN 码不正确，还可以再试 3 次"
    assert "还可以再试 3 次" in h.sent_strings(since=mark)

    await h.enter_text(pin, "2222")
    await h.submit(pin)
    assert h.find_by_key("home_title").value == "您好，王丽华"


@ui_test
async def test_typing_a_pin_before_picking_a_name_asks_for_the_name(app: App) -> None:
    h = await app.start()
    pin = h.find_by_key("signin_pin")
    await h.enter_text(pin, "1111")
    await h.submit(pin)
    assert "请先点选自己的名字" in pin.error
    assert h.find_by_key("signin_who").value == "使用人：（请点选）"


@ui_test
async def test_five_wrong_pins_lock_the_account(app: App) -> None:
    h = await app.start()
    clerk = app.user_id("王晓梅")
    for _ in range(5):
        await enter_pin(h, clerk, "0000")
    pin = h.find_by_key("signin_pin")
    assert pin.error == "连续输错 PIN 码次数过多，请 10 分钟后再试，或请管理员重置"

    await enter_pin(h, clerk, "1111")  # even the right PIN now waits
    assert pin.error.startswith("连续输错 PIN 码次数过多")
    assert not h.has_key("home_title")
    assert h.crashed() is None


# ------------------------------------------------------------------------------ lock screen


@ui_test
async def test_the_lock_button_asks_the_same_users_pin(app: App) -> None:
    h = await app.sign_in("王晓梅")
    mark = h.mark()
    await h.click(h.find_by_key("status_lock"))

    assert h.find_by_key("signin_title").value == "已锁屏"
    assert "已锁屏" in h.sent_strings(since=mark)
    assert h.find_by_key("signin_who").value == "使用人：王晓梅（窗口人员）"
    assert h.keys("signin_user_") == [f"signin_user_{app.user_id('王晓梅')}"]  # nobody else
    assert not h.has_key("signin_demo_hint")

    pin = h.find_by_key("signin_pin")
    await h.enter_text(pin, "2222")  # 王丽华's PIN does not open 王晓梅's screen
    await h.submit(pin)
    assert pin.error == "PIN 码不正确，还可以再试 4 次"
    await h.enter_text(pin, "1111")
    await h.submit(pin)
    assert h.find_by_key("home_title").value == "您好，王晓梅"


@ui_test
async def test_switch_user_on_the_lock_screen_shows_everyone_again(app: App) -> None:
    h = await app.sign_in("王丽华")
    await h.click(h.find_by_key("status_lock"))
    await h.click(h.find_by_key("signin_switch"))
    assert len(h.keys("signin_user_")) == 4
    await enter_pin(h, app.user_id("李站长"), "9999")
    assert h.find_by_key("home_title").value == "您好，李站长"


@ui_test
async def test_the_screen_locks_itself_after_inactivity(app: App,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    watch = AppContext.watch_idle

    async def watch_often(ctx: AppContext) -> None:
        await watch(ctx, every=0.02)

    monkeypatch.setattr(AppContext, "watch_idle", watch_often)
    h = await app.sign_in("王晓梅", lock_after=0.5)
    assert h.has_key("home_title")  # just signed in: not idle yet

    mark = h.mark()
    await asyncio.sleep(1.0)
    assert h.find_by_key("signin_title").value == "已锁屏"
    assert "已锁屏" in h.sent_strings(since=mark)  # the idle watcher's update reached the screen
    await enter_pin(h, app.user_id("王晓梅"), "1111")
    assert h.find_by_key("home_title").value == "您好，王晓梅"


@ui_test
async def test_unlocking_returns_to_the_same_screen_with_what_was_typed(app: App) -> None:
    h = await app.sign_in("王晓梅")
    await go_to(h, "收件")
    await h.enter_text(h.find_by_key("receive_name"), "李四")

    await h.click(h.find_by_key("status_lock"))
    assert h.find_by_key("signin_title").value == "已锁屏"
    mark = h.mark()
    await enter_pin(h, app.user_id("王晓梅"), "1111")

    assert h.find_by_key("receive_title").value == "收件"  # not back to 首页
    assert h.find_by_key("receive_name").value == "李四"
    assert "收件" in h.sent_strings(since=mark)
