"""``station calendar import|list|set|remove``."""

from __future__ import annotations

from pathlib import Path

import click

from station_app.cli import Context, json_flag, pass_context, read_input_file
from station_app.cli.output import table
from station_app.domain.calendar import DayKind
from station_app.domain.clock import local_day, parse_day
from station_app.services.calendar import current_calendar, import_calendar, remove_day, set_day


def register(cli: click.Group) -> None:
    cli.add_command(calendar)


@click.group()
def calendar() -> None:
    """节假日表 / holiday calendar (放假安排)."""


@calendar.command("import")
@click.argument("file")
@json_flag
@pass_context
def import_(obj: Context, file: str) -> None:
    """导入放假安排（JSON 或 CSV）/ import a year's holiday arrangement."""
    years = import_calendar(obj.station(), read_input_file(file), Path(file).name)
    obj.out.emit({"ok": True, "years": [cy.year for cy in years]},
                 lambda: "已导入 " + "、".join(f"{cy.year} 年" for cy in years) + "放假安排")


@calendar.command("list")
@click.option("--year", type=int, help="只看某一年 / one year only")
@json_flag
@pass_context
def list_(obj: Context, year: int | None) -> None:
    """列出已导入的年份或某年的节假日 / list known years or one year's days."""
    station = obj.station()
    cal = current_calendar(station)
    this_year = local_day(station.clock.now()).year
    if year is None:
        known = list(cal.known_years)
        missing = [y for y in (this_year, this_year + 1) if not cal.knows(y)]
        obj.out.emit({"known_years": known, "missing_years": missing},
                     lambda: _years_text(known, missing))
        return
    days = cal.special_days(year)
    obj.out.emit(
        {"year": year, "known": cal.knows(year),
         "days": [{"date": d.day.isoformat(), "kind": d.kind.value, "name": d.name}
                  for d in days]},
        lambda: table([[d.day.isoformat(), d.kind.label, d.name] for d in days],
                      ["日期", "类型", "名称"]) if cal.knows(year)
        else f"未导入 {year} 年放假安排（按周末估算）")


@calendar.command("set")
@click.argument("day")
@click.option("--kind", required=True, type=click.Choice([k.value for k in DayKind]))
@click.option("--name", default="", help="节日名称 / holiday name")
@click.option("--reason", required=True, help="修改原因 / why")
@json_flag
@pass_context
def set_(obj: Context, day: str, kind: str, name: str, reason: str) -> None:
    """修改某一天（休息或调休上班）/ mark one day as a holiday or a working day."""
    when = parse_day(day)
    set_day(obj.station(), when, DayKind(kind), name, reason)
    obj.out.emit({"ok": True, "date": when.isoformat(), "kind": kind},
                 f"已将 {when.isoformat()} 设为{DayKind(kind).label}")


@calendar.command("remove")
@click.argument("day")
@click.option("--reason", required=True, help="修改原因 / why")
@json_flag
@pass_context
def remove(obj: Context, day: str, reason: str) -> None:
    """取消某一天的特殊安排 / make one day an ordinary day again."""
    when = parse_day(day)
    remove_day(obj.station(), when, reason)
    obj.out.emit({"ok": True, "date": when.isoformat()}, f"{when.isoformat()} 已恢复为普通日")


def _years_text(known: list[int], missing: list[int]) -> str:
    lines = [f"已导入：{known[0]}–{known[-1]} 年" if known else "尚未导入任何年份"]
    lines += [f"⚠ 未导入 {y} 年放假安排，跨入该年的期限为估算" for y in missing]
    return "\n".join(lines)
