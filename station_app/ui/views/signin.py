"""First-run set-up wizard, sign-in with a PIN, and the lock screen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

from station_app.domain.users import User
from station_app.errors import MissingField
from station_app.services.demo import DEMO_USERS
from station_app.services.setup import set_up_station
from station_app.services.station import LEVELS, StationSetup
from station_app.services.users import sign_in, users
from station_app.ui import theme
from station_app.ui.context import AppContext

DEMO_HINT = "示例站点的演示账号（PIN）：" + " · ".join(
    f"{name}（{role.label}）{pin}" for name, role, pin in DEMO_USERS)


def setup_wizard(ctx: AppContext, done: Callable[[User], None]) -> ft.Control:
    """创建站点 and its first administrator, in one screen."""
    f = {
        "name": theme.field("站点名称", key="setup_name", hint="如：青石镇便民服务中心",
                            autofocus=True),
        "code": theme.field("站点编码", key="setup_code", hint="6–20 位数字或大写字母"),
        "region": theme.field("行政区划代码", key="setup_region", hint="如 330199101000"),
        "level": theme.dropdown("站点层级", [(k, v) for k, v in LEVELS.items()],
                                key="setup_level", value="town"),
        "admin": theme.field("管理员姓名", key="setup_admin"),
        "pin": theme.field("管理员 PIN 码（4–8 位数字）", key="setup_pin", password=True),
        "pin2": theme.field("再次输入 PIN 码", key="setup_pin2", password=True),
    }
    sample = ft.Checkbox(label="导入示例事项目录（之后可在设置中替换）", value=True,
                         key="setup_sample")

    def create(_: Any) -> None:
        setup = StationSetup(name=f["name"].value or "", code=f["code"].value or "",
                             region=f["region"].value or "", level=f["level"].value or "")
        station, admin = set_up_station(
            ctx.folder, setup, admin_name=f["admin"].value or "", admin_pin=f["pin"].value or "",
            pin_again=f["pin2"].value or "", sample_catalog=bool(sample.value), clock=ctx.clock)
        station.close()
        ctx.open()
        done(admin)

    submit = ctx.guard(create, f)
    for control in f.values():
        if isinstance(control, ft.TextField):
            control.on_submit = submit
    return _centered(ft.Column([
        theme.title("首次使用：创建站点", key="setup_title"),
        theme.muted("站点密钥在本机生成，不会离开这台电脑。请妥善保管管理员 PIN 码。"),
        ft.Row([f["name"], f["code"]], wrap=True),
        ft.Row([f["region"], f["level"]], wrap=True),
        ft.Divider(),
        ft.Row([f["admin"], f["pin"], f["pin2"]], wrap=True),
        sample,
        ft.Row([theme.button("创建站点", submit, key="setup_create", icon=ft.Icons.CHECK),
                _county_entry(ctx)]),
        ft.Divider(),
        theme.muted("换了新电脑？有U盘上的备份，就从备份恢复；电脑丢失或损坏、没有最近的备份，"
                    "请县级管理员批准更换电脑，凭替换注册码从县级恢复。"),
        ft.Row([theme.button("从备份恢复", ctx.guard(lambda _: ctx.show("restore")),
                             primary=False, key="setup_restore", icon=ft.Icons.RESTORE),
                theme.button("更换电脑恢复（县级批准）", ctx.guard(lambda _: ctx.show("recover")),
                             primary=False, key="setup_recover", icon=ft.Icons.SWAP_HORIZ)],
               wrap=True),
    ], spacing=16, scroll=ft.ScrollMode.AUTO, tight=True))


def signin_screen(ctx: AppContext, done: Callable[[User], None], *,
                  locked_user: User | None = None) -> ft.Control:
    """Pick your name, type your PIN. Locked: only the same user (or 切换用户)."""
    assert ctx.station is not None
    people = [locked_user] if locked_user else users(ctx.station)
    chosen: dict[str, User | None] = {"user": locked_user}
    pin = theme.field("PIN 码", key="signin_pin", password=True, width=240, autofocus=True)
    who = ft.Text(_who(locked_user), size=theme.BODY, key="signin_who")
    fields = {"pin": pin}

    def pick(user: User) -> Callable[[Any], None]:
        def choose(_: Any) -> None:
            chosen["user"] = user
            who.value = _who(user)
            pin.value = ""
        return choose

    def enter(_: Any) -> None:
        user = chosen["user"]
        if user is None:
            raise MissingField(field="pin", label="使用人（请先点选自己的名字）")
        assert ctx.station is not None
        # Clear the field first: after a wrong PIN the next try starts empty, not after the
        # hidden wrong digits (which would burn the remaining attempts).
        entered, pin.value = pin.value or "", ""
        done(sign_in(ctx.station, user.user_id, entered, ctx.now()))

    submit = ctx.guard(enter, fields)
    pin.on_submit = submit
    buttons = [theme.button(f"{u.name}（{u.role.label}）", ctx.guard(pick(u)), primary=False,
                            key=f"signin_user_{u.user_id}") for u in people]
    info = ctx.station.info
    parts: list[ft.Control] = [
        theme.title("已锁屏" if locked_user else info.name, key="signin_title"),
        theme.muted("离开时屏幕会自动锁定，输入 PIN 码继续" if locked_user
                    else "请选择您的名字，再输入 PIN 码"),
        ft.Row(buttons, wrap=True, spacing=12),
        who, ft.Row([pin, theme.button("登录", submit, key="signin_go", icon=ft.Icons.LOGIN)]),
    ]
    if locked_user:
        parts.append(theme.button("切换用户", ctx.guard(lambda _: ctx.show("signin")),
                                  primary=False, key="signin_switch"))
    if info.demo and not locked_user:
        parts.append(theme.muted(DEMO_HINT, key="signin_demo_hint"))
    if not locked_user:
        parts.append(_county_entry(ctx))
    return _centered(ft.Column(parts, spacing=18, tight=True))


def _county_entry(ctx: AppContext) -> ft.Control:
    """县级审核登录: county auditors use this app against the county server, with a token."""
    return theme.button("县级审核登录", ctx.guard(lambda _: ctx.open_county("")), primary=False,
                        key="signin_county", icon=ft.Icons.ADMIN_PANEL_SETTINGS)


def _centered(content: ft.Control) -> ft.Control:
    """A card in the middle of the window, readable on a 1366×768 screen."""
    return ft.Container(expand=True, alignment=ft.Alignment.CENTER, bgcolor="#eef3fa",
                        content=ft.Card(elevation=3, semantic_container=False, content=ft.Container(
                            width=760, padding=36, content=content)))


def _who(user: User | None) -> str:
    return f"使用人：{user.name}（{user.role.label}）" if user else "使用人：（请点选）"
