"""总览: every station in the auditor's scope with its KPIs, flags and 红/黄/绿 (no map).

Sorting (a column header) and the town filter work on the fetched table; the month is asked
of the server again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

from station_app.domain.audit import Period
from station_app.ui import theme
from station_app.ui.context import AppContext

SHOWN = ("on_time_rate", "on_site_rate", "evaluation_rate", "satisfaction_rate", "overdue_now")
RAG = {"red": ("红", theme.OVERDUE, theme.OVERDUE_BG), "amber": ("黄", theme.DUE_SOON,
                                                                 theme.DUE_SOON_BG),
       "green": ("绿", theme.OK, "#e8f5e9")}
_RANK = {"red": 0, "amber": 1, "green": 2}
HEADERS = ("乡镇", "站点编码", "站点名称", "状态", "按时办结率", "现场办结率", "满意度评议率",
           "群众满意率", "当前超期", "问题", "")


def build(ctx: AppContext, dash: Any, data: dict[str, Any]) -> ft.Control:
    session = dash.session
    rows = [r for r in data.get("stations", [])
            if not session.town or r.get("town") == session.town]
    month = theme.field("统计月份", key="county_month", value=session.month, width=160,
                        hint="YYYY-MM")
    towns = theme.dropdown("乡镇", [("", "全部乡镇"), *((t, t) for t in data.get("towns", []))],
                           key="county_town", value=session.town, width=240)

    async def refresh(_: Any) -> None:
        Period.month(month.value or "")  # a malformed month is refused here, by the field
        session.month = (month.value or "").strip()
        session.town = towns.value or ""
        await dash.show("county_overview")

    async def pick_town(_: Any) -> None:
        session.town = towns.value or ""
        await dash.show("county_overview")

    go = ctx.guard(refresh, {"month": month})
    month.on_submit = go
    towns.on_select = ctx.guard(pick_town)
    counts = data.get("rag_counts", {})
    return ft.Column([
        theme.title(f"县级审核总览 · {data.get('month', '')}", key="county_overview_title"),
        ft.Row([month, towns, theme.button("刷新", go, key="county_refresh",
                                           icon=ft.Icons.REFRESH)], wrap=True),
        theme.muted(f"红色 {counts.get('red', 0)} 个 · 黄色 {counts.get('amber', 0)} 个 · "
                    f"绿色 {counts.get('green', 0)} 个；点击列标题排序，点击“详情”查看站点",
                    key="county_counts"),
        _table(ctx, dash, rows) if rows else theme.muted("没有可查看的站点",
                                                         key="county_empty"),
    ], spacing=14, scroll=ft.ScrollMode.AUTO, expand=True)


def rag_chip(status: str, key: str | None = None) -> ft.Control:
    label, colour, background = RAG.get(status, ("—", theme.MUTED, "#eeeeee"))
    return ft.Container(ft.Text(label, size=theme.SMALL, color=colour, weight=ft.FontWeight.BOLD,
                                key=f"{key}_text" if key else None),
                        bgcolor=background, border_radius=12, key=key,
                        padding=ft.Padding(12, 2, 12, 2))


def shown(figure: dict[str, Any] | None, code: str) -> str:
    value = None if figure is None else figure.get("value")
    if value is None:
        return "—"
    if code == "overdue_now":
        return str(value)
    if code == "avg_visits":
        return f"{value:.2f}"
    return f"{value * 100:.1f}%"


def _sort_key(column: int) -> Callable[[dict[str, Any]], Any]:
    def key(row: dict[str, Any]) -> Any:
        if column == 0:
            return row.get("town", "")
        if column == 1:
            return row.get("station", "")
        if column == 2:
            return row.get("station_name", "")
        if column == 3:
            return _RANK.get(row["rag"]["status"], 3)
        if 4 <= column < 4 + len(SHOWN):
            value = row["kpis"].get(SHOWN[column - 4], {}).get("value")
            return (value is None, value if value is not None else 0)  # no figure: last
        return row.get("flags", 0)
    return key


def _table(ctx: AppContext, dash: Any, rows: list[dict[str, Any]]) -> ft.Control:
    session = dash.session
    column, ascending = session.sort
    ordered = sorted(rows, key=_sort_key(column), reverse=not ascending)

    async def sort(event: Any) -> None:
        session.sort = (int(event.column_index), bool(event.ascending))
        await dash.show("county_overview")

    def open_station(code: str) -> Callable[[Any], Any]:
        async def go(_: Any) -> None:
            await dash.show("county_station", code=code)
        return go

    columns = [ft.DataColumn(ft.Text(h), numeric=4 <= i < 10,
                             on_sort=ctx.guard(sort) if h else None, key=f"county_col_{i}")
               for i, h in enumerate(HEADERS)]
    return ft.DataTable(
        key="county_table", columns=columns, sort_column_index=column,
        sort_ascending=ascending, column_spacing=16, show_checkbox_column=False,
        rows=[ft.DataRow(key=f"county_row_{r['station']}", cells=[
            ft.DataCell(ft.Text(r.get("town", ""), size=theme.SMALL)),
            ft.DataCell(ft.Text(r["station"], size=theme.SMALL)),
            ft.DataCell(ft.Text(r.get("station_name", ""), size=theme.SMALL)),
            ft.DataCell(rag_chip(r["rag"]["status"], key=f"county_rag_{r['station']}")),
            *(ft.DataCell(ft.Text(shown(r["kpis"].get(c), c), size=theme.SMALL))
              for c in SHOWN),
            ft.DataCell(ft.Text(str(r.get("flags", 0)), size=theme.SMALL,
                                color=theme.OVERDUE if r.get("flags_red") else None)),
            ft.DataCell(ft.TextButton("详情", key=f"county_open_{r['station']}",
                                      on_click=ctx.guard(open_station(r["station"])))),
        ]) for r in ordered])
