"""Printing from a screen: render and print off the UI loop, show progress, then the result."""

from __future__ import annotations

import flet as ft

from station_app.domain.documents import DocKind
from station_app.services.documents import Issued, issue_document
from station_app.services.printing import printers
from station_app.ui import theme
from station_app.ui.context import AppContext


async def print_document(ctx: AppContext, kind: DocKind, subject: str = "") -> Issued:
    """Issue one copy in a worker thread; the window stays responsive and shows progress."""
    busy = ft.AlertDialog(modal=True, key="printing", content=ft.Row([
        ft.ProgressRing(), ft.Text(f"正在生成并打印{kind.label}…", size=theme.BODY)]))
    ctx.page.show_dialog(busy)
    try:
        issued, queues = await ctx.background(
            lambda st: (issue_document(st, kind, subject, print_it=True), printers().names))
    finally:
        busy.open = False  # close this dialog, not whichever is newest
        busy.update()
    where = (f"已送打印机“{issued.printer}”" if issued.printer
             else "未选择打印机（请在“设置”中选择），已保存为 PDF" if queues
             else "本机没有可用的打印机，已保存为 PDF")
    done = ft.AlertDialog(
        key="printed", title=ft.Text(f"{kind.label} {issued.doc_no}"
                                     f"{'（补打）' if issued.reprint else ''}"),
        content=ft.Column([ft.Text(where, size=theme.BODY, key="printed_where"),
                           ft.Text(f"文件：{issued.path}", size=theme.SMALL, selectable=True)],
                          tight=True))
    done.actions = [ft.TextButton("关闭", on_click=lambda _: _close(done), key="printed_close")]
    ctx.page.show_dialog(done)
    return issued


def _close(dialog: ft.AlertDialog) -> None:
    dialog.open = False
    dialog.update()
