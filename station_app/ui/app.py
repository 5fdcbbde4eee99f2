"""The window: set-up or sign-in first, then a shell with a menu per role and the status bar.

``make_main`` builds the Flet entry point for one data folder, so tests can run the very same
app in-process (tests/ui/harness.py) or in a browser, and ``run`` opens the desktop window.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flet as ft

from station_app.domain.users import CAN_ADMINISTER, CAN_HANDLE_CASES, CAN_RECORD_PROXY, User
from station_app.errors import DataFolderError, DataFolderMissing, StationError
from station_app.services.clock import Clock
from station_app.services.demo import ensure_demo
from station_app.services.paths import default_data_dir
from station_app.services.station import upgrade_folder, upgrade_pending
from station_app.ui import theme
from station_app.ui.context import LOCK_AFTER_SECONDS, AppContext
from station_app.ui.syncstatus import SyncBadge
from station_app.ui.views import (
    cases,
    county_dashboard,
    home,
    notices,
    proxies,
    restore,
    reviews,
    settings,
    seven,
    signin,
)
from sync.auto import Timing

ASSETS = Path(__file__).resolve().parent.parent / "assets"

# (name, label, icon, who may see it)
MENU = (
    ("home", "首页", ft.Icons.HOME, None),
    ("proxy_new", "代办登记", ft.Icons.ASSIGNMENT_ADD, CAN_RECORD_PROXY),
    ("proxy_list", "代办台账", ft.Icons.LIST_ALT, None),
    ("receive", "收件", ft.Icons.INBOX, CAN_HANDLE_CASES),
    ("worklist", "办件", ft.Icons.WORK_OUTLINE, None),
    ("reviews", "差评整改", ft.Icons.RATE_REVIEW, CAN_HANDLE_CASES),
    ("seven", "七有自查", ft.Icons.FACT_CHECK, None),
    ("settings", "设置", ft.Icons.SETTINGS, CAN_ADMINISTER),
)
VIEWS: dict[str, Callable[..., ft.Control]] = {
    "home": home.build, "proxy_new": proxies.new_entry, "proxy_list": proxies.ledger,
    "proxy": proxies.detail, "receive": cases.receive, "worklist": cases.worklist,
    "case": cases.detail, "seven": seven.build, "settings": settings.build,
    "reviews": reviews.ledger, "review": reviews.detail,
}
# 县级通知 (the county's results and 整改通知): opened from the 首页 card of the admin
VIEWS |= {"notices": notices.ledger, "notice": notices.detail}
# First run on a new PC, before any station exists: whole-window screens offered by the
# set-up wizard (从备份恢复, 更换电脑恢复) and their reports
FIRST_RUN: dict[str, Callable[..., ft.Control]] = {
    "restore": restore.restore_screen, "restored": restore.restored_screen,
    "recover": restore.recover_screen, "recovered": restore.recovered_screen}


class Shell:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.page = ctx.page
        self.body = ft.Container(expand=True, padding=20, key="body")
        self.status = ft.Row(key="status_bar")
        self.sync_badge = SyncBadge("status_sync")  # kept: the scheduler updates it in place
        self.rail = ft.NavigationRail(destinations=[], on_change=ctx.guard(self._nav),
                                      label_type=ft.NavigationRailLabelType.ALL,
                                      min_width=96, key="menu")
        self.menu: list[str] = []
        self.mounted = False
        self.frame: ft.Control | None = None  # the signed-in shell, kept while locked
        self.locked_for: str | None = None
        ctx.show = self.show
        ctx.open_county = self.county
        ctx.on_lock = self.lock
        ctx.show_sync("bar", lambda status: self.sync_badge.show(status, ctx.now()))

    def start(self) -> None:
        if self.ctx.county_server:  # `station-app --county URL`: the auditor's sign-in first
            self.county(self.ctx.county_server)
            return
        if self.ctx.station is None and upgrade_pending(self.ctx.folder):
            self._screen(_notice_screen("正在升级数据（新版本第一次启动），请勿关闭程序……",
                                        busy=True))
            self.ctx.run(self._upgrade_then_start)
            return
        try:
            if self.ctx.station is None:  # back from the county sign-in: already open
                self.ctx.open()
        except DataFolderMissing:
            self._screen(signin.setup_wizard(self.ctx, self.signed_in))
            return
        except DataFolderError as exc:  # a newer program's folder, a damaged database
            self._screen(_notice_screen(exc.text))
            return
        if restore.pins_missing(self.ctx):  # recovered, window closed before new PINs
            self._screen(restore.first_pins_screen(self.ctx))
            return
        self._screen(signin.signin_screen(self.ctx, self.signed_in))

    async def _upgrade_then_start(self) -> None:
        """Migrate off the UI loop (a connection belongs to its thread, so the upgrade opens
        and closes its own), then open as every day."""
        try:
            await self.ctx.in_thread(lambda: upgrade_folder(self.ctx.folder, self.ctx.clock))
        except DataFolderError as exc:
            self._screen(_notice_screen(exc.text))
            return
        self.start()

    def signed_in(self, user: User) -> None:
        self.ctx.sign_in(user)
        if self.frame is not None and self.locked_for == user.user_id:
            # Unlocked by the same person: back to exactly where they were, typing and all.
            self.locked_for = None
            self._refresh_status()
            self._screen(self.frame)
            self.mounted = True
            return
        self.locked_for = None
        self.menu = [m[0] for m in MENU if m[3] is None or user.role in m[3]]
        self.rail.destinations = [
            ft.NavigationRailDestination(icon=m[2], label=m[1])
            for m in MENU if m[0] in self.menu]
        self.mounted = False
        self.show("home")  # fill the body first, then put the shell on screen
        self.frame = ft.Column([
            ft.Container(self.status, padding=ft.Padding(16, 8, 16, 8), bgcolor="#eef3fa"),
            ft.Row([self.rail, ft.VerticalDivider(width=1), self.body], expand=True,
                   vertical_alignment=ft.CrossAxisAlignment.START),
        ], expand=True, spacing=0)
        self._screen(self.frame)
        self.mounted = True

    def show(self, name: str, **params: Any) -> None:
        """Put one screen in the body (views are rebuilt, so they always show fresh data)."""
        if name == "signin":
            self.ctx.user = None
            self.mounted = False
            self.frame = self.locked_for = None
            self._screen(signin.signin_screen(self.ctx, self.signed_in))
            return
        if name == "setup":
            self._screen(signin.setup_wizard(self.ctx, self.signed_in))
            return
        if name in FIRST_RUN:
            self._screen(FIRST_RUN[name](self.ctx, **params))
            return
        self.ctx.show_sync("screen", None)  # the screen going away stops following sync
        content = VIEWS[name](self.ctx, **params)  # built first: if it fails, nothing moves
        if name in self.menu:
            self.rail.selected_index = self.menu.index(name)
        self.body.content = content
        self._refresh_status()
        if self.mounted:  # the shell is on screen: send now (see _screen)
            self.page.update()

    def county(self, server: str = "") -> None:
        """县级审核登录: the county-auditor role (views/county_dashboard.py)."""
        self.mounted = False
        self.ctx.county_server = ""  # once: 返回 goes to the station's own sign-in
        county_dashboard.open_signin(self.ctx, server, self.start)

    def lock(self) -> None:
        user = self.ctx.user
        if user is not None:
            self.mounted = False
            self.locked_for = user.user_id
            self._screen(signin.signin_screen(self.ctx, self.signed_in, locked_user=user))

    def _nav(self, event: Any) -> None:
        self.show(self.menu[int(event.control.selected_index)])

    def _screen(self, control: ft.Control) -> None:
        # Replace and send explicitly: page.add() updates at once, and an update made inside
        # a handler stops Flet's automatic one after it, so nothing may change afterwards.
        self.page.controls.clear()
        self.page.controls.append(control)
        self.page.update()

    def _refresh_status(self) -> None:
        ctx, station = self.ctx, self.ctx.station
        assert station is not None and ctx.user is not None
        self.sync_badge.show(ctx.sync_status(), ctx.now())
        self.status.controls = [
            ft.Text(station.info.name, size=theme.BODY, weight=ft.FontWeight.BOLD),
            ft.Text(f"{ctx.user.name}（{ctx.user.role.label}）", size=theme.BODY,
                    key="status_user"),
            ft.Container(expand=True),
            self.sync_badge.row,
            ft.IconButton(ft.Icons.LOCK, tooltip="锁屏", on_click=ctx.guard(lambda _: self.lock()),
                          key="status_lock"),
            ft.IconButton(ft.Icons.LOGOUT, tooltip="退出登录",
                          on_click=ctx.guard(lambda _: self.show("signin")), key="status_logout"),
        ]


def _notice_screen(text: str, *, busy: bool = False) -> ft.Control:
    """A screen with one message: an upgrade under way, or a folder this program must not
    open (the message says why and what to do)."""
    parts: list[ft.Control] = [ft.ProgressRing()] if busy else [
        ft.Icon(ft.Icons.ERROR_OUTLINE, color=theme.OVERDUE, size=40)]
    parts.append(ft.Text(text, size=theme.BODY, key="start_notice", width=560,
                         text_align=ft.TextAlign.CENTER))
    return ft.Container(ft.Column(parts, horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                                  spacing=16), alignment=ft.Alignment.CENTER, expand=True)


def make_main(folder: Path, *, clock: Clock | None = None, demo: bool = False,
              lock_after: float = LOCK_AFTER_SECONDS, sync_timing: Timing | None = None,
              county: str = "") -> Callable[[ft.Page], None]:
    def main(page: ft.Page) -> None:
        page.title = "便民服务站"
        if not page.web:  # in a browser the font is preloaded (assets/assets/FontManifest.json)
            page.fonts = {theme.FONT_FAMILY: theme.FONT_ASSET}
        page.theme = theme.theme()
        page.padding = 0
        page.window.width, page.window.height = 1366, 768
        page.window.min_width, page.window.min_height = 1024, 640
        ctx = AppContext(page, folder, clock=clock, demo=demo, lock_after=lock_after,
                         sync_timing=sync_timing)
        page.on_close = lambda _: ctx.close()  # the session ended (a web tab long gone)
        ctx.county_server = county
        Shell(ctx).start()
        page.run_task(ctx.watch_idle)

    return main


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="station-app", description="便民服务站桌面程序")
    parser.add_argument("--data", type=Path, help="数据目录（默认：$STATION_DATA 或用户数据目录）")
    parser.add_argument("--demo", action="store_true",
                        help="没有站点时创建示例站点（演示用）")
    parser.add_argument("--web", action="store_true", help="以网页方式运行（测试用）")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8550")))
    parser.add_argument("--county", metavar="URL", default="",
                        help="以县级审核人员身份登录该县级服务器（需审核令牌）")
    args = parser.parse_args(argv)
    folder = args.data or default_data_dir()
    if args.demo and not (folder / "station.db").exists():
        try:
            ensure_demo(folder)
        except StationError as error:
            raise SystemExit(f"错误 [{error.code}]：{error.text}") from None
    app = make_main(folder, demo=args.demo, county=args.county)
    if args.web:
        os.environ.setdefault("FLET_FORCE_WEB_SERVER", "true")
        ft.run(app, view=ft.AppView.WEB_BROWSER, host="127.0.0.1", port=args.port,
               assets_dir=str(ASSETS), no_cdn=True)
    else:
        ft.run(app, assets_dir=str(ASSETS))
