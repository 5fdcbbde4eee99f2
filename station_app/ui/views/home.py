"""首页: what needs doing today, for the person signed in."""

from __future__ import annotations

from typing import Any

import flet as ft

from station_app.domain.users import CAN_RECORD_PROXY, Role
from station_app.services.calendar import missing_years
from station_app.services.dashboard import dashboard
from station_app.services.proxy import ProxyFilter, list_proxies
from station_app.ui import theme
from station_app.ui.context import AppContext
from station_app.ui.views.common import case_rows_table, estimate_banner


def build(ctx: AppContext) -> ft.Control:
    station, user, now = ctx.station, ctx.user, ctx.now()
    assert station is not None and user is not None
    d = dashboard(station, now)
    cards = [
        _card("今日收件", d.received_today, "home_today"),
        _card("在办", d.open_cases, "home_open"),
        _card("已超期", d.overdue, "home_overdue", theme.OVERDUE if d.overdue else None),
        _card("3 日内到期", d.due_soon, "home_due_soon", theme.DUE_SOON if d.due_soon else None),
        _card("未同步记录", d.entries, "home_unsynced"),
    ]
    parts: list[ft.Control] = [
        theme.title(f"您好，{user.name}", key="home_title"),
        theme.muted(f"{d.today} · 最后同步：未同步（县级服务器连接功能尚未启用）"),
        ft.Row(cards, wrap=True, spacing=12),
    ]
    banner = estimate_banner(missing_years(station, range(int(d.today[:4]), int(d.today[:4]) + 2)))
    if banner:
        parts.append(banner)
    if user.role in CAN_RECORD_PROXY:
        parts += _proxy_part(ctx)
    if user.role is not Role.AGENT:
        parts += [ft.Text("待办（按期限排序）", size=theme.BODY, weight=ft.FontWeight.BOLD),
                  case_rows_table(ctx, list(d.worklist), now, key="home_worklist")]
    return ft.Column(parts, spacing=14, scroll=ft.ScrollMode.AUTO, expand=True)


def _card(label: str, value: int, key: str, color: str | None = None) -> ft.Control:
    return ft.Card(content=ft.Container(padding=16, width=170, content=ft.Column([
        ft.Text(label, size=theme.SMALL, color=theme.MUTED),
        ft.Text(str(value), size=30, weight=ft.FontWeight.BOLD, color=color, key=key),
    ], spacing=4)))


def _proxy_part(ctx: AppContext) -> list[ft.Control]:
    station = ctx.station
    assert station is not None
    ts = int(ctx.now().timestamp())
    waiting = list_proxies(station, ProxyFilter(states=("REGISTERED",)))
    late = list_proxies(station, ProxyFilter(submit_overdue_at=ts))
    back = list_proxies(station, ProxyFilter(states=("RESULT_RECEIVED",)))

    def go(_: Any) -> None:
        ctx.show("proxy_list")

    return [ft.Row([
        _card("待报送", len(waiting), "home_proxy_waiting"),
        _card("超期未报送", len(late), "home_proxy_late", theme.OVERDUE if late else None),
        _card("结果已回待送达", len(back), "home_proxy_back"),
        theme.button("打开代办台账", ctx.guard(go), primary=False, key="home_to_ledger"),
    ], wrap=True, spacing=12)]

