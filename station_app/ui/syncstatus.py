"""How the county link is shown: the status bar's sync part, and the words the home screen
and 设置 share. The state comes from the background scheduler (``sync.auto``); nothing here
talks to the county or the database."""

from __future__ import annotations

from datetime import datetime

import flet as ft

from station_app.ui import theme
from sync.auto import Phase, SyncStatus

UNENROLLED = "未注册县级服务器"
TROUBLE = "同步异常（请联系县级管理员）"


def when(moment: datetime | None, now: datetime) -> str:
    """"14:05" today, "11-22 14:05" on another day."""
    if moment is None:
        return ""
    return f"{moment:%H:%M}" if moment.date() == now.date() else f"{moment:%m-%d %H:%M}"


def last_sync(enrolled: bool, receipt_time: datetime | None, now: datetime) -> str:
    """最后同步 on the home screen."""
    if not enrolled:
        return UNENROLLED
    if receipt_time is None:
        return "从未同步"
    return f"{when(receipt_time, now)}（县级时间）"


def headline(status: SyncStatus, now: datetime) -> tuple[str, str]:
    """The one line the status bar shows, and its colour."""
    last = when(status.receipt_time, now)
    match status.phase:
        case Phase.NOT_ENROLLED:
            return UNENROLLED, theme.MUTED
        case Phase.SYNCING:
            done = f" {status.done}/{status.total} 条" if status.total else ""
            return f"同步中{done}", theme.PRIMARY
        case Phase.OFFLINE:
            since = f"上次同步 {last}" if last else "从未同步"
            return f"离线（{since}，{when(status.next_try, now)} 后重试）", theme.DUE_SOON
        case Phase.CONFLICT | Phase.REFUSED:
            return TROUBLE, theme.OVERDUE
    if not last:  # enrolled, the first session about to start
        return "等待同步", theme.MUTED
    waiting = f"，{status.unsynced} 条待同步" if status.unsynced else ""
    if status.notices:
        return f"已同步 {last}（县级时间）{waiting} · {len(status.notices)} 项提醒", theme.DUE_SOON
    return f"已同步 {last}（县级时间）{waiting}", theme.OK


ICONS = {Phase.NOT_ENROLLED: ft.Icons.CLOUD_OFF, Phase.OFFLINE: ft.Icons.CLOUD_OFF,
         Phase.SYNCING: ft.Icons.SYNC, Phase.CONFLICT: ft.Icons.ERROR,
         Phase.REFUSED: ft.Icons.ERROR}


class SyncBadge:
    """Icon, text and (while syncing) a progress bar; ``show`` fills them from a status."""

    def __init__(self, prefix: str) -> None:
        self.icon = ft.Icon(ft.Icons.CLOUD_OFF, size=20, color=theme.MUTED)
        self.text = ft.Text("", size=theme.SMALL, key=prefix)
        self.bar = ft.ProgressBar(width=140, visible=False, key=f"{prefix}_progress")
        self.row = ft.Row([self.icon, self.text, self.bar], spacing=8,
                          vertical_alignment=ft.CrossAxisAlignment.CENTER, key=f"{prefix}_row")

    def show(self, status: SyncStatus, now: datetime) -> None:
        text, colour = headline(status, now)
        self.text.value, self.text.color = text, colour
        self.text.tooltip = status.error or "\n".join(status.notices) or None
        self.icon.icon = ICONS.get(status.phase, ft.Icons.CLOUD_DONE)
        self.icon.color = colour
        self.bar.visible = status.phase is Phase.SYNCING
        self.bar.value = status.done / status.total if status.total else None
