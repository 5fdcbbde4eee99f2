"""Sync as the desktop app shows it: the status bar, 首页's figures and 设置 › 县级服务器,
with the real county server on 127.0.0.1 and the real background scheduler.

Sync runs on the scheduler's own thread, so after an action the test waits (bounded) for the
state to reach the screen; nothing is timed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import datetime
from urllib.parse import urlsplit

import pytest

from station_app.domain.clock import CST
from station_app.ui.syncstatus import when
from sync.auto import Timing
from sync.county.service import County
from sync.station import enrollment
from tests.sync.conftest import RunningServer, enroll_station, free_port, serve
from tests.ui.driver import App, go_to
from tests.ui.harness import FletHarness, ui_test
from tests.ui.test_clerk_flows import receive_walk_in

# Only the start of the app and a person's 立即同步 sync in these tests: nothing by the clock.
BY_HAND = Timing(period=3600, debounce=3600)
UNREACHABLE = "连不上县级服务器"


@pytest.fixture(autouse=True)
def windows_closed(app: App) -> Iterator[None]:
    """Closing a window ends its session, and so its sync scheduler."""
    yield
    for h in app.harnesses:
        h.page.on_close(None)


@pytest.fixture
def enrolled(app: App, county: County, county_server: RunningServer) -> App:
    """The demo station, enrolled with the running county (as `station enroll` does)."""
    with app.station() as st:
        enroll_station(st, county, county_server.url)
    return app


async def until(h: FletHarness, condition: Callable[[], bool], what: str) -> None:
    """Let the scheduler's thread work and its changes reach the page (at most 20 s)."""
    for _ in range(400):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never saw {what}; the status bar says "
                         f"{h.find_by_key('status_sync').value!r}")


def status_bar(h: FletHarness) -> str:
    return h.find_by_key("status_sync").value


def county_has_everything(county: County, app: App) -> bool:
    with app.station() as st:
        ours = [e for _, e, _ in st.ledger.rows()]
        origin = st.info.origin
    with county.db.read() as tx:
        return [e for _, e, _ in tx.entries(origin)] == ours


def synced_line(app: App) -> str:
    with app.station() as st:
        receipt = st.sync_state.latest_receipt()
    assert receipt is not None
    moment = datetime.fromtimestamp(receipt.county_time, CST)
    return f"已同步 {when(moment, datetime.now(CST))}（县级时间）"


# ------------------------------------------------------------------ not enrolled


@ui_test
async def test_a_station_not_enrolled_says_so_and_offers_enrollment_in_settings(
        app: App) -> None:
    h = await app.sign_in("李站长")
    assert status_bar(h) == "未注册县级服务器"
    assert h.find_by_key("home_last_sync").value == "最后同步：未注册县级服务器"
    assert int(h.find_by_key("home_unsynced").value) == app.log_size()

    mark = h.mark()
    await go_to(h, "设置")
    assert h.find_by_key("sync_heading").value == "县级服务器（同步）"
    assert h.has_key("sync_server") and h.has_key("sync_code") and h.has_key("sync_enroll")
    assert not h.has_key("sync_now")
    assert "本站尚未注册" in h.sent_strings(since=mark)


# ------------------------------------------------------------------ enrolling


@ui_test
async def test_the_admin_enrolls_with_the_countys_code_and_the_station_syncs(
        app: App, county: County, county_server: RunningServer) -> None:
    h = await app.sign_in("李站长", sync_timing=BY_HAND)
    await go_to(h, "设置")
    with app.station() as st:
        ticket = county.new_ticket(st.info.code)
    await h.enter_text(h.find_by_key("sync_server"), county_server.url)
    await h.enter_text(h.find_by_key("sync_code"), ticket.code)
    mark = h.mark()
    await h.click(h.find_by_key("sync_enroll"))

    assert h.toasts() == ["已在“county/330199”注册，正在上传本站记录"]
    assert h.find_by_key("sync_county").value == "县级：county/330199"
    assert h.find_by_key("sync_server_url").value == f"服务器：{county_server.url}"
    await until(h, lambda: status_bar(h).startswith("已同步"), "已同步")
    await until(h, lambda: h.find_by_key("sync_state").value.startswith("已同步"),
                "已同步 in 设置")
    assert status_bar(h) == synced_line(app)
    assert synced_line(app) in h.sent_strings(since=mark)  # it reached the screen
    assert county_has_everything(county, app)
    with app.station() as st:
        entry = list(st.entries())[-1]
        size = st.ledger.size()
    assert (entry.kind, entry.actor) == ("sync.enrolled", app.user_id("李站长"))
    assert h.find_by_key("sync_sizes").value == \
        f"县级已确认 {size} 条 · 本机 {size} 条（未同步 0 条）"
    assert h.find_by_key("sync_receipt").value == \
        "最近回执：" + synced_line(app).removeprefix("已同步 ")

    await go_to(h, "首页")
    assert h.find_by_key("home_unsynced").value == "0"
    assert h.find_by_key("home_last_sync").value == \
        "最后同步：" + synced_line(app).removeprefix("已同步 ")


