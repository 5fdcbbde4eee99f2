"""``station seven check|show|items``: the monthly 七有 self-check with photo evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from station_app.cli import Context, json_flag, pass_context
from station_app.cli.output import table
from station_app.domain.clock import local_day
from station_app.domain.seven import ITEMS
from station_app.errors import InvalidInput, NotFound
from station_app.services.camera import PhotoShot, take_shot
from station_app.services.seven import (
    PhotoFile,
    check_dict,
    latest_self_check,
    record_self_check,
)


def register(cli: click.Group) -> None:
    cli.add_command(seven)


@click.group()
def seven() -> None:
    """七有自查（有场所、有人员、有项目、有牌子、有制度、有公示栏、有记录簿）/ the monthly
    "seven haves" self-check with photo evidence."""


@seven.command("items")
@json_flag
@pass_context
def items(obj: Context) -> None:
    """七有项目及佐证材料 / the seven items and what counts as evidence."""
    rows = [{"code": i.code, "item": i.name, "evidence": i.evidence} for i in ITEMS]
    obj.out.emit(rows, lambda: table([[r["item"], r["code"], r["evidence"]] for r in rows],
                                     ["项目", "代码", "佐证材料"]))


@seven.command("check")
@click.option("--month", default="", help="自查月份 YYYY-MM（默认本月）/ the month checked")
@click.option("--item", "item_specs", multiple=True, metavar="项目=结果[:说明]",
              help="每项一次，如 有场所=达标:办公室20平方米；结果为 达标、部分达标、不达标"
                   "（或 MET PARTIAL NOT_MET）；有记录簿 可省略，按账本自动判断 / "
                   "one per item, e.g. SITE=MET:note")
@click.option("--photo", "photo_specs", multiple=True, metavar="项目=文件",
              help="佐证照片（JPEG/PNG，可重复，每项最多 3 张）/ an evidence photo, e.g. "
                   "有牌子=/media/usb/sign.jpg")
@click.option("--camera", "camera_items", multiple=True, metavar="项目",
              help="用摄像头为该项拍一张照片（可重复；摄像头由环境变量 STATION_CAMERA 指定，"
                   "默认 0 号）/ take one photo for the item with the webcam")
@click.option("--reason", default="", help="更正原因（同月再次自查时必填）/ why a month is "
                                          "checked again")
@json_flag
@pass_context
def check(obj: Context, month: str, item_specs: tuple[str, ...],
          photo_specs: tuple[str, ...], camera_items: tuple[str, ...], reason: str) -> None:
    """记录本月七有自查 / record the month's self-check."""
    station = obj.station()
    statuses, notes = {}, {}
    for spec in item_specs:
        name, status, note = _item(spec)
        if name in statuses:
            raise InvalidInput(field="item", label="七有项目", reason=f"“{name}”填了两次")
        statuses[name], notes[name] = status, note
    photos: list[PhotoFile | PhotoShot] = [
        PhotoFile(name, Path(path))
        for name, path in (_pair(spec, "--photo", "项目=文件") for spec in photo_specs)]
    photos += [take_shot(item, at=station.clock.now()) for item in camera_items]
    made = record_self_check(station, month=month or local_day(station.clock.now())
                             .strftime("%Y-%m"), statuses=statuses, notes=notes,
                             photos=photos, reason=reason)
    view = check_dict(station, made)
    obj.out.emit({"ok": True, **view}, lambda: f"已记录 {view['month']} 七有自查（第 "
                 f"{view['idx']} 条记录，照片 {sum(len(i['photos']) for i in view['items'])}"
                 " 张）\n" + _text(view))


@seven.command("show")
@click.option("--month", default="", help="月份 YYYY-MM（默认最近一次）/ the month")
@json_flag
@pass_context
def show(obj: Context, month: str) -> None:
    """查看七有自查结果 / show the self-check in force for a month (default: the newest)."""
    station = obj.station()
    found = latest_self_check(station, month.strip() or None)
    if found is None:
        if month:
            raise NotFound(field="month", value=f"{month} 的七有自查")
        obj.out.emit({"check": None}, "本站尚未记录七有自查")
        return
    view = check_dict(station, found)
    obj.out.emit({"check": view}, lambda: _text(view))


def _pair(spec: str, option: str, form: str) -> tuple[str, str]:
    key, sep, value = spec.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise InvalidInput(field=option.strip("-"), label=option,
                           reason=f"“{spec}”应写成 {form}")
    return key.strip(), value.strip()


def _item(spec: str) -> tuple[str, str, str]:
    name, rest = _pair(spec, "--item", "项目=结果[:说明]")
    status, _, note = rest.replace("：", ":").partition(":")
    return name, status.strip(), note.strip()


def _text(view: dict[str, Any]) -> str:
    book = view["record_book"]
    share = book["same_day_share"]
    lines = [f"{view['month']} 七有自查  自查人：{view['checked_by']}  时间：{view['at'][:16]}"
             + (f"\n更正原因：{view['reason']}" if view["reason"] else ""),
             table([[i["item"], i["status"], str(len(i["photos"])), i["note"] or "—"]
                    for i in view["items"]], ["项目", "结果", "照片", "说明"]),
             f"记录簿：本月办件 {book['cases']} 件、代办 {book['proxies']} 件，当日即录 "
             f"{book['same_day']} 件" + ("" if share is None else f"（{share:.0%}）")]
    if view["not_met"]:
        lines.append("未达标：" + "、".join(view["not_met"]))
    return "\n".join(lines)
