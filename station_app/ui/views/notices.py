"""县级通知: the county's inspection and spot-check results, and its 整改通知 (issue 7 item 3).

The list shows every notice, newest first, with its deadline (red once it has passed with
no answer). Opening one shows each item's result; the station admin answers a 整改通知
once: 整改完成 with a note and photos (added by typing a file path, as on the 七有 screen),
or 提出异议 with the reason. What is refused shows next to its field; nothing is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import flet as ft

from station_app.domain.audit.rectification import NoticeState, ReceivedNotice
from station_app.domain.clock import local_day
from station_app.domain.users import CAN_ADMINISTER
from station_app.services.notices import dispute, get_notice, list_notices, mark_done
from station_app.services.seven import check_photo
from station_app.ui import theme
from station_app.ui.context import AppContext

STATE_COLOURS = {NoticeState.OPEN: theme.DUE_SOON, NoticeState.DONE: theme.OK,
                 NoticeState.DISPUTED: theme.MUTED, NoticeState.INFO: theme.MUTED,
                 NoticeState.WITHDRAWN: theme.MUTED}


def ledger(ctx: AppContext) -> ft.Control:
    assert ctx.station is not None
    today = local_day(ctx.now())
    found = list_notices(ctx.station)
    open_count = sum(n.state is NoticeState.OPEN for n in found)
    late = sum(n.overdue(today) for n in found)
    rows = [_row(ctx, n, today) for n in found]
    table = ft.DataTable(columns=[ft.DataColumn(ft.Text(t)) for t in (
        "通知编号", "来源", "对象", "不合格项", "整改期限", "状态")], rows=rows,
        key="notices_table")
    return ft.Column([
        theme.title("县级通知", key="notices_title"),
        ft.Text(f"待整改 {open_count} 件，其中超期 {late} 件", size=theme.BODY,
                color=theme.OVERDUE if late else None, key="notices_summary"),
        table if rows else theme.muted("没有县级通知", key="notices_empty"),
    ], spacing=12, scroll=ft.ScrollMode.AUTO, expand=True)


def _row(ctx: AppContext, n: ReceivedNotice, today: Any) -> ft.DataRow:
    notice = n.notice
    overdue = n.overdue(today)
    deadline = ft.Text(str(notice.deadline or "—") + ("（已超期）" if overdue else ""),
                       size=theme.SMALL, color=theme.OVERDUE if overdue else None,
                       key=f"notice_deadline_{n.number}")

    def open_it(_: Any) -> None:
        ctx.show("notice", number=n.number)

    return ft.DataRow(cells=[
        ft.DataCell(ft.Text(n.number, size=theme.SMALL)),
        ft.DataCell(ft.Text(notice.source.label, size=theme.SMALL)),
        ft.DataCell(ft.Text(notice.subject, size=theme.SMALL)),
        ft.DataCell(ft.Text("、".join(r.label for r in notice.failed) or "—", size=theme.SMALL)),
        ft.DataCell(deadline),
        ft.DataCell(ft.Text(n.state.label, size=theme.SMALL, color=STATE_COLOURS[n.state],
                            key=f"notice_state_{n.number}")),
    ], on_select_change=ctx.guard(open_it), key=f"notice_row_{n.number}")


def detail(ctx: AppContext, number: str) -> ft.Control:
    assert ctx.station is not None
    n = get_notice(ctx.station, number)
    notice = n.notice
    today = local_day(ctx.now())
    results = ft.DataTable(columns=[ft.DataColumn(ft.Text(t)) for t in ("项目", "结果", "说明")],
                           rows=[ft.DataRow(cells=[
                               ft.DataCell(ft.Text(r.label, size=theme.SMALL)),
                               ft.DataCell(ft.Text("合格" if r.ok else "不合格", size=theme.SMALL,
                                                   color=theme.OK if r.ok else theme.OVERDUE)),
                               ft.DataCell(ft.Text(r.note, size=theme.SMALL))])
                               for r in notice.results], key="notice_results")
    parts: list[ft.Control] = [
        theme.title(f"县级通知 {n.number}", key="notice_title"),
        ft.Text(f"{notice.source.label}（{notice.subject}），检查日期 {notice.day}，"
                f"检查人 {notice.inspector or '—'}", size=theme.BODY),
        results,
    ]
    if notice.note:
        parts.append(theme.muted(f"说明：{notice.note}"))
    if notice.deadline is not None:
        parts.append(ft.Text(f"整改期限：{notice.deadline}" + ("（已超期）" if n.overdue(today)
                                                               else ""),
                             size=theme.BODY, key="notice_deadline",
                             color=theme.OVERDUE if n.overdue(today) else None))
    parts.append(ft.Text(f"状态：{n.state.label}", size=theme.BODY, key="notice_state",
                         color=STATE_COLOURS[n.state]))
    if n.decision is not None:  # the county's decision on the station's dispute
        parts.append(theme.muted(f"县级复核：{n.decision.label}（{n.decision.decided[:10]}）："
                                 f"{n.decision.note}", key="notice_decision"))
    if n.answered_at:
        when = n.answered_at[:16].replace("T", " ")
        parts.append(theme.muted(f"答复：{n.answer_note}（{n.answered_by}，{when}，"
                                 f"照片 {len(n.photos)} 张）", key="notice_answer"))
    if n.state is NoticeState.OPEN and ctx.user is not None and ctx.user.role in CAN_ADMINISTER:
        parts.append(_answer_form(ctx, n))
    parts.append(theme.button("返回县级通知", ctx.guard(lambda _: ctx.show("notices")),
                              primary=False, key="notice_back"))
    return ft.Column(parts, spacing=12, scroll=ft.ScrollMode.AUTO, expand=True)


def _answer_form(ctx: AppContext, n: ReceivedNotice) -> ft.Control:
    note = theme.field("整改情况 / 异议理由", key="notice_note", width=480)
    path = theme.field("整改照片文件路径（JPEG/PNG）", key="notice_photo_path", width=400)
    added: list[Path] = []
    added_text = theme.muted("", key="notice_photos_added")

    def add(_: Any) -> None:
        photo = Path((path.value or "").strip().strip('"'))
        check_photo(photo)  # refused here, next to the path, not only when answering
        added.append(photo)
        added_text.value = "已添加：" + "、".join(p.name for p in added)
        path.value = ""
        ctx.page.update()

    def done(_: Any) -> None:
        assert ctx.station is not None
        mark_done(ctx.station, n.number, note=note.value or "", photos=added)
        ctx.toast(f"通知 {n.number} 已答复：已整改")
        ctx.show("notice", number=n.number)

    def contest(_: Any) -> None:
        assert ctx.station is not None
        dispute(ctx.station, n.number, reason=note.value or "")
        ctx.toast(f"通知 {n.number} 已答复：有异议")
        ctx.show("notice", number=n.number)

    fields = {"note": note, "photo": path}
    return ft.Column([
        ft.Text("答复整改通知", size=theme.BODY, weight=ft.FontWeight.BOLD),
        note,
        ft.Row([path, theme.button("添加照片", ctx.guard(add, fields), primary=False,
                                   key="notice_add_photo"), added_text], wrap=True, spacing=8),
        ft.Row([theme.button("整改完成", ctx.guard(done, fields), key="notice_done"),
                theme.button("提出异议", ctx.guard(contest, fields), primary=False,
                             key="notice_dispute")], spacing=12),
    ], spacing=8, key="notice_form")
