"""设置 › 县级服务器（同步）: enroll with the county once, then see how the link stands and
sync on demand. Enrollment and sessions run in the background scheduler (``sync.auto``) on
its own thread; this screen only asks and shows."""

from __future__ import annotations

import asyncio
from typing import Any

import flet as ft

from station_app.errors import EnrollRefused, SyncError
from station_app.ui import theme
from station_app.ui.context import AppContext
from station_app.ui.syncstatus import SyncBadge, when
from sync.auto import SyncStatus, SyncSummary, summary

COLLECTIONS = {"catalog": "事项目录", "calendar": "节假日安排", "templates": "文书模板",
               "revocations": "吊销名单", "app": "最低版本要求", "badreview": "差评整改期限"}


def section(ctx: AppContext) -> list[ft.Control]:
    assert ctx.station is not None
    link = summary(ctx.station)
    heading = ft.Text("县级服务器（同步）", size=theme.BODY + 2, weight=ft.FontWeight.BOLD,
                      key="sync_heading")
    return [heading, *(_linked(ctx, link) if link.enrolled else _enroll_form(ctx))]


# ------------------------------------------------------------------ not enrolled yet


def _enroll_form(ctx: AppContext) -> list[ft.Control]:
    fields: dict[str, ft.Control] = {
        "server": theme.field("县级服务器地址", key="sync_server", width=360,
                              hint="如 http://10.33.1.5:8443"),
        "code": theme.field("注册码", key="sync_code", width=420,
                            hint="县级管理员给的注册码，短横线可有可无"),
    }
    enroll = theme.button("注册", None, key="sync_enroll", icon=ft.Icons.LINK)

    async def go(_: Any) -> None:
        assert ctx.sync is not None
        waiting = ctx.sync.enroll(fields["server"].value or "",  # type: ignore[attr-defined]
                                  fields["code"].value or "",  # type: ignore[attr-defined]
                                  actor=ctx.actor)
        enroll.disabled, enroll.content = True, "正在注册…"
        enroll.update()
        try:
            link = await asyncio.wrap_future(waiting)
        except SyncError as error:  # said next to the field it is about
            error.field = "code" if isinstance(error, EnrollRefused) else "server"
            raise
        finally:
            enroll.disabled, enroll.content = False, "注册"
        ctx.toast(f"已在“{link.county}”注册，正在上传本站记录")
        ctx.show("settings")

    enroll.on_click = ctx.guard(go, fields)
    return [theme.muted("本站尚未注册。请向县级管理员索取注册码（72 小时内有效，只能使用一次），"
                        "注册后本站记录会自动上传到县级。", key="sync_unenrolled"),
            ft.Row(list(fields.values()), wrap=True), enroll]


# ------------------------------------------------------------------ enrolled


def _linked(ctx: AppContext, link: SyncSummary) -> list[ft.Control]:
    lines = {k: ft.Text("", size=theme.BODY, key=f"sync_{k}")
             for k in ("county", "server_url", "keyset", "sizes", "receipt", "publications")}
    badge = SyncBadge("sync_state")
    notices = ft.Column([], spacing=4, key="sync_notices")

    def show(status: SyncStatus) -> None:
        assert ctx.station is not None
        _fill(lines, summary(ctx.station), ctx)
        badge.show(status, ctx.now())
        notices.controls = [ft.Text(f"提醒：{n}", size=theme.BODY, color=theme.DUE_SOON)
                            for n in status.notices]

    def sync_now(_: Any) -> None:
        assert ctx.sync is not None
        ctx.sync.sync_now()

    show(ctx.sync_status())
    ctx.show_sync("screen", show)
    return [*lines.values(), notices, ft.Row([
        theme.button("立即同步", ctx.guard(sync_now), key="sync_now", icon=ft.Icons.SYNC),
        badge.row], spacing=16)]


def _fill(lines: dict[str, ft.Text], link: SyncSummary, ctx: AppContext) -> None:
    now = ctx.now()
    lines["county"].value = f"县级：{link.county}"
    lines["server_url"].value = f"服务器：{link.server}"
    lines["keyset"].value = f"县级密钥集版本：{link.keyset_version}"
    lines["sizes"].value = (f"县级已确认 {link.acknowledged} 条 · 本机 {link.local_size} 条"
                            f"（未同步 {link.unsynced} 条）")
    lines["receipt"].value = ("最近回执：" + (f"{when(link.receipt_time, now)}（县级时间）"
                                             if link.receipt_time else "尚无"))
    applied = [f"{COLLECTIONS.get(c, c)} 第 {v} 版（有效期至 {expires[:10]}）"
               for c, v, expires, _ in link.publications]
    lines["publications"].value = ("已应用的县级发布：" + "；".join(applied) if applied
                                   else "尚未收到县级发布")
