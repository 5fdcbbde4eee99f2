"""趋势: the county's (or the auditor's town's) KPIs month by month, as bar charts.

Flet 0.82.2 ships no chart control (charts moved to the separate ``flet-charts`` package),
so each bar is a Container whose height is the figure: plain, legible and testable.
"""

from __future__ import annotations

from typing import Any

import flet as ft

from station_app.ui import theme
from station_app.ui.views.county_overview import shown

CHARTS = ("on_time_rate", "on_site_rate", "satisfaction_rate", "evaluation_rate")
BAR_HEIGHT = 120


def build(data: dict[str, Any]) -> ft.Control:
    names = {d["code"]: d["name"] for d in data.get("kpis", [])}
    months = data.get("months", [])
    scope = "全县" if data.get("scope") == "county" else f"乡镇 {data.get('scope')}"
    return ft.Column([
        theme.title(f"考核指标趋势 · {scope}", key="county_trend_title"),
        theme.muted("近 6 个月，按县级服务器的事实表汇总；“—”表示当月没有可计的办件"),
        ft.Row([_chart(code, names.get(code, code), months) for code in CHARTS], wrap=True,
               spacing=24, run_spacing=24),
    ], spacing=14, scroll=ft.ScrollMode.AUTO, expand=True)


def _chart(code: str, name: str, months: list[dict[str, Any]]) -> ft.Control:
    bars = []
    for m in months:
        figure = m.get("kpis", {}).get(code)
        value = None if figure is None else figure.get("value")
        height = 2 if value is None else max(2, round(float(value) * BAR_HEIGHT))
        bars.append(ft.Column([
            ft.Text(shown(figure, code), size=12, key=f"trend_{code}_{m['month']}"),
            ft.Container(width=28, height=height, border_radius=3,
                         bgcolor=theme.PRIMARY if value is not None else "#cccccc"),
            ft.Text(m["month"][5:] + "月", size=12, color=theme.MUTED),
        ], horizontal_alignment=ft.CrossAxisAlignment.CENTER, alignment=ft.MainAxisAlignment.END,
            spacing=4, height=BAR_HEIGHT + 48))
    return ft.Container(ft.Column([
        ft.Text(name, size=theme.BODY, weight=ft.FontWeight.BOLD),
        ft.Row(bars, spacing=10, vertical_alignment=ft.CrossAxisAlignment.END),
    ], spacing=8), padding=16, border=ft.Border.all(1, "#dddddd"), border_radius=8,
        key=f"trend_chart_{code}")
