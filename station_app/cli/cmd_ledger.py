"""``station ledger verify|export|rebuild``."""

from __future__ import annotations

import base64
import binascii
import sys
from collections.abc import Callable
from typing import Any

import click

from station_app.cli import Context, json_flag, pass_context
from station_app.cli.output import EXIT_VERIFY_FAILED
from station_app.domain.log import origin_station
from station_app.domain.verify import VerifyReport
from station_app.errors import InvalidInput
from station_app.services.ledger import (
    HistoryReport,
    export_ledger,
    rebuild_projections,
    verify_export,
    verify_history,
)


def register(cli: click.Group) -> None:
    cli.add_command(ledger)


@click.group()
def ledger() -> None:
    """账本 / the station log."""


def public_key_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--public-key", callback=lambda ctx, param, value: _key(value),
                        help="可信的站点公钥（base64）/ the station public key you trust")(func)


@ledger.command("verify")
@click.option("--full", is_flag=True, help="逐一校验全部检查点签名 / check every signature")
@click.option("--file", "file", help="校验导出的账本文件 / verify an exported log file")
@public_key_option
@json_flag
@pass_context
def verify(obj: Context, full: bool, file: str | None, public_key: bytes | None) -> None:
    """重算全部哈希、默克尔根和签名（含换电脑前的早期日志）/ recompute every hash, the root
    and the signatures (earlier epochs of a replacement PC included)."""
    if file:
        report = verify_export(file, public_key)
        obj.out.emit({"station": origin_station(report.origin), **report.as_dict()},
                     lambda: _text(report))
        ok = report.ok
    else:
        history = verify_history(obj.data, full=full)
        obj.out.emit({"station": origin_station(history.log.origin), **history.as_dict()},
                     lambda: _history_text(history))
        ok = history.ok
    if not ok:
        sys.exit(EXIT_VERIFY_FAILED)


def _key(text: str | None) -> bytes | None:
    if not text:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(field="public_key", label="公钥", reason="不是有效的 base64") from None


def _text(r: VerifyReport) -> str:
    if r.ok:
        return (f"账本完好：{r.entries} 条记录，默克尔根 {r.root.hex()}\n"
                f"（校验检查点 {r.checkpoints} 个，签名 {r.signatures} 个）\n"
                f"ledger OK: {r.entries} entries, root {r.root.hex()}")
    return (f"账本校验失败：第 {r.first_bad} 条（位置 {r.first_bad}）：{r.problem}\n"
            f"ledger verification FAILED at position {r.first_bad}: {r.problem_en}")


def _history_text(h: HistoryReport) -> str:
    """The current log's verdict, then one line per earlier epoch (a replacement PC's)."""
    lines = [_text(h.log)]
    if h.epochs:
        good = sum(e.ok for e in h.epochs)
        lines.append(f"早期日志（换电脑前，从县级恢复）：{len(h.epochs)} 段，"
                     f"{sum(e.entries for e in h.epochs)} 条记录，校验通过 {good} 段\n"
                     f"earlier epochs: {good} of {len(h.epochs)} verified")
    for e in h.epochs:
        lines.append(f"  {e.origin}：{e.entries} 条，" + ("完好" if e.ok else
                                                          f"校验失败（{e.problem}）"))
    if h.log.ok and not h.ok:
        lines.append("账本校验失败：早期日志被改动 / ledger verification FAILED in an earlier "
                     "epoch")
    return "\n".join(lines)


@ledger.command("export")
@click.argument("file")
@json_flag
@pass_context
def export(obj: Context, file: str) -> None:
    """导出整本账（可离线校验）/ export the whole log (verifiable offline)."""
    summary = export_ledger(obj.station(), file)
    obj.out.emit({"ok": True, "file": str(summary.path), "entries": summary.entries,
                  "root": summary.root, "origin": summary.origin},
                 f"已导出 {summary.entries} 条记录到 {summary.path}（默克尔根 {summary.root}）")


@ledger.command("rebuild")
@json_flag
@pass_context
def rebuild(obj: Context) -> None:
    """由账本重建全部数据表 / rebuild every table from the log."""
    count = rebuild_projections(obj.station())
    obj.out.emit({"ok": True, "entries": count}, f"已由 {count} 条账本记录重建数据表")
