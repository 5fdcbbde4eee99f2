"""``station board status|items|refresh|history``: the 公示栏 poster (docs/notice-board.md),
and ``station rating list``: ratings relayed from the county's QR page
(docs/evaluation-qr.md)."""

from __future__ import annotations

import click

from station_app.cli import Context, json_flag, pass_context
from station_app.cli.output import table
from station_app.services.catalog import current_catalog
from station_app.services.documents import Issued
from station_app.services.notice_board import (
    board_state,
    current_poster_file,
    poster_versions,
    refresh_notice_board,
    set_published_items,
)
from station_app.services.notice_items import published_codes
from station_app.services.qr_ratings import qr_ratings


def register(cli: click.Group) -> None:
    cli.add_command(board)
    cli.add_command(rating)


def poster_line(poster: Issued | None) -> str:
    """What the CLI adds after a change the poster shows (profile, agents, catalog)."""
    return f"\n公示栏已更新，请打印张贴（{poster.doc_no}，{poster.path}）" if poster else ""


@click.group()
def board() -> None:
    """公示栏（代办员、公示事项、站点信息）/ the station's public notice poster."""


@board.command("status")
@json_flag
@pass_context
def status(obj: Context) -> None:
    """公示栏的状态和当前可打印的文件 / state and the current poster file."""
    st = obj.station()
    state, path = board_state(st), current_poster_file(st)
    codes = published_codes(st)
    obj.out.emit({"state": state.value, "label": state.label,
                  "file": str(path) if path else None, "items": codes},
                 lambda: f"{state.label}\n当前公示栏文件：{path or '—'}\n公示事项："
                         + ("全部可代办事项" if codes is None else "、".join(codes)))


@board.command("items")
@click.option("--set", "codes", multiple=True, help="公示的事项编码（可重复）")
@click.option("--all", "every", is_flag=True, help="公示全部可代办事项（默认）")
@click.option("--reason", default="", help="原因")
@json_flag
@pass_context
def items(obj: Context, codes: tuple[str, ...], every: bool, reason: str) -> None:
    """列出或选择公示的可代办事项 / list or choose the items the poster publishes."""
    st = obj.station()
    if codes and every:
        raise click.UsageError("--set 与 --all 只能选一个")
    poster = None
    if codes or every:
        poster = set_published_items(st, None if every else list(codes), reason=reason)
    chosen = published_codes(st)
    rows = [{"code": i.code, "name": i.name, "published": chosen is None or i.code in chosen}
            for i in current_catalog(st).proxy_items()]
    obj.out.emit({"items": rows, "all": chosen is None,
                  "poster": poster.doc_no if poster else None},
                 lambda: table([[r["code"], r["name"], "是" if r["published"] else "否"]
                                for r in rows], ["编码", "事项名称", "公示"])
                 + poster_line(poster))


@board.command("refresh")
@json_flag
@pass_context
def refresh(obj: Context) -> None:
    """内容有变化时重新生成公示栏 / regenerate the poster if what it shows changed."""
    poster = refresh_notice_board(obj.station())
    obj.out.emit({"regenerated": poster is not None,
                  "doc_no": poster.doc_no if poster else None,
                  "file": str(poster.path) if poster else None},
                 lambda: poster_line(poster).strip() or "公示栏内容没有变化")


@board.command("history")
@json_flag
@pass_context
def history(obj: Context) -> None:
    """公示栏的各个版本：何时、文书编号、PDF 摘要、变化 / every version of the poster."""
    versions = poster_versions(obj.station())
    obj.out.emit([{"version": v.version, "at": v.at, "origin": v.origin, "doc_no": v.doc_no,
                   "pdf_sha256": v.pdf_sha256, "changed": v.changed} for v in versions],
                 lambda: table([[str(v.version), v.at[:16], v.doc_no, v.pdf_sha256[:16],
                                 v.change_text] for v in versions],
                               ["版本", "时间", "文书编号", "PDF SHA-256", "变化"]))


@click.group()
def rating() -> None:
    """扫码评价（县级评价页转来的评价）/ ratings from the county's QR page."""


@rating.command("list")
@click.option("--refused", is_flag=True,
              help="只列出未能记录的评价 / only those that could not be recorded")
@json_flag
@pass_context
def list_(obj: Context, refused: bool) -> None:
    """扫码评价及其结果（已记录/未记录及原因）/ QR ratings received and what became of them."""
    rows = qr_ratings(obj.station(), refused_only=refused)
    obj.out.emit([{"case_no": r.case_no, "assess": r.assess, "level": r.level.value,
                   "received_at": r.received_at, "outcome": r.outcome, "reason": r.reason}
                  for r in rows],
                 lambda: table([[r.case_no, "首评" if r.assess == 1 else "追评", r.level.label,
                                 r.received_at[:16], "已记录" if not r.refused else "未记录",
                                 r.reason] for r in rows],
                               ["办件编号", "类别", "满意度", "县级收到", "结果", "原因"]))
