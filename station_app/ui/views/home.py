"""首页: what needs doing today, for the person signed in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import flet as ft

from station_app.domain.users import CAN_HANDLE_CASES, CAN_RECORD_PROXY, Role
from station_app.services.appversion import app_update_warning
from station_app.services.badreview import count_overdue
from station_app.services.calendar import missing_years
from station_app.services.dashboard import dashboard
from station_app.services.notice_board import BoardState, board_state, refresh_notice_board
from station_app.services.notices import notice_counts
from station_app.services.proxy import ProxyFilter, list_proxies
from station_app.services.station import Station
from station_app.ui import theme
from station_app.ui.context import AppContext
from station_app.ui.syncstatus import last_sync
from station_app.ui.views import backup
from station_app.ui.views.common import case_rows_table, estimate_banner
from sync.auto import Phase, SyncStatus, summary


def build(ctx: AppContext) -> ft.Control:
    station, user, now = ctx.station, ctx.user, ctx.now()
    assert station is not None and user is not None
    d = dashboard(station, now)
    link = summary(station)  # read now, on this connection: the numbers match the screen
    cards = [
        _card("今日收件", d.received_today, "home_today"),
        _card("在办", d.open_cases, "home_open"),
        _card("已超期", d.overdue, "home_overdue", theme.OVERDUE if d.overdue else None),
        _card("3 日内到期", d.due_soon, "home_due_soon", theme.DUE_SOON if d.due_soon else None),
        _card("未同步记录", unsynced := _number(link.unsynced, "home_unsynced")),
    ]
    if user.role in CAN_HANDLE_CASES:
        cards.append(_review_card(ctx, now))
    if user.role is Role.ADMIN:
        cards.append(_notice_card(ctx))
    synced = theme.muted(f"最后同步：{last_sync(link.enrolled, link.receipt_time, now)}",
                         key="home_last_sync")
    parts: list[ft.Control] = [
        theme.title(f"您好，{user.name}", key="home_title"),
        ft.Row([theme.muted(d.today), synced], spacing=12),
        ft.Row(cards, wrap=True, spacing=12),
    ]
    ctx.show_sync("screen", _follow_sync(ctx, synced, unsynced))
    if (update := app_update_warning(station)) is not None:
        parts.append(_update_banner(update.text))  # the county asks for a newer program
    banner = estimate_banner(missing_years(station, range(int(d.today[:4]), int(d.today[:4]) + 2)))
    if banner:
        parts.append(banner)
    if user.role is Role.ADMIN and (remind := backup.reminder(ctx)) is not None:
        parts.append(remind)  # no backup for over a week: one click to a U盘
    if user.role is Role.ADMIN:
        parts += _notice_board_note(station)
    if user.role in CAN_RECORD_PROXY:
        parts += _proxy_part(ctx)
    if user.role is not Role.AGENT:
        parts += [ft.Text("待办（按期限排序）", size=theme.BODY, weight=ft.FontWeight.BOLD),
                  case_rows_table(ctx, list(d.worklist), now, key="home_worklist")]
    return ft.Column(parts, spacing=14, scroll=ft.ScrollMode.AUTO, expand=True)


def _update_banner(text: str) -> ft.Control:
    return ft.Container(key="home_app_update", bgcolor=theme.DUE_SOON_BG, padding=12,
                        border_radius=6,
                        content=ft.Text(f"注意：{text}", size=theme.BODY, color=theme.DUE_SOON))


def _notice_board_note(station: Station) -> list[ft.Control]:
    """公示栏已更新，请打印张贴 until the newest poster is printed (a change that arrived
    without a screen, such as a catalog from the county, is regenerated here first)."""
    refresh_notice_board(station)
    state = board_state(station)
    if state not in (BoardState.TO_PRINT, BoardState.OUTDATED):
        return []
    return [ft.Text(f"{state.label}（在“设置”中打印）", size=theme.BODY, color=theme.DUE_SOON,
                    key="home_notice_board")]


def _follow_sync(ctx: AppContext, synced: ft.Text, number: ft.Text
                 ) -> Callable[[SyncStatus], None]:
    """Later changes (a session finished, new entries noticed) update the two sync figures."""

    def show(status: SyncStatus) -> None:
        enrolled = status.phase is not Phase.NOT_ENROLLED
        synced.value = f"最后同步：{last_sync(enrolled, status.receipt_time, ctx.now())}"
        number.value = str(status.unsynced)

    return show


def _number(value: int, key: str, color: str | None = None) -> ft.Text:
    return ft.Text(str(value), size=30, weight=ft.FontWeight.BOLD, color=color, key=key)


def _card(label: str, value: int | ft.Text, key: str = "", color: str | None = None, *,
          on_click: Any = None, click_key: str | None = None) -> ft.Control:
    number = value if isinstance(value, ft.Text) else _number(value, key, color)
    body = ft.Column([ft.Text(label, size=theme.SMALL, color=theme.MUTED), number], spacing=4)
    return ft.Card(content=ft.Container(padding=16, width=170, content=body, on_click=on_click,
                                        key=click_key))


def _review_card(ctx: AppContext, now: datetime) -> ft.Control:
    """差评整改超期: loops whose current step is past its due day; a click opens the list.
    It joins the row of case cards (no row of its own) so the worklist keeps its place."""
    assert ctx.station is not None
    overdue = count_overdue(ctx.station, now)

    def go(_: Any) -> None:
        ctx.show("reviews")

    return _card("差评整改超期", overdue, "home_bad_overdue", theme.OVERDUE if overdue else None,
                 on_click=ctx.guard(go), click_key="home_to_reviews")


def _notice_card(ctx: AppContext) -> ft.Control:
    """县级整改通知: open ones and, in red, how many are past their deadline; a click opens
    the 县级通知 screen (the admin answers them there)."""
    assert ctx.station is not None
    open_count, overdue = notice_counts(ctx.station)
    count = ft.Text(str(open_count), size=30, weight=ft.FontWeight.BOLD, key="home_notices_open")
    late = ft.Text(f"超期 {overdue}", size=theme.SMALL, key="home_notices_overdue",
                   color=theme.OVERDUE if overdue else theme.MUTED)
    body = ft.Column([ft.Text("县级整改通知", size=theme.SMALL, color=theme.MUTED),
                      ft.Row([count, late], spacing=8)], spacing=4)
    return ft.Card(content=ft.Container(padding=16, width=170, content=body,
                                        on_click=ctx.guard(lambda _: ctx.show("notices")),
                                        key="home_to_notices"))


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

