"""七有: the station's self-check against the "seven haves".

The monthly self-check with photo evidence and the county's inspections arrive with the
evaluation and 七有 work (issue 7). Until then this page lists the seven items and what counts
as evidence for each, and says plainly that no self-check has been recorded.
"""

from __future__ import annotations

import flet as ft

from station_app.ui import theme
from station_app.ui.context import AppContext

SEVEN = (
    ("有场所", "场所照片、面积、固定办公位和设备清单"),
    ("有人员", "代办员名单（至少一名专兼职）、培训记录"),
    ("有项目", "公布的代办事项清单（事项目录版本）"),
    ("有牌子", "统一标识牌照片"),
    ("有制度", "上墙制度清单照片（首问负责、限时办结、一次性告知、无偿代办……）"),
    ("有公示栏", "公示栏照片和公示内容日期"),
    ("有记录簿", "代办台账：本期记录条数、当日即录比例"),
)


def build(ctx: AppContext) -> ft.Control:
    rows = [ft.DataRow(cells=[ft.DataCell(ft.Text(name, size=theme.BODY)),
                              ft.DataCell(ft.Text(evidence, size=theme.SMALL)),
                              ft.DataCell(ft.Text("未自查", color=theme.MUTED, size=theme.SMALL))])
            for name, evidence in SEVEN]
    return ft.Column([
        theme.title("七有自查", key="seven_title"),
        ft.Text("本站尚未记录七有自查。每月自查（含照片佐证）与县级核查将在后续版本中提供。",
                size=theme.BODY, key="seven_state"),
        ft.DataTable(columns=[ft.DataColumn(ft.Text(t)) for t in ("项目", "佐证材料", "状态")],
                     rows=rows, key="seven_table"),
    ], spacing=12, scroll=ft.ScrollMode.AUTO, expand=True)
