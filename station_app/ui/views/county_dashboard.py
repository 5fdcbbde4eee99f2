"""The county-auditor role (docs/dashboard.md): the same app, signed in to the county server
with an auditor's token instead of to a station with a PIN.

The token is kept in memory only, in the session's HTTP client, and is gone when the
auditor signs out or the window closes: it is a bearer secret for the whole county's audit
data, and a file on a shared office PC would outlive the person's session. Every call goes
through ``sync.client.AuditClient`` (reached, as the UI reaches all of sync,
through ``sync.auto``) in a worker thread (``ctx.in_thread``); a failure is a
typed error the one boundary (``ctx.guard``) shows in Chinese.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import flet as ft

from station_app.errors import MissingField
from station_app.ui import theme
from station_app.ui.context import AppContext
from sync.auto import AuditClient

OVERVIEW, TREND = "county_overview", "county_trend"
MENU = ((OVERVIEW, "总览", ft.Icons.TABLE_CHART), (TREND, "趋势", ft.Icons.BAR_CHART))


@dataclass
class AuditSession:
    """The signed-in auditor: the client (holding the token) and who the server says we are."""

    client: AuditClient
    me: dict[str, Any]
    month: str
    town: str = ""  # the overview's town filter ("" : every town in scope)
    sort: tuple[int, bool] = (0, True)  # the overview's sort column and direction
    cache: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        self.client.close()


def signin(ctx: AppContext, server: str, back: Callable[[], None]) -> ft.Control:
    """县级审核登录: the county server's address and the auditor's token."""
    url = theme.field("县级服务器地址", key="county_server", value=server or ctx.county_server,
                      hint="如 http://10.1.2.3:8080", width=480, autofocus=not server)
    token = theme.field("审核令牌", key="county_token", password=True, width=480,
                        autofocus=bool(server))
    fields = {"server": url, "token": token}

    async def enter(_: Any) -> None:
        address, secret = (url.value or "").strip(), (token.value or "").strip()
        if not address:
            raise MissingField(field="server", label="县级服务器地址")
        if not secret:
            raise MissingField(field="token", label="审核令牌")
        client = AuditClient(address, secret)
        try:
            me = await ctx.in_thread(client.whoami)
        except BaseException:
            client.close()
            raise
        token.value = ""  # not left in the form behind the dashboard
        month = str(me.get("now", ""))[:7] or f"{ctx.now():%Y-%m}"
        ctx.county = AuditSession(client, me, month)
        await Dashboard(ctx, ctx.county, back).start()

    submit = ctx.guard(enter, fields)
    url.on_submit = token.on_submit = submit
    return ft.Container(expand=True, alignment=ft.Alignment.CENTER, bgcolor="#eef3fa",
                        content=ft.Card(elevation=3, content=ft.Container(
                            width=760, padding=36, content=ft.Column([
                                theme.title("县级审核登录", key="county_signin_title"),
                                theme.muted("县级审核人员使用县级服务器发放的审核令牌登录，"
                                            "只能查看，不能修改任何记录；令牌只保存在内存中。"),
                                url, token,
                                ft.Row([theme.button("登录", submit, key="county_go",
                                                     icon=ft.Icons.LOGIN),
                                        theme.button("返回站点登录", ctx.guard(
                                            lambda _: back()), primary=False,
                                            key="county_back")]),
                            ], spacing=18, tight=True))))


def open_signin(ctx: AppContext, server: str, back: Callable[[], None]) -> None:
    _screen(ctx, signin(ctx, server, back))


class Dashboard:
    """The auditor's shell: a menu (总览, 趋势), the body, who is signed in, 退出."""

    def __init__(self, ctx: AppContext, session: AuditSession, back: Callable[[], None]
                 ) -> None:
        self.ctx, self.session, self.back = ctx, session, back
        self.body = ft.Container(expand=True, padding=20, key="county_body")
        self.rail = ft.NavigationRail(
            destinations=[ft.NavigationRailDestination(icon=m[2], label=m[1]) for m in MENU],
            on_change=ctx.guard(self._nav), label_type=ft.NavigationRailLabelType.ALL,
            min_width=96, selected_index=0, key="county_menu")

    async def start(self) -> None:
        await self.show(OVERVIEW, mounted=False)
        me = self.session.me
        scope = f"乡镇 {me['town']}" if me.get("town") else "全县"
        bar = ft.Row([
            ft.Text(f"县级审核 · {me.get('county', '')}", size=theme.BODY,
                    weight=ft.FontWeight.BOLD),
            ft.Text(f"{me.get('auditor', '')}（审核人员，范围：{scope}）", size=theme.BODY,
                    key="county_user"),
            ft.Container(expand=True),
            ft.IconButton(ft.Icons.LOGOUT, tooltip="退出登录", key="county_logout",
                          on_click=self.ctx.guard(lambda _: self.sign_out())),
        ])
        _screen(self.ctx, ft.Column([
            ft.Container(bar, padding=ft.Padding(16, 8, 16, 8), bgcolor="#eef3fa"),
            ft.Row([self.rail, ft.VerticalDivider(width=1), self.body], expand=True,
                   vertical_alignment=ft.CrossAxisAlignment.START),
        ], expand=True, spacing=0))

    def sign_out(self) -> None:
        self.session.close()
        self.ctx.county = None
        self.back()

    async def _nav(self, event: Any) -> None:
        await self.show(MENU[int(event.control.selected_index)][0])

    async def show(self, name: str, *, mounted: bool = True, **params: Any) -> None:
        """Fetch (in a worker thread) and put one screen in the body; a failed fetch leaves
        the screen as it was and the boundary says why."""
        from station_app.ui.views import county_overview, county_station, county_trend

        client, s = self.session.client, self.session
        content: ft.Control
        if name == OVERVIEW:
            data = await self.ctx.in_thread(lambda: client.overview(s.month))
            content = county_overview.build(self.ctx, self, data)
        elif name == TREND:
            data = await self.ctx.in_thread(lambda: client.trend(6))
            content = county_trend.build(data)
        else:  # a station, or the cases behind one of its figures
            code, kpi = params["code"], params.get("kpi")
            data = await self.ctx.in_thread(lambda: client.station(code, s.month))
            cases = None if kpi is None else await self.ctx.in_thread(
                lambda: client.cases(code, kpi, s.month))
            content = county_station.build(self.ctx, self, data, cases)
        if name in (OVERVIEW, TREND):
            self.rail.selected_index = [m[0] for m in MENU].index(name)
        self.body.content = content
        if mounted:
            self.ctx.page.update()


def _screen(ctx: AppContext, control: ft.Control) -> None:
    ctx.page.controls.clear()
    ctx.page.controls.append(control)
    ctx.page.update()
