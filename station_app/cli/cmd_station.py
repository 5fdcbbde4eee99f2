"""``station init`` and ``station demo``."""

from __future__ import annotations

import click

from station_app.cli import Context, json_flag, pass_context
from station_app.services.calendar import seed_builtin_calendar
from station_app.services.clock import SystemClock
from station_app.services.demo import DEFAULT_DEMO_CASES, ensure_demo
from station_app.services.station import LEVELS, StationSetup, create_station


def register(cli: click.Group) -> None:
    cli.add_command(init)
    cli.add_command(demo)


@click.command()
@click.option("--name", required=True, help="站点名称 / station name")
@click.option("--code", required=True, help="站点编码（6–20 位数字或大写字母）/ station code")
@click.option("--region", required=True, help="行政区划代码 / administrative region code")
@click.option("--level", required=True, type=click.Choice(sorted(LEVELS)),
              help="village 村（社区）或 town 乡镇（街道）")
@json_flag
@pass_context
def init(obj: Context, name: str, code: str, region: str, level: str) -> None:
    """创建站点（生成站点密钥、账本和节假日表）/ create a station in the data folder."""
    setup = StationSetup(name=name, code=code, region=region, level=level)
    station = create_station(obj.data, setup, clock=SystemClock(), actor=obj.actor,
                             seed=seed_builtin_calendar)
    info = station.info
    station.close()
    obj.out.emit(
        {"ok": True, "station": info.code, "name": info.name, "origin": info.origin,
         "data": str(obj.data), "public_key": info.public_key},
        lambda: f"已创建站点：{info.name}（{info.code}）\n数据目录：{obj.data}\n"
                f"账本标识：{info.origin}")


@click.command()
@click.option("--cases", "count", type=click.IntRange(0, 100_000), default=DEFAULT_DEMO_CASES,
              show_default=True, help="添加的示例办件数 / sample cases to add")
@click.option("--seed", type=int, help="随机种子，便于复现 / random seed, for a repeatable demo")
@json_flag
@pass_context
def demo(obj: Context, count: int, seed: int | None) -> None:
    """创建示例站点（如尚无）并添加示例办件 / demo station with sample cases."""
    summary = ensure_demo(obj.data, cases=count, actor=obj.actor, seed=seed)
    obj.out.emit(
        {"ok": True, "data": str(obj.data), **summary},
        lambda: f"示例站点：{summary['name']}（{summary['station']}）\n"
                f"本次新增办件 {summary['cases_added']} 件、"
                f"代办记录 {summary['proxies_added']} 条；"
                f"账本共 {summary['entries']} 条记录\n数据目录：{obj.data}")