@ui_test
async def test_a_wrong_code_is_refused_next_to_the_field_and_nothing_is_written(
        app: App, county: County, county_server: RunningServer) -> None:
    h = await app.sign_in("李站长")
    await go_to(h, "设置")
    with app.station() as st:
        station_code = st.info.code
    county.new_ticket(station_code)
    before = app.log_size()
    code, server = h.find_by_key("sync_code"), h.find_by_key("sync_server")

    await h.enter_text(server, county_server.url)
    await h.enter_text(code, "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GG")  # well formed, not issued
    mark = h.mark()
    await h.click(h.find_by_key("sync_enroll"))
    refused = "注册码无效、已使用或已过期，请向县级管理员重新申请注册码"
    assert code.error == refused and server.error is None
    assert refused in h.sent_strings(since=mark)

    await h.enter_text(code, "1234")
    await h.click(h.find_by_key("sync_enroll"))
    assert code.error.startswith("注册码填写有误")

    await h.enter_text(code, county.new_ticket(station_code).code)
    await h.enter_text(server, f"http://127.0.0.1:{free_port()}")  # nobody listens there
    await h.click(h.find_by_key("sync_enroll"))
    assert server.error.startswith(UNREACHABLE) and code.error is None

    assert app.log_size() == before and h.toasts() == []
    with app.station() as st:
        assert enrollment(st) is None
    assert status_bar(h) == "未注册县级服务器"
    assert h.find_by_key("sync_enroll").disabled is False


# ------------------------------------------------------------------ enrolled


@ui_test
async def test_with_the_county_down_the_bar_says_offline_and_work_goes_on(
        enrolled: App, county: County, county_server: RunningServer) -> None:
    app = enrolled
    county_server.stop()
    h = await app.sign_in("李站长", sync_timing=BY_HAND)
    await until(h, lambda: status_bar(h).startswith("离线"), "离线")
    assert status_bar(h).startswith("离线（从未同步，") and status_bar(h).endswith(" 后重试）")
    assert h.find_by_key("home_last_sync").value == "最后同步：从未同步"

    before = app.log_size()
    number = await receive_walk_in(h)  # a case is received and its receipt printed as usual
    assert number and app.log_size() > before
    assert not h.has_dialog("error") and not any(UNREACHABLE in t for t in h.toasts())

    back = serve(county, port=urlsplit(county_server.url).port)
    try:
        await go_to(h, "设置")
        await h.click(h.find_by_key("sync_now"))
        await until(h, lambda: status_bar(h).startswith("已同步"), "已同步 once the county is back")
        assert county_has_everything(county, app)
    finally:
        back.stop()


@ui_test
async def test_sync_now_sends_what_was_just_recorded(
        enrolled: App, county: County) -> None:
    app = enrolled
    h = await app.sign_in("李站长", sync_timing=BY_HAND)
    await until(h, lambda: status_bar(h).startswith("已同步"), "the first sync at start")

    await go_to(h, "设置")
    await h.enter_text(h.find_by_key("profile_phone"), "0571-68019999")
    await h.click(h.find_by_key("profile_save"))
    await until(h, lambda: "（未同步 1 条）" in h.find_by_key("sync_sizes").value,
                "the new entry counted as unsynced")
    assert not county_has_everything(county, app)  # nothing goes up by itself (BY_HAND)

    await h.click(h.find_by_key("sync_now"))
    # the sizes line reads the receipt as soon as it is saved; the status bar follows when
    # the session ends, a moment later
    await until(h, lambda: "（未同步 0 条）" in h.find_by_key("sync_sizes").value
                and status_bar(h).startswith("已同步"), "the entry acknowledged")
    assert county_has_everything(county, app)
    assert status_bar(h) == synced_line(app)
    assert h.find_by_key("sync_state").value == synced_line(app)
