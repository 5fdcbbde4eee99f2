"""``station-app``: open the station on this PC's data folder (the demo station on first start).

Until the desktop window lands (issue 4) this prints the station's dashboard in the terminal:
today's counts, the overdue and due-soon worklist, and the log's state.
"""

from __future__ import annotations

import sys

from station_app.domain.states import CaseState
from station_app.errors import DataFolderMissing, StationError
from station_app.services.clock import SystemClock
from station_app.services.dashboard import dashboard, urgency
from station_app.services.demo import ensure_demo
from station_app.services.paths import default_data_dir
from station_app.services.station import Station

MARKS = {"OVERDUE": "⚠ 超期", "DUE_SOON": "● 临期", "": "      "}


def render(station: Station) -> str:
    now = station.clock.now()
    d = dashboard(station, now)
    lines = [f"{station.info.name}（{station.info.code}）  {d.today}",
             f"在办 {d.open_cases} 件 · 今日收件 {d.received_today} 件 · 已超期 {d.overdue} 件 · "
             f"3 日内到期 {d.due_soon} 件",
             f"账本 {d.entries} 条记录 · 同步状态：未同步", "", "待办（按期限）："]
    for row in d.worklist:
        lines.append(f"  {MARKS[urgency(row, now)]} {row.case_no}  "
                     f"{CaseState(row.state).label}  {row.item_name[:16]}  {row.applicant_name}  "
                     f"期限 {row.deadline or '—'}")
    return "\n".join(lines)


def main() -> None:
    folder = default_data_dir()
    try:
        try:
            station = Station.open(folder, clock=SystemClock())
        except DataFolderMissing:
            ensure_demo(folder)
            station = Station.open(folder, clock=SystemClock())
        with station:
            print(render(station))
            print(f"\n数据目录：{folder}\n命令行：station --data {folder} --help")
    except StationError as error:
        print(f"错误 [{error.code}]：{error.text}\nError: {error.text_en}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
