"""``station notice list|show|done|dispute``: 县级通知 — the county's inspection and spot-check
results, and the station's answers to its 整改通知."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from station_app.cli import Context, json_flag, pass_context
from station_app.cli.output import table
from station_app.services.notices import (
    dispute,
    get_notice,
    list_notices,
    mark_done,
    notice_dict,
)


def register(cli: click.Group) -> None:
    cli.add_command(notice)


@click.group()
def notice() -> None:
    """县级通知：检查结果与整改通知 / the county's inspection results and rectification
    notices."""


@notice.command("list")
@click.option("--open", "open_only", is_flag=True, help="只看待整改的 / open ones only")
@json_flag
@pass_context
def list_command(obj: Context, open_only: bool) -> None:
    """列出县级通知（最新在前）/ list the notices, newest first."""
    station = obj.station()
    rows = [notice_dict(station, n) for n in list_notices(station, open_only=open_only)]
    obj.out.emit(rows, lambda: table(
        [[r["notice"], r["source_label"], r["subject"], r["deadline"] or "—",
          r["state_label"] + ("（超期）" if r["overdue"] else ""), "、".join(r["failed"]) or "—"]
         for r in rows], ["通知编号", "来源", "对象", "整改期限", "状态", "不合格项"])
        if rows else "没有县级通知")


@notice.command("show")
@click.argument("number")
@json_flag
@pass_context
def show(obj: Context, number: str) -> None:
    """查看一条县级通知 / show one notice."""
    station = obj.station()
    view = notice_dict(station, get_notice(station, number))
    obj.out.emit(view, lambda: _text(view))


@notice.command("done")
@click.argument("number")
@click.option("--note", required=True, help="整改情况 / what was done")
@click.option("--photo", "photos", multiple=True, type=click.Path(path_type=Path),
              help="整改照片（JPEG/PNG，可重复）/ photo evidence, repeatable")
@json_flag
@pass_context
def done(obj: Context, number: str, note: str, photos: tuple[Path, ...]) -> None:
    """整改完成 / the rectification is done."""
    station = obj.station()
    view = notice_dict(station, mark_done(station, number, note=note, photos=photos))
    obj.out.emit({"ok": True, **view}, lambda: f"已答复通知 {view['notice']}：已整改"
                 f"（照片 {len(view['photos'])} 张）")


@notice.command("dispute")
@click.argument("number")
@click.option("--reason", required=True, help="异议理由 / why the finding is contested")
@json_flag
@pass_context
def dispute_command(obj: Context, number: str, reason: str) -> None:
    """对整改通知提出异议 / contest the notice's finding."""
    station = obj.station()
    view = notice_dict(station, dispute(station, number, reason=reason))
    obj.out.emit({"ok": True, **view}, lambda: f"已答复通知 {view['notice']}：有异议")


def _text(view: dict[str, Any]) -> str:
    lines = [f"{view['notice']}  {view['source_label']}（{view['subject']}）  "
             f"检查日期 {view['day']}  检查人 {view['inspector'] or '—'}",
             table([[r["label"], "合格" if r["ok"] else "不合格", r["note"] or "—"]
                    for r in view["results"]], ["项目", "结果", "说明"])]
    if view["note"]:
        lines.append(f"说明：{view['note']}")
    if view["deadline"]:
        lines.append(f"整改期限：{view['deadline']}" + ("（已超期）" if view["overdue"] else ""))
    lines.append(f"状态：{view['state_label']}")
    decision = view["decision"]
    if decision:  # the county's decision on the station's dispute
        lines.append(f"县级复核：{decision['label']}（{decision['decided'][:10]}）"
                     f"：{decision['note']}")
    if view["answered_at"]:
        lines.append(f"答复：{view['answer_note']}（{view['answered_by']}，"
                     f"{view['answered_at'][:16]}）")
    return "\n".join(lines)
