"""数据备份: the section in 设置, the reminder on 首页, and the one-click backup to a U盘.

The backup runs in a worker thread on its own database connection (``ctx.background``);
the window polls its progress a few times a second, so it stays responsive while the
snapshot, the encryption and the trial restore run.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import flet as ft

from station_app.errors import InvalidInput
from station_app.services.backup import (
    BackupReport,
    backup_overdue,
    backup_station,
    check_passphrase,
    last_backup,
)
from station_app.services.drives import removable_drives
from station_app.ui import theme
from station_app.ui.context import AppContext
from station_app.ui.views.dialogs import FollowUp, ask

POLL_SECONDS = 0.2


def section(ctx: AppContext) -> list[ft.Control]:
    """设置 › 数据备份: when the last backup was made, and the button."""
    assert ctx.station is not None
    now = ctx.now()
    overdue = backup_overdue(ctx.station, now)
    heading = ft.Text("数据备份", size=theme.BODY + 2, weight=ft.FontWeight.BOLD,
                      key="backup_heading")
    return [heading,
            ft.Text(last_backup_text(ctx, now), size=theme.BODY, key="backup_last",
                    color=theme.DUE_SOON if overdue else None),
            theme.muted("备份文件用口令加密，包含本站全部记录、密钥和已打印的文书；"
                        "写入后会自动试恢复并核对账本。请每周备份一次，U盘放在另一处保管。"),
            theme.button("备份到U盘", ctx.guard(lambda _: open_dialog(ctx, "settings")),
                         key="backup_start", icon=ft.Icons.SAVE)]


def last_backup_text(ctx: AppContext, now: datetime) -> str:
    assert ctx.station is not None
    run = last_backup(ctx.station)
    if run is None:
        return "尚未备份过本站数据"
    at = datetime.fromisoformat(run.at)
    days = (now - at).days
    ago = "今天" if days <= 0 else f"{days} 天前"
    return f"上次备份：{at:%Y-%m-%d %H:%M}（{ago}），{run.entries} 条记录，文件 {run.file}"


def reminder(ctx: AppContext) -> ft.Control | None:
    """首页, for the administrator: a banner while the last backup is over a week old."""
    assert ctx.station is not None
    now = ctx.now()
    if not backup_overdue(ctx.station, now):
        return None
    run = last_backup(ctx.station)
    if run is None:
        text = "本站数据还没有备份过：电脑损坏时未同步的记录会丢失，请备份到U盘"
    else:
        at = datetime.fromisoformat(run.at)
        text = f"上次备份在 {(now - at).days} 天前（{at:%Y-%m-%d}），请及时备份到U盘"
    return ft.Row([
        ft.Text(text, size=theme.BODY, color=theme.DUE_SOON, key="home_backup_reminder"),
        theme.button("立即备份", ctx.guard(lambda _: open_dialog(ctx, "home")),
                     primary=False, key="home_backup_now", icon=ft.Icons.SAVE)], wrap=True)


def open_dialog(ctx: AppContext, back_to: str) -> None:
    """Choose the U盘 and type the passphrase twice; then the backup runs with progress."""
    drives = removable_drives()
    fields: dict[str, ft.Control] = {
        "drive": theme.dropdown("保存到U盘", [(str(d.path), d.title) for d in drives],
                                key="backup_drive", width=520,
                                value=str(drives[0].path) if drives else None),
        "passphrase": theme.field("备份口令（至少 8 个字符）", key="backup_pass", password=True,
                                  width=520),
        "passphrase2": theme.field("再输入一次口令", key="backup_pass2", password=True,
                                   width=520),
    }
    note = ("请牢记口令：恢复时要用，忘记口令就无法恢复；口令不保存在本机。" if drives else
            "未找到U盘：请插入U盘，等几秒后关闭本窗口再点“备份到U盘”。")

    def submit(values: dict[str, Any]) -> FollowUp:
        drive = str(values.get("drive") or "")
        if not drive:
            raise InvalidInput(field="drive", label="U盘", reason="未找到U盘，请插入后重试")
        passphrase = check_passphrase(str(values.get("passphrase") or ""),
                                      str(values.get("passphrase2") or ""))
        return lambda: run_backup(ctx, Path(drive), passphrase, back_to)

    ask(ctx, "备份到U盘", fields, submit, key="backup_dialog", ok="开始备份", note=note)


async def run_backup(ctx: AppContext, to: Path, passphrase: str, back_to: str) -> BackupReport:
    stage = ft.Text("正在准备…", size=theme.BODY, key="backup_stage")
    bar = ft.ProgressBar(value=0.0, width=480, key="backup_bar")
    busy = ft.AlertDialog(modal=True, key="backup_progress", title=ft.Text("正在备份"),
                          content=ft.Column([stage, bar], tight=True, spacing=12))
    ctx.page.show_dialog(busy)
    seen = {"stage": stage.value, "fraction": 0.0}

    def progress(text: str, fraction: float) -> None:  # on the worker thread: just note it
        seen["stage"], seen["fraction"] = text, fraction

    job = asyncio.ensure_future(ctx.background(
        lambda st: backup_station(st, to, passphrase, progress=progress)))
    try:
        while not job.done():
            await asyncio.wait({job}, timeout=POLL_SECONDS)
            stage.value, bar.value = str(seen["stage"]), float(seen["fraction"])
            busy.update()
        report = job.result()
    finally:
        busy.open = False  # close this dialog, not whichever is newest
        busy.update()
    ctx.show(back_to)  # the screen shows the new "last backup"
    _show_done(ctx, report)
    return report


def _show_done(ctx: AppContext, report: BackupReport) -> None:
    done = ft.AlertDialog(key="backup_done", title=ft.Text("备份完成", size=theme.TITLE),
                          content=ft.Column([
                              ft.Text(f"已备份并校验可恢复：{report.entries} 条记录，"
                                      f"{report.documents} 份文书，{report.size / 1e6:.1f} MB",
                                      size=theme.BODY, key="backup_done_text"),
                              ft.Text(f"文件：{report.path}", size=theme.SMALL, selectable=True,
                                      key="backup_done_file"),
                              theme.muted("请先在电脑上安全弹出U盘，再拔下。")], tight=True))

    def close(_: Any) -> None:
        done.open = False
        done.update()

    done.actions = [ft.TextButton("关闭", on_click=close, key="backup_done_close")]
    ctx.page.show_dialog(done)
